"""The audit chain: verify it against its signed anchors, and read its events (auditors, admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from apps.server.auth import AuditLogReader, ServiceDep
from store.events import AuditEvent
from store.verify import VerifyReport

router = APIRouter(prefix="/v1/audit", tags=["audit log"])


class EventList(BaseModel):
    events: list[AuditEvent]


@router.get("/verify", response_model=VerifyReport)
def verify(
    actor: AuditLogReader,
    service: ServiceDep,
    first: Annotated[int, Query(alias="from", ge=1)] = 1,
    last: Annotated[int | None, Query(alias="to", ge=1)] = None,
) -> VerifyReport:
    return service.verify_audit(actor, first=first, last=last)


@router.get("/events", response_model=EventList)
def events(
    actor: AuditLogReader,
    service: ServiceDep,
    run: str | None = None,
    first: Annotated[int, Query(alias="from", ge=1)] = 1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> EventList:
    return EventList(events=service.audit_events(actor, run_id=run, first=first, limit=limit))
