"""The leaders' pages: the dashboard of figures over time, and the education feedback."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from apps.feedback import FeedbackBy
from apps.metrics import Group, Metrics
from apps.server.auth import ServiceDep
from apps.server.pages.plots import bar_chart, line_chart
from apps.server.pages.routes import Visitor, _page, _require
from core.contract import Setting

router = APIRouter(include_in_schema=False)
_SETTINGS: dict[str, Setting] = {s: s for s in get_args(Setting)}


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    visitor: Visitor,
    service: ServiceDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    setting: str | None = None,
    reviewer: Annotated[str | None, Query(max_length=64)] = None,
    group: str = "day",
) -> HTMLResponse:
    visitor = _require(request, visitor, "metrics")
    grouping: Group = "week" if group == "week" else "day"
    first, last = _date(start), _date(end)
    if first and last and last <= first:
        last = None
    metrics = service.metrics(
        visitor.actor,
        first,
        last,
        grouping,
        _SETTINGS.get(setting or ""),
        reviewer or None,
    )
    return _page(
        request,
        "dashboard.html",
        visitor,
        m=metrics,
        charts=_charts(metrics),
        reviewers=sorted(metrics.by_reviewer),
        filters={
            "from": start or "",
            "to": end or "",
            "setting": setting or "",
            "reviewer": reviewer or "",
            "group": grouping,
        },
    )


def _charts(m: Metrics) -> dict[str, Any]:
    labels = [p.start for p in m.series]
    figures = [p.figures for p in m.series]
    return {
        "throughput": bar_chart(
            f"Charts coded per {m.group}", labels, [f.charts_coded for f in figures], "charts"
        ),
        "routes": line_chart(
            "Route shares",
            labels,
            {r: [f.route_share.get(r) for f in figures] for r in ("auto", "review", "escalate")},
            percent=True,
        ),
        "rework": line_chart(
            "Rework: reviewed charts whose codes changed",
            labels,
            {"changed share": [f.rework.changed_share for f in figures]},
            percent=True,
        ),
        "denials": line_chart(
            "Denial rate (latest outcome)",
            labels,
            {"denied share": [f.denial_rate for f in figures]},
            percent=True,
        ),
        "review_time": line_chart(
            "Median time to review (hours)",
            labels,
            {
                "hours": [
                    f.median_time_to_review_s / 3600
                    if f.median_time_to_review_s is not None
                    else None
                    for f in figures
                ]
            },
        ),
    }


@router.get("/feedback", response_class=HTMLResponse)
def feedback(
    request: Request,
    visitor: Visitor,
    service: ServiceDep,
    by: str = "category",
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
) -> HTMLResponse:
    visitor = _require(request, visitor, "metrics")
    grouping: FeedbackBy = "reviewer" if by == "reviewer" else "category"
    result = service.feedback(visitor.actor, grouping, _date(start), _date(end))
    return _page(
        request,
        "feedback.html",
        visitor,
        feedback=result,
        filters={"by": grouping, "from": start or "", "to": end or ""},
    )
