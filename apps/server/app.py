"""The FastAPI app: API routes, web pages, static files, error mapping and the body size limit.

One `Service` per process holds the term index, the rules and the compiled graphs; the lifespan
loads them before the first request, so no request pays for start-up. Coding runs in the thread
pool (it is CPU work); PDFs are parsed in their own child processes, never in a server thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from apps import heap
from apps.server import errors
from apps.server.auth import api_actor, page_visitor
from apps.server.pages import leaders as leader_pages
from apps.server.pages import routes as pages
from apps.server.routes import (
    audit_log,
    audits,
    charts,
    exports,
    health,
    keys,
    leaders,
    ops,
    rules,
    runs,
)
from apps.service import Service, package_version
from apps.slack.settings import SlackSettings
from core.errors import CodeSenseError
from core.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"
# Paths anyone may open: everything else needs a key or a session (tests check the inventory).
OPEN_PATHS = frozenset(
    {
        "/healthz",
        "/login",
        "/static",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        # Slack's commands, events and buttons (mounted when Slack is configured): no API key,
        # every request is signed by Slack with the app's signing secret and checked by Bolt.
        "/slack/events",
    }
)

# How a request may prove who it is: an API key, a page session (or key), the scrape token.
AUTHENTICATORS = (api_actor, page_visitor, ops.metrics_scraper)
# Every router of the app, API and pages; the route inventory test walks these.
ROUTERS = (
    health.router,
    charts.router,
    audits.router,
    runs.router,
    audit_log.router,
    rules.router,
    keys.router,
    exports.router,
    leaders.router,
    ops.router,
    pages.router,
    leader_pages.router,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413 before it is read into memory: by its
    Content-Length up front, or by counting as it arrives when the length is not declared."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    raise _BodyTooLarge
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.limit)
        except Exception:
            if refused and not started:
                await _too_large(send, self.limit)
            else:
                raise


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"the request body is larger than the {limit // (1024 * 1024)} MB limit"}}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def create_app(
    service: Service | None = None,
    settings: Settings | None = None,
    slack: SlackSettings | None = None,
) -> FastAPI:
    """The app over `service` (one is made from `settings` when not given). Slack's endpoint is
    mounted when its signing secret and bot token are set (`slack`, or the environment)."""
    service = service or Service(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No collection while the service loads, then what it loaded frozen (apps/heap.py):
        # a full collection would otherwise walk the whole term index now and then.
        collection = heap.pause()
        try:
            await run_in_threadpool(service.warm)
        finally:
            collection.resume()
        yield

    app = FastAPI(
        title="Code Sense",
        version=package_version("codesense"),
        summary="ICD-10-CM codes that cite the chart: coding, review, traces, Audit Sentinel.",
        lifespan=lifespan,
    )
    app.state.service = service
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    slack = slack or SlackSettings()
    if slack.enabled:
        _mount_slack(app, service, slack)
    # A FHIR attachment is base64 (4/3 of the file) inside JSON: leave room for it.
    limit = int(service.settings.max_file_mb * 1024 * 1024 * 4 / 3) + 256 * 1024
    app.add_middleware(BodyLimit, limit=limit)
    return app


def _mount_slack(app: FastAPI, service: Service, slack: SlackSettings) -> None:
    try:
        from apps.slack.http import mount_slack
    except ImportError as err:
        raise CodeSenseError(
            f"Slack is configured but its packages are missing ({err.name}): "
            "pip install -e '.[slack]'"
        ) from None
    mount_slack(app, service, slack)
