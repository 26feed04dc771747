"""Graph nodes: thin adapters from the coding state to a tool's input and back.

Each node reads what earlier nodes wrote and returns only the fields it owns.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from agent.context import CodingContext
from agent.guidelines import delivery as guideline_delivery
from agent.reasoners import DecisionRequest
from agent.rerank import load_reranker, rerank_mentions, reranker_enabled
from agent.scoring import chart_route, code_status, confidence, features_for_draft
from agent.state import CodeCandidate, CodingState, DraftSuggestion
from core.contract import ChartResult, Escalation, Evidence, MentionOut, Suggestion
from tools.chart import Chart
from tools.codeset import APRIL_UPDATE_START, CODE_SET_VERSION, CodeSet
from tools.evidence import EvidenceError, cite
from tools.extract import ExtractInput, extract_chart, structure
from tools.folding import bidi_ranges
from tools.mentions import MentionsInput, find_mentions
from tools.rules.text import chart_facts
from tools.semantic import semantic_candidates, semantic_mentions
from tools.validate import ProposedCode, ValidateInput, validate_codes


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
        reordered = bidi_ranges(doc.text)
        if reordered:
            escalations.append(
                Escalation(
                    reason="bidi_controls",
                    detail=f"{doc.doc_id}: {len(reordered)} stretch(es) of text inside "
                    "right-to-left or override controls display in another order than they "
                    "are stored; that text is not coded",
                )
            )
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
    # With the semantic index on and a reranker that has a semantic model, the nearest codes in
    # meaning join the mentions' candidates, and phrases the term index matched nothing in
    # become mentions with only those; the reranker decides which of them are read.
    retriever = runtime.context.semantic
    model = load_reranker() if reranker_enabled() else None
    if retriever is not None and model is not None and model.semantic is not None:
        mentions = semantic_mentions(
            state.chart,
            mentions,
            runtime.context.index,
            retriever,
            runtime.context.settings.semantic_candidates,
        )
    # Each mention's reading is the reranker's best candidate (data/reranker.json), when shipped.
    return {"mentions": rerank_mentions(mentions, state.chart, model)}


def gather_candidates(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    """Chart-level candidate codes, each with every mention that could support it.

    With the semantic index on, the nearest codes in meaning join them, for mentions the term
    index matched thinly and for phrases it matched nothing in (those have no mention). They are
    candidates only: no mention's reading changes.
    """
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
    retriever = runtime.context.semantic
    if retriever is not None and state.chart is not None:
        found = semantic_candidates(
            state.chart,
            state.mentions,
            runtime.context.index,
            retriever,
            runtime.context.settings.semantic_candidates,
        )
        for mention_ids, cand in found:
            if cand.code not in by_code:
                by_code[cand.code] = CodeCandidate(
                    code=cand.code, mention_ids=mention_ids, best=cand
                )
    return {"candidates": list(by_code.values())}


def decide_codes(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    assert state.chart is not None
    reasoner = runtime.context.reasoner
    rules = runtime.context.rules
    facts = chart_facts(state.chart, rules, state.setting, APRIL_UPDATE_START)
    request = DecisionRequest(
        setting=state.setting,
        mentions=state.mentions,
        candidates=state.candidates,
        encounter=facts.encounter,
        chart=state.chart,
        facts=facts,
    )
    decided = reasoner.decide(request)
    # Whatever the reasoner chose, the guards have the last word: no code on negated, family,
    # hypothetical or uncertain mentions (rules/guidelines), none on instruction-like text.
    result = guideline_delivery.guard(request, decided, rules)
    return {
        "decisions": result.decisions,
        "rejections": result.rejections,
        "reasoner_name": reasoner.name,
        "facts": facts,
        "escalations": state.escalations + result.escalations,
        "usage": decided.activity.usage() if decided.activity else None,
    }


def validate_decisions(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
    rules = runtime.context.rules
    proposed = [
        ProposedCode(code=d.code, role=d.role, encounter=d.encounter) for d in state.decisions
    ]
    out = validate_codes(
        ValidateInput(codes=proposed, setting=state.setting, date_of_service=None), rules=rules
    )
    drafts = []
    incomplete: list[Escalation] = []
    for decision, checked in zip(state.decisions, out.codes, strict=True):
        if checked.code is None:
            # Never a category or a code short of its 7th character as a suggestion: the
            # chart did not say enough to complete it, so a coder chooses (the reasons list
            # the choices: laterality, encounter, type ...).
            incomplete.append(
                Escalation(
                    reason="incomplete_code",
                    detail=f"{decision.code}: " + "; ".join(checked.reasons or ["not billable"]),
                )
            )
            continue
        drafts.append(
            DraftSuggestion(
                decision=decision,
                code=checked.code or decision.code,
                description=checked.description or "",
                # The guideline rules that shaped the code, then validation's checks.
                checks=decision.rules + checked.checks,
                needs_review=(
                    checked.needs_review or checked.code is None or bool(decision.review_reasons)
                ),
                review_reasons=decision.review_reasons + checked.reasons,
            )
        )
    drafts, drg = guideline_delivery.apply_edits(state, drafts, rules)
    return {
        "drafts": drafts,
        "conflicts": out.conflicts,
        "drg": drg,
        "escalations": state.escalations + incomplete,
    }


def check_evidence(state: CodingState) -> dict[str, Any]:
    """Cite the chart for every draft; a draft left with no visible span is dropped and escalated."""
    assert state.chart is not None
    kept: list[DraftSuggestion] = []
    escalations: list[Escalation] = []
    for draft in state.drafts:
        spans: list[Evidence] = []
        for doc_id, start, end in guideline_delivery.decision_spans(state, draft.decision):
            try:
                spans.append(cite(state.chart, doc_id, start, end))
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
        checks = draft.checks
        score = confidence(features_for_draft(draft, state.mentions, penalty))
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
                hcc=draft.hcc,
            )
        )
    route, escalations = chart_route([s.status for s in suggestions], state.escalations)
    # A mention's codes: what it was coded to when it was coded as itself (present, or
    # uncertain at discharge); a family or past mention keeps its disease reading.
    coded = {
        d.decision.mention_ids[0]: d.code
        for d in state.drafts
        if d.decision.mention_ids
        and state.mentions[d.decision.mention_ids[0]].assertion in ("present", "possible")
    }
    mentions_out = []
    for i, m in enumerate(state.mentions):
        codes = [coded[i]] if i in coded else [_billable_reading(codeset, m.codes[0])]
        # Then the other readings the reranker lists beside it (agent/rerank.py): never billed.
        codes += [c for c in (_billable_reading(codeset, x) for x in m.codes[1:]) if c not in codes]
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
        queries=guideline_delivery.cdi_queries(state, runtime.context.rules),
        drg=state.drg,
    )
    return {"result": result, "escalations": escalations}


def _billable_reading(codeset: CodeSet, code: str) -> str:
    if codeset.is_billable(code):
        return code
    return codeset.unspecified_child(code) or code


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
