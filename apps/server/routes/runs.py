"""Runs: list, read, trace (JSON and HTML), the annotated PDF, and a reviewer's decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from agent.review import AddRequest, ReviewRequest
from apps.server.auth import Reviewer, RunReader, ServiceDep, TraceReader
from apps.trace import Trace
from apps.trace_html import trace_html
from core.contract import ReviewedChartResult, Route
from store.runs import RunKind, RunRecord, RunStatus

router = APIRouter(prefix="/v1/runs", tags=["runs"])

RunId = Annotated[str, Field(pattern=r"^run-[0-9a-f]{16}$")]


class RunList(BaseModel):
    runs: list[RunRecord]
    counts: dict[str, int] = Field(description="runs per route in your organisation")


class ReviewBody(BaseModel):
    """A reviewer's decision; the reviewer is the API key's holder."""

    model_config = ConfigDict(extra="forbid")

    accept: list[str] = Field(default_factory=list, max_length=500)
    reject: list[str] = Field(default_factory=list, max_length=500)
    add: list[AddRequest] = Field(default_factory=list, max_length=100)
    reason: str = Field(default="", max_length=4000)


@router.get("", response_model=RunList)
def list_runs(
    actor: RunReader,
    service: ServiceDep,
    status: RunStatus | None = None,
    route: Route | None = None,
    kind: RunKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RunList:
    runs = service.runs(actor, status=status, route=route, kind=kind, limit=limit, surface="api")
    return RunList(runs=runs, counts=service.route_counts(actor))


@router.get(
    "/{run_id}",
    response_model=ReviewedChartResult,
    responses={404: {"description": "no such run in your organisation"}},
)
def read_run(run_id: str, actor: RunReader, service: ServiceDep) -> ReviewedChartResult:
    view = service.run(actor, run_id, surface="api")
    if view.run.kind == "audit":
        raise HTTPException(409, f"run {run_id} is an audit: GET /v1/audits/{run_id}")
    if view.result is None:
        raise HTTPException(409, f"run {run_id} is {view.run.status}: it has no output")
    return view.result


@router.get("/{run_id}/trace", response_model=Trace)
def read_trace(run_id: str, actor: TraceReader, service: ServiceDep) -> Trace:
    return service.trace(actor, run_id, surface="api").trace


@router.get("/{run_id}/trace.html", response_class=HTMLResponse)
def read_trace_html(run_id: str, actor: TraceReader, service: ServiceDep) -> HTMLResponse:
    view = service.trace(actor, run_id, surface="api")
    return HTMLResponse(trace_html(view.trace, view.chart))


@router.get(
    "/{run_id}/annotated.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 409: {"description": "not a PDF"}},
)
async def read_annotated_pdf(run_id: str, actor: TraceReader, service: ServiceDep) -> Response:
    pdf = await run_in_threadpool(service.annotated_pdf, actor, run_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{run_id}-annotated.pdf"'},
    )


@router.post("/{run_id}/review", response_model=ReviewedChartResult)
def review_run(
    run_id: str, body: ReviewBody, actor: Reviewer, service: ServiceDep
) -> ReviewedChartResult:
    request = ReviewRequest(
        reviewer=actor.id, accept=body.accept, reject=body.reject, add=body.add, reason=body.reason
    )
    return service.review(actor, run_id, request)
