"""What coding leaders measure: claim outcomes from billing, the figures, education feedback."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from apps.actors import Actor
from apps.feedback import Feedback, FeedbackBy
from apps.metrics import Group, Metrics
from apps.server.auth import Allowed, RunReader, ServiceDep
from core.contract import Setting
from store.outcomes import Outcome, OutcomeRequest

router = APIRouter(prefix="/v1", tags=["metrics"])

OutcomeReporter = Annotated[Actor, Depends(Allowed("report_outcome"))]
MetricsReader = Annotated[Actor, Depends(Allowed("metrics"))]


class OutcomeList(BaseModel):
    outcomes: list[Outcome]


@router.post("/runs/{run_id}/outcome", response_model=Outcome, status_code=201)
def record_outcome(
    run_id: str, body: OutcomeRequest, actor: OutcomeReporter, service: ServiceDep
) -> Outcome:
    """The claim's fate as billing reports it; several per run over time, the latest counts."""
    return service.record_outcome(actor, run_id, body)


@router.get("/runs/{run_id}/outcomes", response_model=OutcomeList)
def list_outcomes(run_id: str, actor: RunReader, service: ServiceDep) -> OutcomeList:
    return OutcomeList(outcomes=service.outcomes(actor, run_id))


def _window(start: date | None, end: date | None) -> None:
    if start and end and end <= start:
        raise HTTPException(422, "to: must be after from")


@router.get("/metrics", response_model=Metrics)
def metrics(
    actor: MetricsReader,
    service: ServiceDep,
    start: Annotated[date | None, Query(alias="from", description="first day (ISO date)")] = None,
    end: Annotated[date | None, Query(alias="to", description="day after the last")] = None,
    group: Group = "day",
    setting: Setting | None = None,
    reviewer: Annotated[str | None, Query(max_length=64)] = None,
) -> Metrics:
    _window(start, end)
    return service.metrics(actor, start, end, group, setting, reviewer)


@router.get("/feedback", response_model=Feedback)
def feedback(
    actor: MetricsReader,
    service: ServiceDep,
    by: FeedbackBy = "category",
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Feedback:
    _window(start, end)
    return service.feedback(actor, by, start, end)
