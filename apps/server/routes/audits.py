"""`POST /v1/audits` and `GET /v1/audits/{run_id}`: Audit Sentinel over HTTP.

The codes to check come with the chart:
- `application/json` `{"text": "...", "codes": ["E11.22", "I10"], "setting": "outpatient"}`,
  `{"fhir": {<DocumentReference or Bundle>}, "codes": [...]}`, or `{"run_id": "run-...",
  "codes": [...]}` to audit the chart of a stored run;
- a bare FHIR resource as the body, with `?codes=E11.22,I10`;
- `multipart/form-data` with `file` (PDF or text), `codes` ("E11.22,I10") and optionally
  `setting`.
Unknown codes are a 422 naming them, before the chart is read. The answer is the audit report.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from apps.server.auth import SentinelUser, ServiceDep
from apps.server.routes.charts import _FHIR_BODY, body_kind
from core.contract import AuditReport, Setting
from core.errors import InvalidFhir
from tools.extract.fhir import is_fhir

router = APIRouter(prefix="/v1", tags=["audit sentinel"])
MAX_CODES = 100


class AuditRequest(BaseModel):
    """Assigned codes and the chart they were assigned from (text, FHIR, or a stored run)."""

    model_config = {"extra": "forbid"}

    codes: list[Annotated[str, Field(min_length=1, max_length=24)]] = Field(
        min_length=1, max_length=MAX_CODES, description="the assigned codes, first-listed first"
    )
    text: str | None = Field(default=None, min_length=1, description="the chart text")
    fhir: dict[str, Any] | None = Field(
        default=None, description="a FHIR R4 DocumentReference or Bundle"
    )
    run_id: str | None = Field(
        default=None, max_length=40, description="audit the chart of this stored run"
    )
    setting: Setting | None = None
    name: str | None = Field(default=None, max_length=120, description="a file name for messages")


_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [AuditRequest.model_json_schema(), _FHIR_BODY]}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "codes"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "codes": {"type": "string", "description": "E11.22,I10"},
                        "setting": {"type": "string", "enum": ["outpatient", "inpatient"]},
                    },
                }
            },
        },
    }
}


@router.post(
    "/audits",
    response_model=AuditReport,
    openapi_extra=_OPENAPI,
    responses={
        400: {"description": "unreadable chart (empty, not UTF-8, corrupt or encrypted PDF)"},
        404: {"description": "`run_id` names no run of the caller's organisation"},
        413: {"description": "over the size limit"},
        415: {"description": "a body type that cannot carry a chart and codes"},
        422: {"description": "invalid JSON or FHIR, or codes that are not ICD-10-CM codes"},
    },
)
async def create_audit(
    request: Request,
    actor: SentinelUser,
    service: ServiceDep,
    codes: Annotated[
        str | None,
        Query(max_length=2000, description="assigned codes, with a bare FHIR resource body"),
    ] = None,
    setting: Annotated[
        Setting | None, Query(description="outpatient (default) or inpatient")
    ] = None,
) -> AuditReport:
    kind = body_kind(request.headers.get("content-type", ""))
    if kind == "multipart":
        return await _audit_multipart(request, actor, service, setting)
    if kind != "json":
        raise HTTPException(415, "send JSON (text, fhir or run_id with codes) or multipart")
    try:
        parsed = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise HTTPException(422, "the body is not valid JSON") from None
    if is_fhir(parsed):
        if not codes:
            raise HTTPException(422, "codes: a bare FHIR body needs ?codes=E11.22,I10")
        return await run_in_threadpool(
            lambda: service.audit_codes(
                actor, codes=codes, fhir=parsed, setting=setting or service.settings.setting
            )
        )
    if isinstance(parsed, dict) and "resourceType" in parsed:
        raise InvalidFhir("resourceType must be DocumentReference or Bundle")
    try:
        body = AuditRequest.model_validate(parsed)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None
    given = [x for x in (body.text, body.fhir, body.run_id) if x is not None]
    if len(given) != 1:
        raise HTTPException(422, "body: give exactly one of text, fhir or run_id")
    if body.run_id is not None:
        return await run_in_threadpool(service.audit_run, actor, body.run_id, body.codes)
    chosen: Setting = setting or body.setting or service.settings.setting
    if body.fhir is not None:
        if not is_fhir(body.fhir):
            raise InvalidFhir("fhir: a DocumentReference or Bundle resource is required")
        fhir = body.fhir
        return await run_in_threadpool(
            lambda: service.audit_codes(actor, codes=body.codes, fhir=fhir, setting=chosen)
        )
    return await run_in_threadpool(
        lambda: service.audit_codes(
            actor, codes=body.codes, text=body.text, filename=body.name, setting=chosen
        )
    )


async def _audit_multipart(
    request: Request, actor: Any, service: Any, setting: Setting | None
) -> AuditReport:
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
    codes = form.get("codes")
    if not isinstance(codes, str) or not codes.strip():
        raise HTTPException(422, "codes: a multipart field `codes` (E11.22,I10) is required")
    field_setting = form.get("setting")
    if field_setting not in (None, "outpatient", "inpatient"):
        raise HTTPException(422, "setting: must be outpatient or inpatient")
    data = await upload.read()
    chosen = setting or field_setting or service.settings.setting
    return await run_in_threadpool(
        lambda: service.audit_codes(
            actor, codes=codes, upload=data, filename=upload.filename, setting=chosen
        )
    )


@router.get("/audits/{run_id}", response_model=AuditReport)
async def get_audit(run_id: str, actor: SentinelUser, service: ServiceDep) -> AuditReport:
    return await run_in_threadpool(service.audit_report, actor, run_id, "api")
