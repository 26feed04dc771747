"""`GET /healthz`: open, no key; says whether the service is up and what it runs."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from apps.server.auth import ServiceDep
from core.contract import SCHEMA_VERSION
from tools.codeset import CODE_SET_VERSION

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    schema_version: int
    code_set: str
    reasoner: str


@router.get("/healthz", response_model=Health)
def healthz(service: ServiceDep) -> Health:
    return Health(
        status="ok",
        schema_version=SCHEMA_VERSION,
        code_set=CODE_SET_VERSION,
        reasoner=service.context.reasoner.name,
    )
