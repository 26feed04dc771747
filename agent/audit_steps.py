"""What each graph step's output says in audit terms: its tool calls, codes, offsets and counts.

Nodes are thin adapters around one tool each (DESIGN.md), so a node's update is the tool's
output: `extract_document` holds what `extract_chart` returned per document, `check_evidence`
the span `cite` returned for each code. Reading them here keeps the nodes free of audit code.
Only ids, hashes, codes and offsets come out; documents are named by their place in the chart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.state import CodingState, DraftSuggestion
from core.codes import is_code
from core.contract import ChartResult, ReviewOutcome
from store.events import digest, digest_json
from tools.chart import Chart
from tools.mentions import Mention

MAX_SPANS = 2000
MAX_CODES = 500

Described = tuple[list[dict[str, Any]], dict[str, Any]]


def describe_step(name: str, state: CodingState, update: dict[str, Any]) -> Described:
    """(tool/decision events, extra fields of the step event) for one node's update."""
    describe = _DESCRIBERS.get(name)
    return describe(state, update) if describe else ([], {})


def _doc_index(chart: Chart | None) -> dict[str, int]:
    return {d.doc_id: i for i, d in enumerate(chart.documents)} if chart else {}


def _codes(codes: list[str]) -> list[str]:
    return sorted({c for c in codes if is_code(c)})[:MAX_CODES]


def _extract(state: CodingState, update: dict[str, Any]) -> Described:
    chart: Chart | None = update.get("chart")
    if chart is None:
        return [], {}
    events = []
    for i, doc in enumerate(chart.documents):
        unreadable = any(p.unreadable for p in doc.pages)
        events.append(
            {
                "action": "tool.call",
                "name": "extract_chart",
                "input_hash": "sha256:" + doc.sha256,
                "output_hash": digest(doc.text.encode()),
                "spans": [{"doc": i, "start": 0, "end": len(doc.text)}],
                "count": len(doc.pages),
                "result": "warn" if unreadable or doc.is_repaired or doc.warnings else "ok",
            }
        )
    return events, {"count": len(chart.documents)}


def _mentions(state: CodingState, update: dict[str, Any]) -> Described:
    mentions: list[Mention] = update.get("mentions", [])
    index = _doc_index(state.chart)
    by_doc: dict[int, list[Mention]] = {}
    for m in mentions:
        by_doc.setdefault(index.get(m.doc_id, 0), []).append(m)
    events = [
        {
            "action": "tool.call",
            "name": "find_mentions",
            "output_hash": digest_json(found),
            "codes": _codes([m.codes[0] for m in found if m.codes]),
            "spans": [{"doc": i, "start": m.start, "end": m.end} for m in found][:MAX_SPANS],
            "count": len(found),
        }
        for i, found in sorted(by_doc.items())
    ]
    return events, {"count": len(mentions)}


def _candidates(state: CodingState, update: dict[str, Any]) -> Described:
    return [], {"count": len(update.get("candidates", []))}


def _decisions(state: CodingState, update: dict[str, Any]) -> Described:
    decisions = update.get("decisions", [])
    return [], {"codes": _codes([d.code for d in decisions]), "count": len(decisions)}


def _validation(state: CodingState, update: dict[str, Any]) -> Described:
    drafts: list[DraftSuggestion] = update.get("drafts", [])
    conflicts = update.get("conflicts", [])
    results = {c.result for d in drafts for c in d.checks} | {c.result for c in conflicts}
    worst = "fail" if "fail" in results else "warn" if "warn" in results else "pass"
    event = {
        "action": "tool.call",
        "name": "validate_codes",
        "input_hash": digest_json([d.code for d in state.decisions]),
        "output_hash": digest_json(update),
        "codes": _codes([d.code for d in drafts]),
        "count": sum(len(d.checks) for d in drafts) + len(conflicts),
        "result": worst,
    }
    return [event], {"codes": event["codes"], "count": len(drafts)}


def _evidence(state: CodingState, update: dict[str, Any]) -> Described:
    index = _doc_index(state.chart)
    kept: list[DraftSuggestion] = update.get("drafts", [])
    events = [
        {
            "action": "tool.call",
            "name": "cite",
            "codes": _codes([draft.code]),
            "spans": [
                {"doc": index.get(str(e["doc_id"]), 0), "start": e["start"], "end": e["end"]}
                for e in draft.evidence
            ][:MAX_SPANS],
            "output_hash": digest_json(draft.evidence),
            "count": len(draft.evidence),
        }
        for draft in kept
    ]
    dropped = len(state.drafts) - len(kept)
    return events, {
        "codes": _codes([d.code for d in kept]),
        "count": len(kept),
        "result": "warn" if dropped else "ok",
    }


def _route(state: CodingState, update: dict[str, Any]) -> Described:
    result: ChartResult | None = update.get("result")
    if result is None:
        return [], {}
    return [], {
        "codes": _codes([s.code for s in result.suggestions]),
        "count": len(result.escalations),
        "result": result.route,
    }


def _request(state: CodingState, update: dict[str, Any]) -> Described:
    assert state.result is not None
    event = {
        "action": "review.request",
        "name": "request_review",
        "codes": _codes([s.code for s in state.result.suggestions]),
        "result": state.result.route,
    }
    return [event], {}


def _decision(state: CodingState, update: dict[str, Any]) -> Described:
    outcome: ReviewOutcome | None = update.get("review")
    if outcome is None:
        return [], {}
    index = _doc_index(state.chart)
    base = {
        "action": "review.decision",
        "name": "await_review",
        "actor": f"reviewer:{outcome.reviewer}",
        "decision_id": outcome.decision_id,
        "input_hash": digest(outcome.reason.encode()) if outcome.reason else None,
    }
    events: list[dict[str, Any]] = []
    for code in outcome.accepted:
        events.append({**base, "codes": _codes([code]), "result": "accepted"})
    for code in outcome.rejected:
        events.append({**base, "codes": _codes([code]), "result": "rejected"})
    for added in outcome.added:
        events.append(
            {
                **base,
                "codes": _codes([added.code]),
                "result": "added",
                "spans": [
                    {"doc": index.get(e.doc_id, 0), "start": e.start, "end": e.end}
                    for e in added.evidence
                ],
                "output_hash": digest_json(added),
            }
        )
    return events, {"codes": _codes(outcome.codes), "count": len(events)}


_DESCRIBERS: dict[str, Callable[[CodingState, dict[str, Any]], Described]] = {
    "extract_document": _extract,
    "find_concepts": _mentions,
    "gather_candidates": _candidates,
    "decide_codes": _decisions,
    "validate_decisions": _validation,
    "check_evidence": _evidence,
    "score_and_route": _route,
    "request_review": _request,
    "await_review": _decision,
}
