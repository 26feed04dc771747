"""`POST /v1/charts/code`: code a chart sent as JSON text, a file upload, raw text or PDF, or FHIR.

What the body is decides how it is read:
- `application/json` `{"text": "...", "setting": "inpatient"}`, or a FHIR R4 resource (a JSON
  object with `resourceType`: DocumentReference or Bundle; `application/fhir+json` too);
- `multipart/form-data` with a field `file` (PDF or UTF-8 text) and optionally `setting`;
- a raw body of `text/plain` or `application/pdf`.
The answer is the output contract (schema version 1) with its `run_id`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from apps.server.auth import CodingActor, ServiceDep
from apps.service import Service
from core.contract import ChartResult, Setting
from core.errors import InvalidFhir, UnsupportedContent
from tools.chart import Chart
from tools.extract.fhir import is_fhir

router = APIRouter(prefix="/v1", tags=["coding"])


class CodeTextRequest(BaseModel):
    """A chart's text in a JSON body."""

    model_config = {"extra": "forbid"}

    text: str = Field(min_length=1, description="the chart text, coded exactly as given")
    setting: Setting | None = None
    name: str | None = Field(default=None, max_length=120, description="a file name for messages")


_FHIR_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string", "enum": ["DocumentReference", "Bundle"]}},
    "description": "A FHIR R4 DocumentReference (text/plain or application/pdf attachments, "
    "base64 `data`) or a Bundle of them (one encounter).",
}
_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [CodeTextRequest.model_json_schema(), _FHIR_BODY]}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "setting": {"type": "string", "enum": ["outpatient", "inpatient"]},
                    },
                }
            },
            "text/plain": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/charts/code",
    response_model=ChartResult,
    openapi_extra=_OPENAPI,
    responses={
        400: {"description": "unreadable chart (empty, not UTF-8, corrupt or encrypted PDF)"},
        413: {"description": "over the size limit"},
        415: {"description": "a body type that cannot be a chart"},
        422: {"description": "invalid JSON or FHIR"},
    },
)
async def code_chart(
    request: Request,
    actor: CodingActor,
    service: ServiceDep,
    setting: Annotated[
        Setting | None, Query(description="outpatient (default) or inpatient")
    ] = None,
) -> ChartResult:
    chart, body_setting = await read_chart(request, service)
    return await run_in_threadpool(service.code_chart, actor, chart, setting or body_setting)


ChartKind = Literal["json", "multipart", "text", "pdf"]


def body_kind(content_type: str) -> ChartKind:
    media = content_type.split(";")[0].strip().lower()
    if media in ("application/json", "application/fhir+json"):
        return "json"
    if media == "multipart/form-data":
        return "multipart"
    if media == "text/plain":
        return "text"
    if media == "application/pdf":
        return "pdf"
    raise UnsupportedContent(
        f"content type {media[:60] or 'missing'!r}: send JSON, FHIR JSON, multipart "
        "(field `file`), text/plain or application/pdf"
    )


async def read_chart(request: Request, service: Service) -> tuple[Chart, Setting | None]:
    """The chart a request carries, read with the service's limits (PDFs in the child process)."""
    kind = body_kind(request.headers.get("content-type", ""))
    if kind == "multipart":
        return await _read_multipart(request, service)
    body = await request.body()
    if kind == "text":
        return await run_in_threadpool(service.read_upload, body, "note.txt"), None
    if kind == "pdf":
        return await run_in_threadpool(service.read_upload, body, "upload.pdf"), None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HTTPException(422, "the body is not valid JSON") from None
    if is_fhir(parsed):
        return await run_in_threadpool(service.read_fhir, parsed), None
    if isinstance(parsed, dict) and "resourceType" in parsed:
        raise InvalidFhir("resourceType must be a string")
    try:
        text_request = CodeTextRequest.model_validate(parsed)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None
    chart = await run_in_threadpool(
        service.read_upload, text_request.text.encode("utf-8"), text_request.name or "note.txt"
    )
    return chart, text_request.setting


async def _read_multipart(request: Request, service: Service) -> tuple[Chart, Setting | None]:
    from starlette.datastructures import UploadFile

    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException:
        raise
    except Exception:
        raise HTTPException(422, "the multipart body could not be read") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "file: a multipart field `file` with the chart is required")
    setting = form.get("setting")
    if setting not in (None, "outpatient", "inpatient"):
        raise HTTPException(422, "setting: must be outpatient or inpatient")
    data = await upload.read()
    chart = await run_in_threadpool(service.read_upload, data, upload.filename)
    return chart, setting  # type: ignore[return-value]
