"""Graph nodes: thin adapters from the coding state to a tool's input and back.

Each node reads what earlier nodes wrote and returns only the fields it owns.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.context import CodingContext
from agent.reasoners import DecisionRequest
from agent.schema import ChartResult, Escalation, MentionOut, Route, Suggestion
from agent.scoring import code_status, confidence
from agent.state import CodeCandidate, CodingState, DraftSuggestion
from tools.chart import Chart
from tools.codeset import CODE_SET_VERSION, CodeSet
from tools.evidence import Evidence, EvidenceError, cite
from tools.extract import ExtractInput, extract_chart, structure
from tools.extract.sections import section_weight
from tools.mentions import MentionsInput, find_mentions
from tools.validate import ProposedCode, ValidateInput, validate_codes

_SEVERITY: dict[Route, int] = {"auto": 0, "review": 1, "escalate": 2}
_ENCOUNTER = [
    ("sequela", re.compile(r"\b(?:sequela|sequelae|late effect)\b", re.IGNORECASE)),
    ("subsequent", re.compile(r"\bsubsequent encounter\b|\bfollow[- ]up visit\b", re.IGNORECASE)),
    ("initial", re.compile(r"\binitial encounter\b|\bemergency department\b", re.IGNORECASE)),
]


def extract_document(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    settings = runtime.context.settings
    if state.chart is not None:
        chart = Chart(
            chart_id=state.chart.chart_id,
            documents=[d if d.sentences else structure(d) for d in state.chart.documents],
        )
    else:
        chart = extract_chart(
            ExtractInput(
                chart_id=state.chart_id,
                sources=state.sources,
                max_bytes=int(settings.max_file_mb * 1024 * 1024),
                pdf_timeout_s=settings.pdf_timeout_s,
                pdf_memory_mb=settings.pdf_memory_mb,
            )
        )
    escalations = []
    for doc in chart.documents:
        unreadable = [p.number for p in doc.pages if p.unreadable]
        if unreadable:
            escalations.append(
                Escalation(
                    reason="unreadable_pages",
                    detail=f"{doc.doc_id}: pages {', '.join(map(str, unreadable))} have no "
                    "readable text (no text layer and OCR unavailable or failed)",
                )
            )
        if not doc.text.strip():
            escalations.append(Escalation(reason="no_text", detail=f"{doc.doc_id}: no text"))
    return {"chart": chart, "escalations": escalations}


def route_after_extract(state: CodingState) -> Literal["find_concepts", "score_and_route"]:
    """Charts with no readable text skip coding and go straight to a person."""
    if state.chart is None or not any(d.text.strip() for d in state.chart.documents):
        return "score_and_route"
    return "find_concepts"


def find_concepts(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    assert state.chart is not None
    mentions = []
    for doc in state.chart.documents:
        mentions.extend(find_mentions(MentionsInput(document=doc), runtime.context.index).mentions)
    return {"mentions": mentions}


def gather_candidates(state: CodingState) -> dict[str, Any]:
    """Chart-level candidate codes, each with every mention that could support it."""
    by_code: dict[str, CodeCandidate] = {}
    for i, mention in enumerate(state.mentions):
        for cand in mention.candidates:
            entry = by_code.get(cand.code)
            if entry is None:
                by_code[cand.code] = CodeCandidate(code=cand.code, mention_ids=[i], best=cand)
            else:
                entry.mention_ids.append(i)
                if cand.score > entry.best.score:
                    entry.best = cand
    return {"candidates": list(by_code.values())}


def decide_codes(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    assert state.chart is not None
    reasoner = runtime.context.reasoner
    result = reasoner.decide(
        DecisionRequest(
            setting=state.setting,
            mentions=state.mentions,
            candidates=state.candidates,
            encounter=_encounter(state.chart),
        )
    )
    return {
        "decisions": result.decisions,
        "rejections": result.rejections,
        "reasoner_name": reasoner.name,
    }


def validate_decisions(state: CodingState) -> dict[str, Any]:
    proposed = [
        ProposedCode(code=d.code, role=d.role, encounter=d.encounter) for d in state.decisions
    ]
    out = validate_codes(ValidateInput(codes=proposed, setting=state.setting, date_of_service=None))
    drafts = []
    for decision, checked in zip(state.decisions, out.codes, strict=True):
        drafts.append(
            DraftSuggestion(
                decision=decision,
                code=checked.code or decision.code,
                description=checked.description or "",
                checks=checked.checks,
                needs_review=checked.needs_review or checked.code is None,
                review_reasons=checked.reasons,
            )
        )
    return {"drafts": drafts, "conflicts": out.conflicts}


def check_evidence(state: CodingState) -> dict[str, Any]:
    """Cite the chart for every draft; a draft left with no visible span is dropped and escalated."""
    assert state.chart is not None
    kept: list[DraftSuggestion] = []
    escalations: list[Escalation] = []
    for draft in state.drafts:
        spans: list[Evidence] = []
        for i in draft.decision.mention_ids:
            m = state.mentions[i]
            try:
                spans.append(cite(state.chart, m.doc_id, m.start, m.end))
            except EvidenceError as err:
                escalations.append(Escalation(reason="evidence_rejected", detail=str(err)))
        if spans:
            kept.append(draft.model_copy(update={"evidence": [s.model_dump() for s in spans]}))
        else:
            escalations.append(
                Escalation(reason="no_evidence", detail=f"{draft.code}: no citable chart text")
            )
    return {"drafts": kept, "escalations": state.escalations + escalations}


def score_and_route(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    settings = runtime.context.settings
    codeset = CodeSet.load()
    penalty = _document_penalty(state.chart)
    suggestions: list[Suggestion] = []
    for draft in state.drafts:
        mentions = [state.mentions[i] for i in draft.decision.mention_ids]
        checks = draft.checks
        score = confidence(
            draft.decision.match_score,
            mentions,
            [section_weight(m.section) for m in mentions],
            checks,
            penalty,
        )
        status = code_status(
            score, checks, draft.needs_review, settings.auto_threshold, settings.review_threshold
        )
        suggestions.append(
            Suggestion(
                code=draft.code,
                description=draft.description,
                role=draft.decision.role,
                confidence=score,
                status=status,
                evidence=[Evidence.model_validate(e) for e in draft.evidence],
                rationale=draft.decision.rationale,
                rules=checks,
            )
        )
    escalations = list(state.escalations)
    route: Route = "auto"
    for s in suggestions:
        if _SEVERITY[s.status] > _SEVERITY[route]:
            route = s.status
    if not suggestions and route == "auto":
        route = "review"
        escalations.append(
            Escalation(reason="no_codes", detail="no diagnosis asserted for coding was found")
        )
    if any(e.reason not in {"no_codes"} for e in escalations):
        route = "escalate"
    coded = {d.decision.mention_ids[0]: d.code for d in state.drafts}
    mentions_out = []
    for i, m in enumerate(state.mentions):
        codes = [coded[i]] if i in coded else [_billable_reading(codeset, m.codes[0])]
        mentions_out.append(
            MentionOut(
                text=m.text,
                doc_id=m.doc_id,
                start=m.start,
                end=m.end,
                assertion=m.assertion,
                section=m.section,
                codes=codes,
            )
        )
    result = ChartResult(
        chart_id=state.chart_id,
        run_id=state.run_id,
        setting=state.setting,
        code_set=CODE_SET_VERSION,
        rules_version=runtime.context.rules_version,
        reasoner=state.reasoner_name or runtime.context.reasoner.name,
        route=route,
        escalations=escalations,
        suggestions=suggestions,
        mentions=mentions_out,
    )
    return {"result": result, "escalations": escalations}


def _billable_reading(codeset: CodeSet, code: str) -> str:
    if codeset.is_billable(code):
        return code
    return codeset.unspecified_child(code) or code


def _encounter(chart: Chart) -> str | None:
    for name, pattern in _ENCOUNTER:
        if any(pattern.search(d.text) for d in chart.documents):
            return name
    return None


def _document_penalty(chart: Chart | None) -> float:
    """Lower confidence for text MuPDF had to repair or that came from OCR."""
    if chart is None:
        return 0.0
    penalty = 0.0
    if any(d.is_repaired for d in chart.documents):
        penalty += 0.1
    if any(p.ocr for d in chart.documents for p in d.pages):
        penalty += 0.1
    return penalty
