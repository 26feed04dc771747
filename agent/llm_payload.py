"""What a model is shown of a chart: one data block, delimited by lines carrying a random id the
chart cannot know, holding JSON (so no chart text can close the block or break out of a string).

Inside: the chart's visible text as numbered spans and, for coding, the offline reasoner's draft
(mentions with assertions and candidates, the codes chosen with the rules that fired, the
mentions not coded and why). Outside it the prompts carry no chart text at all. Hidden PDF text
is never in a span, and invisible characters are removed from every string.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from agent.reasoners.base import DecisionRequest, DecisionResult
from core.contract import ChartResult
from core.errors import UnknownCode
from tools.chart import Chart
from tools.codeset import CodeSet
from tools.spans import ChartView
from tools.untrusted import strip_hidden, visible_text

# Candidates shown per mention: the model can ask the term index for more.
CANDIDATES_SHOWN = 4


class DataBlock:
    """The delimiters of one request's data block."""

    def __init__(self) -> None:
        self.id = secrets.token_hex(8)

    def wrap(self, body: str) -> str:
        return f"<<<CHART DATA {self.id}>>>\n{body}\n<<<END CHART DATA {self.id}>>>"

    def render(self, payload: dict[str, Any]) -> str:
        return self.wrap(json.dumps(_clean(payload), ensure_ascii=False))


def spans_payload(view: ChartView) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "section": s.section,
            "page": s.page,
            "text": s.text,
            "instruction_like": s.instruction_like,
        }
        for s in view.spans
    ]


def draft_payload(
    request: DecisionRequest, draft: DecisionResult, view: ChartView
) -> dict[str, Any]:
    """The offline draft, mentions and codes by id, every text reduced to what a reader sees."""
    codes = CodeSet.load()
    chart = request.chart
    assert chart is not None
    mentions = []
    for i, m in enumerate(request.mentions):
        over = view.spans_over(m.doc_id, m.start, m.end)
        if not over:
            continue
        shown = []
        for cand in m.candidates[:CANDIDATES_SHOWN]:
            shown.append({"code": cand.code, "description": _description(codes, cand.code)})
        mentions.append(
            {
                "id": i,
                "span_ids": [s.id for s in over],
                "text": visible_text(chart.document(m.doc_id), m.start, m.end),
                "assertion": m.assertion,
                "section": m.section,
                "candidates": shown,
            }
        )
    chosen = []
    for d in draft.decisions:
        span_ids = sorted(
            {s.id for i in d.mention_ids for s in _mention_spans(request, view, i)}
            | {s.id for t in d.spans for s in view.spans_over(t.doc_id, t.start, t.end)}
        )
        chosen.append(
            {
                "code": d.code,
                "description": _description(codes, d.code),
                "role": d.role,
                "mention_ids": d.mention_ids,
                "span_ids": span_ids,
                "rules": [{"id": r.id, "result": r.result} for r in d.rules],
            }
        )
    not_coded = [{"mention_id": r.mention_id, "reason": r.reason} for r in draft.rejections]
    return {"mentions": mentions, "codes": chosen, "not_coded": not_coded}


def run_payload(result: ChartResult, chart: Chart, view: ChartView) -> dict[str, Any]:
    """A stored run for a question about it: codes with their evidence as span ids."""
    suggestions = []
    for s in result.suggestions:
        span_ids = sorted(
            {sp.id for e in s.evidence for sp in view.spans_over(e.doc_id, e.start, e.end)}
        )
        suggestions.append(
            {
                "code": s.code,
                "description": s.description,
                "role": s.role,
                "status": s.status,
                "confidence": s.confidence,
                "evidence_span_ids": span_ids,
                "rules": [{"id": r.id, "result": r.result, "message": r.message} for r in s.rules],
            }
        )
    return {
        "setting": result.setting,
        "route": result.route,
        "reasoner": result.reasoner,
        "escalations": [e.reason for e in result.escalations],
        "suggestions": suggestions,
    }


def _mention_spans(request: DecisionRequest, view: ChartView, i: int) -> list[Any]:
    m = request.mentions[i]
    return view.spans_over(m.doc_id, m.start, m.end)


def _description(codes: CodeSet, code: str) -> str:
    try:
        return codes.get(code).description
    except UnknownCode:  # the model sees the code alone
        return ""


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_hidden(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value
