"""Human review: charts routed `review` or `escalate` stop for a person, and resume on a decision.

`request_review` does the one-time work of handing a run over; `await_review` only pauses with
LangGraph's `interrupt()` and, once resumed, applies the decision. The split matters: a resumed
graph re-runs the interrupted node from its first line, so nothing with a side effect may sit in
`await_review` before the pause.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated, Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, Field, StringConstraints

from agent.state import CodingState
from core.codes import is_code
from core.contract import AddedCode, ReviewerId, ReviewOutcome
from core.errors import CodeSenseError
from store.events import utc_now
from tools.codeset import CodeSet
from tools.evidence import EvidenceError, cite

log = logging.getLogger(__name__)


class ReviewError(CodeSenseError):
    """A decision that cannot be applied: unknown code, span not citable, no reason given."""


class SpanRequest(BaseModel):
    """Chart text a reviewer points at: offsets into one document (the first by default)."""

    doc_id: str | None = None
    start: int
    end: int


class AddRequest(BaseModel):
    code: str
    spans: list[SpanRequest] = Field(default_factory=list)


class ReviewDecision(BaseModel):
    """What resumes a paused graph: a request checked against the chart before it is sent."""

    decision_id: Annotated[str, StringConstraints(pattern=r"^dec-[0-9a-f]{16}$")]
    reviewer: ReviewerId
    decided_at: str
    accept: list[str] = Field(default_factory=list)
    reject: list[str] = Field(default_factory=list)
    add: list[AddedCode] = Field(default_factory=list)
    reason: str = ""


class ReviewRequest(BaseModel):
    """A decision as a reviewer typed it, before it is checked against the chart."""

    # Who decides. Surfaces other than the command line set it from the signed-in actor.
    reviewer: str | None = None
    accept: list[str] = Field(default_factory=list)
    reject: list[str] = Field(default_factory=list)
    add: list[AddRequest] = Field(default_factory=list)
    reason: str = ""


def route_after_scoring(state: CodingState) -> Literal["request_review", "__end__"]:
    """Charts a person must look at go to review; the rest end here."""
    if state.result is not None and state.result.route != "auto":
        return "request_review"
    return "__end__"


def request_review(state: CodingState) -> dict[str, Any]:
    """Hand the run to a person. Runs once: the pause happens in the next node, not this one."""
    assert state.result is not None
    log.info("run %s awaits review (route %s)", state.run_id, state.result.route)
    return {}


def await_review(state: CodingState) -> dict[str, Any]:
    # Nothing may precede interrupt(): on resume LangGraph runs this node again from here.
    assert state.result is not None
    payload = interrupt(
        {
            "run_id": state.run_id,
            "route": state.result.route,
            "codes": [s.code for s in state.result.suggestions],
        }
    )
    decision = ReviewDecision.model_validate(payload)
    return {"review": apply_decision(state, decision)}


def check_decision(
    state: CodingState, request: ReviewRequest, codeset: CodeSet | None = None
) -> ReviewDecision:
    """The request as a decision the graph can apply, or a ReviewError saying what is wrong."""
    if state.result is None or state.chart is None:
        raise ReviewError("the paused run has no result to review")
    codeset = codeset or CodeSet.load()
    suggested = [s.code for s in state.result.suggestions]

    def known(code: str, billable: bool = False) -> str:
        """The code in canonical spelling, refused when it is not one assignable code: a range
        or block ("E08-E13"), an unknown code, or (for an added code) a category or a code
        still missing characters ("E11", "E11.2", "S72.001")."""
        norm = CodeSet.normalize(code)
        shown = code.strip()[:24]
        if not is_code(norm):
            raise ReviewError(f"{shown!r} is not a single ICD-10-CM code (name one code)")
        if not codeset.exists(norm):
            raise ReviewError(f"{shown!r} is not an ICD-10-CM code")
        if billable and not codeset.is_billable(norm):
            below = codeset.leaves_under(norm)[:3]
            hint = f" (for example {', '.join(below)})" if below else ""
            raise ReviewError(f"{norm} is not a billable code: choose the complete code{hint}")
        return norm

    accept = [known(c) for c in request.accept]
    reject = [known(c) for c in request.reject]
    for code in accept + reject:
        if code not in suggested:
            raise ReviewError(f"{code} was not suggested for this run; use --add to add it")
    both = set(accept) & set(reject)
    if both:
        raise ReviewError(f"{sorted(both)[0]} is both accepted and rejected")
    added: list[AddedCode] = []
    for item in request.add:
        code = known(item.code, billable=True)
        if code in suggested:
            raise ReviewError(f"{code} is already suggested; accept it instead of adding it")
        evidence = []
        for span in item.spans:
            doc_id = span.doc_id or state.chart.documents[0].doc_id
            try:
                evidence.append(cite(state.chart, doc_id, span.start, span.end))
            except (EvidenceError, KeyError) as err:
                raise ReviewError(f"evidence for {code}: {_span_problem(err)}") from None
        if not evidence and not request.reason.strip():
            raise ReviewError(
                f"added code {code} needs evidence (--evidence START:END) or a --reason"
            )
        added.append(
            AddedCode(
                code=code,
                description=codeset.get(code).description,
                evidence=evidence,
                reason=request.reason.strip(),
            )
        )
    if not (accept or reject or added):
        raise ReviewError("a review needs at least one --accept, --reject or --add")
    if not request.reviewer:
        raise ReviewError("a review needs a reviewer id")
    try:
        return ReviewDecision(
            decision_id="dec-" + secrets.token_hex(8),
            reviewer=request.reviewer,
            decided_at=utc_now(),
            accept=accept,
            reject=reject,
            add=added,
            reason=request.reason.strip(),
        )
    except ValueError:
        raise ReviewError("reviewer id must be 1-64 letters, digits or . _ @ -") from None


def apply_decision(state: CodingState, decision: ReviewDecision) -> ReviewOutcome:
    assert state.result is not None
    suggested = [s.code for s in state.result.suggestions]
    decided = set(decision.accept) | set(decision.reject)
    kept = [c for c in suggested if c not in set(decision.reject)]
    return ReviewOutcome(
        decision_id=decision.decision_id,
        reviewer=decision.reviewer,
        decided_at=decision.decided_at,
        accepted=decision.accept,
        rejected=decision.reject,
        added=decision.add,
        undecided=[c for c in suggested if c not in decided],
        reason=decision.reason,
        codes=kept + [a.code for a in decision.add if a.code not in kept],
    )


def _span_problem(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"no document {err.args[0]!r} in this chart"
    return str(err)
