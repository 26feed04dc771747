"""What coding leaders measure, computed from the store: throughput, rework, manual share, time
to review and to claim, denials; overall, over time, per code category and per reviewer.

The figures are a cohort view: a chart belongs to the window by the time it was coded, and its
review and claim outcomes count with it whenever they came. Only ids, codes, counts and times
go in; no chart text.

Definitions (the API, the command line and the dashboard show exactly these):
- `charts_coded`: coding runs that produced codes (completed, awaiting or under review, reviewed).
- `route_share`: the share of those charts routed auto, review and escalate.
- `manual_review_share`: the share routed review or escalate (a person had to look).
- `rework`: codes accepted, rejected and added in review, and `changed_share`, the share of
  reviewed charts whose codes changed (a code rejected or added).
- `throughput`: charts coded per day of the window, and reviews per reviewer per day.
- `median_time_to_review_s`: coded to the review decision, over reviewed charts.
- `median_time_to_claim_s`: coded to the first `submitted` outcome.
- `denial_rate`: of charts whose latest outcome is paid, denied or adjusted, the share denied;
  `denials_by_reason`: the reason codes of those latest denials.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from store.outcomes import Outcome
from store.runs import ReviewRecord, RunRecord

Group = Literal["day", "week"]
ROUTES = ("auto", "review", "escalate")
_CODED = frozenset({"completed", "awaiting_review", "reviewing", "reviewed"})
_SETTLED = frozenset({"paid", "denied", "adjusted"})


class Rework(BaseModel):
    reviewed_charts: int = 0
    codes_accepted: int = 0
    codes_rejected: int = 0
    codes_added: int = 0
    changed_share: float | None = Field(
        default=None, description="reviewed charts whose codes changed, over reviewed charts"
    )


class Figures(BaseModel):
    charts_coded: int = 0
    route_share: dict[str, float] = Field(default_factory=dict)
    manual_review_share: float | None = None
    rework: Rework = Field(default_factory=Rework)
    median_time_to_review_s: float | None = None
    claims_submitted: int = 0
    median_time_to_claim_s: float | None = None
    claims_settled: int = Field(default=0, description="latest outcome paid, denied or adjusted")
    denial_rate: float | None = None
    denials_by_reason: dict[str, int] = Field(default_factory=dict)


class Period(BaseModel):
    start: str = Field(description="the day, or the Monday of the week (ISO date)")
    figures: Figures


class ReviewerFigures(BaseModel):
    reviews: int
    reviews_per_day: float
    changed_share: float | None
    codes_accepted: int
    codes_rejected: int
    codes_added: int
    median_time_to_review_s: float | None


class CodeChange(BaseModel):
    code: str
    rejected: int
    added: int
    total: int


class Throughput(BaseModel):
    days: int
    charts_per_day: float
    reviews_per_reviewer_per_day: dict[str, float]


class Metrics(BaseModel):
    org: str
    start: str = Field(description="the window's first day (ISO date)")
    end: str = Field(description="the day after the window's last day (ISO date)")
    group: Group
    setting: str | None = None
    reviewer: str | None = None
    overall: Figures
    throughput: Throughput
    series: list[Period]
    by_category: dict[str, Figures] = Field(
        description="per 3-character ICD-10-CM category of the charts' final codes"
    )
    by_reviewer: dict[str, ReviewerFigures]
    most_changed_codes: list[CodeChange]


@dataclass
class _Chart:
    run: RunRecord
    review: ReviewRecord | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def categories(self) -> set[str]:
        codes = set(self.run.codes)
        if self.review:
            codes |= set(self.review.rejected)
        return {c.replace(".", "")[:3] for c in codes}


def compute(
    org: str,
    runs: Iterable[RunRecord],
    reviews: Iterable[ReviewRecord],
    outcomes: Iterable[Outcome],
    start: date | None = None,
    end: date | None = None,
    group: Group = "day",
    setting: str | None = None,
    reviewer: str | None = None,
) -> Metrics:
    """The figures for coding runs created in [start, end) (whole days, UTC)."""
    by_run: dict[str, _Chart] = {}
    for run in runs:
        if run.kind != "code" or run.status not in _CODED or run.org != org:
            continue
        if setting and run.setting != setting:
            continue
        by_run[run.run_id] = _Chart(run)
    for record in sorted(reviews, key=lambda r: r.decided_at):
        chart = by_run.get(record.run_id)
        if chart is not None and chart.review is None:
            chart.review = record
    for outcome in sorted(outcomes, key=lambda o: (o.at, o.recorded_at)):
        if outcome.run_id in by_run:
            by_run[outcome.run_id].outcomes.append(outcome)
    charts = list(by_run.values())
    if reviewer:
        charts = [c for c in charts if c.review and c.review.reviewer == reviewer]
    days = [_day(c.run.created_at) for c in charts]
    first = start or (min(days) if days else datetime.now(UTC).date())
    last = end or ((max(days) + timedelta(days=1)) if days else first + timedelta(days=1))
    charts = [c for c in charts if first <= _day(c.run.created_at) < last]
    span = max((last - first).days, 1)

    series: dict[date, list[_Chart]] = defaultdict(list)
    for chart in charts:
        series[_period(_day(chart.run.created_at), group)].append(chart)
    by_category: dict[str, list[_Chart]] = defaultdict(list)
    for chart in charts:
        for cat in chart.categories:
            by_category[cat].append(chart)

    return Metrics(
        org=org,
        start=first.isoformat(),
        end=last.isoformat(),
        group=group,
        setting=setting,
        reviewer=reviewer,
        overall=_figures(charts),
        throughput=Throughput(
            days=span,
            charts_per_day=round(len(charts) / span, 4),
            reviews_per_reviewer_per_day={
                name: round(len(rs) / span, 4) for name, rs in sorted(_by_reviewer(charts).items())
            },
        ),
        series=[
            Period(start=p.isoformat(), figures=_figures(cs)) for p, cs in sorted(series.items())
        ],
        by_category={cat: _figures(cs, category=cat) for cat, cs in sorted(by_category.items())},
        by_reviewer={
            name: _reviewer_figures(cs, span) for name, cs in sorted(_by_reviewer(charts).items())
        },
        most_changed_codes=_most_changed(charts),
    )


def _figures(charts: list[_Chart], category: str | None = None) -> Figures:
    n = len(charts)
    routes = Counter(c.run.route for c in charts if c.run.route)
    reviewed = [c for c in charts if c.review is not None]

    def mine(codes: list[str]) -> list[str]:
        return [c for c in codes if category is None or c.replace(".", "")[:3] == category]

    accepted = sum(len(mine(c.review.accepted)) for c in reviewed if c.review)
    rejected = sum(len(mine(c.review.rejected)) for c in reviewed if c.review)
    added = sum(len(mine(c.review.added)) for c in reviewed if c.review)
    changed = sum(1 for c in reviewed if c.review and (c.review.rejected or c.review.added))
    submitted = [
        _seconds(c.run.created_at, s.at)
        for c in charts
        if (s := next((o for o in c.outcomes if o.status == "submitted"), None)) is not None
    ]
    latest = [c.outcomes[-1] for c in charts if c.outcomes and c.outcomes[-1].status in _SETTLED]
    denied = [o for o in latest if o.status == "denied"]
    reasons = Counter(r for o in denied for r in o.reasons)
    return Figures(
        charts_coded=n,
        route_share={r: _share(routes.get(r, 0), n) or 0.0 for r in ROUTES},
        manual_review_share=_share(routes.get("review", 0) + routes.get("escalate", 0), n),
        rework=Rework(
            reviewed_charts=len(reviewed),
            codes_accepted=accepted,
            codes_rejected=rejected,
            codes_added=added,
            changed_share=_share(changed, len(reviewed)),
        ),
        median_time_to_review_s=_median(
            [_seconds(c.run.created_at, c.review.decided_at) for c in reviewed if c.review]
        ),
        claims_submitted=len(submitted),
        median_time_to_claim_s=_median(submitted),
        claims_settled=len(latest),
        denial_rate=_share(len(denied), len(latest)),
        denials_by_reason=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _by_reviewer(charts: list[_Chart]) -> dict[str, list[_Chart]]:
    out: dict[str, list[_Chart]] = defaultdict(list)
    for chart in charts:
        if chart.review is not None:
            out[chart.review.reviewer].append(chart)
    return out


def _reviewer_figures(charts: list[_Chart], span: int) -> ReviewerFigures:
    figures = _figures(charts)
    return ReviewerFigures(
        reviews=len(charts),
        reviews_per_day=round(len(charts) / span, 4),
        changed_share=figures.rework.changed_share,
        codes_accepted=figures.rework.codes_accepted,
        codes_rejected=figures.rework.codes_rejected,
        codes_added=figures.rework.codes_added,
        median_time_to_review_s=figures.median_time_to_review_s,
    )


def _most_changed(charts: list[_Chart], limit: int = 20) -> list[CodeChange]:
    rejected: Counter[str] = Counter()
    added: Counter[str] = Counter()
    for chart in charts:
        if chart.review is not None:
            rejected.update(chart.review.rejected)
            added.update(chart.review.added)
    codes = set(rejected) | set(added)
    changes = [
        CodeChange(code=c, rejected=rejected[c], added=added[c], total=rejected[c] + added[c])
        for c in codes
    ]
    return sorted(changes, key=lambda x: (-x.total, x.code))[:limit]


def _day(stamp: str) -> date:
    return date.fromisoformat(stamp[:10])


def _period(day: date, group: Group) -> date:
    return day - timedelta(days=day.weekday()) if group == "week" else day


def _seconds(earlier: str, later: str) -> float:
    return (_time(later) - _time(earlier)).total_seconds()


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None
