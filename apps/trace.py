"""The justification trace of a run: for every code, the text, rule, version and step behind it.

`collect_trace` opens what the run store sealed (the justification, the output, the reviews) and
joins it with the run's audit events; `trace_markdown` and `apps.trace_html.trace_html` render it
for people, `Trace.model_dump_json()` for programs. Reading a trace is audited like any read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.justification import CodeJustification, MentionNotCoded, RunJustification
from core.contract import AddedCode, Escalation
from store.events import AuditEvent
from store.records import Records
from store.runs import RunNotFound, RunRecord
from tools.chart import Chart

ReviewMark = Literal["accepted", "rejected", "undecided"]


class TraceEvent(BaseModel):
    """An audit event as the trace shows it (all of its fields are safe to show)."""

    seq: int
    ts: str
    actor: str
    action: str
    name: str | None = None
    result: str
    codes: list[str] = Field(default_factory=list)
    hash: str


class CodeTrace(CodeJustification):
    review: ReviewMark | None = None
    audit_events: list[int] = Field(default_factory=list)


class ReviewTrace(BaseModel):
    decision_id: str
    reviewer: str
    decided_at: str
    accepted: list[str]
    rejected: list[str]
    added: list[AddedCode]
    reason: str


class Trace(BaseModel):
    run: RunRecord
    chart_id: str
    setting: str
    route: str
    versions: dict[str, str]
    escalations: list[Escalation] = Field(default_factory=list)
    codes: list[CodeTrace] = Field(default_factory=list)
    not_coded: list[MentionNotCoded] = Field(default_factory=list)
    reviews: list[ReviewTrace] = Field(default_factory=list)
    final_codes: list[str] = Field(default_factory=list)
    events: list[TraceEvent] = Field(default_factory=list)


def collect_trace(
    records: Records, run: RunRecord, output: dict[str, Any] | None
) -> tuple[Trace, Chart | None]:
    """The trace of a stored run and its chart (for the side-by-side view). Reading is the
    caller's to audit: `Service.trace` records who looked."""
    run_id = run.run_id
    sealed = records.runs.justification(run_id)
    if sealed is None:
        justification = RunJustification(
            run_id=run_id,
            chart_id="",
            setting=run.setting,
            route=run.route or "",
            versions=run.versions,
        )
    else:
        justification = RunJustification.model_validate(sealed)
    events = [_trace_event(e) for e in records.audit.events(run_id)]
    reviews = [
        ReviewTrace(
            decision_id=record.decision_id,
            reviewer=record.reviewer,
            decided_at=record.decided_at,
            accepted=record.accepted,
            rejected=record.rejected,
            added=[AddedCode.model_validate(a) for a in detail.get("add", [])],
            reason=str(detail.get("reason", "")),
        )
        for record, detail in records.runs.reviews(run_id)
    ]
    codes = [
        CodeTrace(
            **c.model_dump(),
            review=_review_mark(c.code, reviews),
            audit_events=[e.seq for e in events if c.code in e.codes],
        )
        for c in justification.codes
    ]
    output = output or {}
    review_out = output.get("review") or {}
    trace = Trace(
        run=run,
        chart_id=justification.chart_id,
        setting=justification.setting,
        route=justification.route,
        versions=justification.versions or run.versions,
        escalations=justification.escalations,
        codes=codes,
        not_coded=justification.not_coded,
        reviews=reviews,
        final_codes=list(review_out.get("codes") or run.codes),
        events=events,
    )
    chart = None
    if run.chart_hash:
        try:
            chart = Chart.model_validate(records.runs.chart(run.chart_hash))
        except RunNotFound:
            chart = None
    return trace, chart


def _trace_event(e: AuditEvent) -> TraceEvent:
    return TraceEvent(
        seq=e.seq,
        ts=e.ts,
        actor=e.actor,
        action=e.action,
        name=e.name,
        result=e.result,
        codes=e.codes,
        hash=e.hash,
    )


