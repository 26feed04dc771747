"""Exports for integrators: a run's final codes as FHIR, and the published JSON Schemas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from apps.schemas import schema_document
from apps.server.auth import RunReader, ServiceDep

router = APIRouter(prefix="/v1", tags=["integration"])


@router.get(
    "/runs/{run_id}/fhir",
    responses={
        200: {"content": {"application/fhir+json": {}}, "description": "a FHIR R4 Bundle"},
        409: {"description": "the run is not finished (awaits review, failed)"},
    },
)
def export_fhir(run_id: str, actor: RunReader, service: ServiceDep) -> JSONResponse:
    """The final codes (after review) as FHIR R4 Conditions, principal first."""
    bundle: dict[str, Any] = service.export_fhir(actor, run_id)
    return JSONResponse(bundle, media_type="application/fhir+json")


@router.get("/schema/{name}", responses={200: {"content": {"application/schema+json": {}}}})
def json_schema(name: str, actor: RunReader) -> JSONResponse:
    """A published JSON Schema: chart-result, review, audit-findings, metrics."""
    return JSONResponse(schema_document(name), media_type="application/schema+json")
