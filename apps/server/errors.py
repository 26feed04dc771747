"""Every refusal as a 4xx with a one-line reason: the service's errors mapped to HTTP statuses.

A body is always `{"detail": "<one line>"}`. An unexpected exception is a 500 whose body says
nothing about the request (its class name goes to the log, never chart text).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.review import ReviewError
from apps.schemas import UnknownSchema
from core.errors import (
    ChartInputError,
    ChartTooLarge,
    CodeSenseError,
    Conflict,
    Forbidden,
    InvalidFhir,
    UnknownCode,
    UnsupportedContent,
)
from store.api_keys import KeyNotFound
from store.runs import RunNotFound

log = logging.getLogger(__name__)

# Most specific first: ChartTooLarge is a ChartInputError, and so on.
STATUS: list[tuple[type[CodeSenseError], int]] = [
    (RunNotFound, 404),
    (KeyNotFound, 404),
    (UnknownSchema, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (ChartTooLarge, 413),
    (UnsupportedContent, 415),
    (InvalidFhir, 422),
    (ReviewError, 422),
    (UnknownCode, 422),
    (ChartInputError, 400),
    (CodeSenseError, 400),
]


def status_of(err: CodeSenseError) -> int:
    for kind, status in STATUS:
        if isinstance(err, kind):
            return status
    return 400


def one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def _is_page(request: Request) -> bool:
    """A web page (answered in HTML) rather than the API or an open JSON route."""
    path = request.url.path
    return not (path.startswith(("/v1", "/static")) or path in ("/healthz", "/openapi.json"))


def _answer(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None
) -> Response:
    if _is_page(request) and status >= 400:
        from apps.server.pages.routes import TEMPLATES

        return TEMPLATES.TemplateResponse(
            request,
            "error.html",
            {"visitor": None, "csrf": None, "status": status, "detail": one_line(detail)},
            status_code=status,
            headers=headers,
        )
    return JSONResponse({"detail": one_line(detail)}, status_code=status, headers=headers)


def _count(request: Request, kind: str) -> None:
    service = getattr(request.app.state, "service", None)
    if service is not None:
        service.telemetry.error(kind)


def install(app: FastAPI) -> None:
    @app.exception_handler(CodeSenseError)
    async def service_error(request: Request, err: CodeSenseError) -> Response:
        _count(request, type(err).__name__)
        return _answer(request, status_of(err), str(err))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> Response:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        msg = first.get("msg", "invalid request")
        _count(request, "RequestValidationError")
        return _answer(request, 422, f"{where}: {msg}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        if err.status_code >= 400:
            _count(request, f"http_{err.status_code}")
        return _answer(request, err.status_code, str(err.detail), getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Response:
        # The class name only: an exception message can carry chart text.
        log.error("unexpected %s on %s %s", type(err).__name__, request.method, request.url.path)
        _count(request, type(err).__name__)
        return _answer(request, 500, "internal error")