def _review_mark(code: str, reviews: list[ReviewTrace]) -> ReviewMark | None:
    if not reviews:
        return None
    last = reviews[-1]
    if code in last.accepted:
        return "accepted"
    if code in last.rejected:
        return "rejected"
    return "undecided"


def trace_markdown(trace: Trace) -> str:
    run = trace.run
    lines = [
        f"# Justification trace: {run.run_id}",
        "",
        f"- chart `{trace.chart_id}` ({run.chart_hash or 'no chart stored'}), {trace.setting}",
        f"- route **{trace.route}**, status {run.status.replace('_', ' ')}, "
        f"created {run.created_at} by {run.actor}",
        f"- final codes: {', '.join(trace.final_codes) or 'none'}",
        f"- audit: {run.audit_events} events, head `{run.audit_head}`",
        "- versions: " + ", ".join(f"{k} `{v}`" for k, v in sorted(trace.versions.items())),
        "",
    ]
    if trace.escalations:
        lines += ["## Escalations", ""]
        lines += [f"- **{e.reason}**: {e.detail}" for e in trace.escalations]
        lines.append("")
    lines += ["## Codes", ""]
    for c in trace.codes:
        mark = f", review: **{c.review}**" if c.review else ""
        lines += [
            f"### {c.code}: {c.description}",
            "",
            f"{c.role}, confidence {c.confidence:.2f}, status {c.status}{mark}",
            "",
            f"Rationale: {c.rationale}",
            "",
            "Evidence:",
            "",
        ]
        for e in c.evidence:
            quote = " ".join(e.quote.split())
            lines.append(
                f'- "{quote}" ({e.section.replace("_", " ")}, {e.doc_id} '
                f"characters {e.start}-{e.end}, page {e.page})"
            )
        if c.chosen:
            lines += [
                "",
                f"From candidate {c.chosen.code} ({c.chosen.origin} term '{c.chosen.term}', "
                f"score {c.chosen.score:.2f})",
            ]
        if c.beaten:
            beaten = ", ".join(f"{b.code} ({b.score:.2f})" for b in c.beaten)
            lines.append(f"Beat: {beaten}")
        if c.guideline_rules:
            lines.append("Guideline rules: " + ", ".join(f"`{r}`" for r in c.guideline_rules))
        if c.rules:
            lines += ["", "Rules:", ""]
            lines += [f"- {r.result} `{r.id}`: {r.message}" for r in c.rules]
        if c.audit_events:
            lines += ["", "Audit events: " + ", ".join(f"#{s}" for s in c.audit_events)]
        lines.append("")
    for review in trace.reviews:
        lines += [
            f"## Review by {review.reviewer} ({review.decided_at})",
            "",
            f"- accepted: {', '.join(review.accepted) or 'none'}",
            f"- rejected: {', '.join(review.rejected) or 'none'}",
        ]
        for added in review.added:
            where = "; ".join(
                f'"{" ".join(e.quote.split())}" ({e.doc_id} {e.start}-{e.end})'
                for e in added.evidence
            )
            lines.append(
                f"- added: {added.code} {added.description}" + (f": {where}" if where else "")
            )
        lines += [f"- reason: {review.reason or '(none given)'}", ""]
    if trace.not_coded:
        lines += ["## Not coded", ""]
        for m in trace.not_coded:
            text = " ".join(m.text.split())
            lines.append(f'- "{text}" ({m.assertion}, {m.section.replace("_", " ")}): {m.reason}')
        lines.append("")
    lines += [
        "## Audit events",
        "",
        "| seq | time | actor | action | step | result | codes | hash |",
    ]
    lines.append("|---|---|---|---|---|---|---|---|")
    for ev in trace.events:
        lines.append(
            f"| {ev.seq} | {ev.ts} | {ev.actor} | {ev.action} | {ev.name or ''} | {ev.result} | "
            f"{' '.join(ev.codes)} | `{ev.hash[:19]}…` |"
        )
    return "\n".join(lines) + "\n"
