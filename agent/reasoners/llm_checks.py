"""Checking a model's codes against the chart before any of them stands, and merging them with the
offline draft.

A model's code stands only when it is an ICD-10-CM code validation accepts, cites span ids the
request had, rests on text that is not instruction-like, and is grounded: a mention inside the
cited spans has it among its candidates (or a more specific one below it), or the offline draft
chose it on text inside them. Its evidence is then those mentions, so the assertion guard judges
it like any code ("no CHF" cannot support I50.9). Every code that fails is dropped with its
reason. Where the model and the draft disagree, the code stays and goes to a coder for review.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.guidelines import mention_steps
from agent.guidelines.work import Work
from agent.reasoners.base import DecisionRequest, DecisionResult
from agent.state import CodeDecision, TextSpan
from agent.usage import CitedSpan, DroppedCode, DropReason
from core.codes import is_code, normalize, undot
from core.contract import RuleCheck
from tools.codeset import CodeSet
from tools.rules.load import RuleSet
from tools.spans import ChartView, NumberedSpan
from tools.untrusted import strip_hidden
from tools.validate import ProposedCode, ValidateInput, validate_codes

RATIONALE_CHARS = 400
DISAGREEMENT_RULE = "llm.disagreement"


class ModelCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="an ICD-10-CM code, e.g. E11.22")
    span_ids: list[int] = Field(description="ids of the spans that support the code")
    rationale: str = Field(description="why, in at most two sentences")
    role: Literal["principal", "secondary"]


class CodingAnswer(BaseModel):
    """The structured answer a model gives for a chart."""

    model_config = ConfigDict(extra="forbid")

    codes: list[ModelCode]


class Checked(BaseModel):
    decisions: list[CodeDecision]
    dropped: list[DroppedCode]


def check_answer(
    answer: CodingAnswer,
    request: DecisionRequest,
    draft: DecisionResult,
    view: ChartView,
    rules: RuleSet,
) -> Checked:
    """The model's codes that stand, as decisions on chart mentions, and those dropped, why."""
    codes = CodeSet.load()
    decisions: list[CodeDecision] = []
    dropped: list[DroppedCode] = []
    for given in answer.codes:
        code = normalize(given.code)
        cited = [view.span(i) for i in dict.fromkeys(given.span_ids)]
        spans = [s for s in cited if s is not None]
        refs = [CitedSpan(doc_id=s.doc_id, start=s.start, end=s.end) for s in spans]

        def drop(reason: DropReason, code: str = code, refs: list[CitedSpan] = refs) -> None:
            dropped.append(DroppedCode(code=code, reason=reason, spans=refs))

        if not is_code(code) or not codes.exists(code):
            drop("invalid_code")
        elif not given.span_ids:
            drop("no_span")
        elif len(spans) < len(cited):
            # A model citing text that was never shown to it is not citing the chart.
            drop("unknown_span")
        elif all(s.instruction_like for s in spans):
            drop("instruction_text")
        elif any(d.code == code for d in decisions):
            continue
        else:
            usable = [s for s in spans if not s.instruction_like]
            decision = _grounded(code, given, usable, request, draft)
            if decision is None:
                drop("not_grounded")
            else:
                decisions.append(decision)
    decisions = _validated(decisions, request, dropped)
    decisions = _guarded(decisions, request, rules, dropped)
    return Checked(decisions=decisions, dropped=dropped)


def _grounded(
    code: str,
    given: ModelCode,
    spans: list[NumberedSpan],
    request: DecisionRequest,
    draft: DecisionResult,
) -> CodeDecision | None:
    """The code as a decision on the mentions (and draft spans) inside `spans` that support it."""

    def inside(doc_id: str, start: int, end: int) -> bool:
        return any(s.doc_id == doc_id and s.start < end and start < s.end for s in spans)

    key = undot(code)
    mention_ids = [
        i
        for i, m in enumerate(request.mentions)
        if inside(m.doc_id, m.start, m.end)
        and any(undot(c.code).startswith(key) for c in m.candidates)
    ]
    # Chart-level candidates (semantic neighbours) name the mentions they were found for.
    for cand in request.candidates:
        if undot(cand.code).startswith(key):
            mention_ids += [
                i
                for i in cand.mention_ids
                if inside(
                    request.mentions[i].doc_id, request.mentions[i].start, request.mentions[i].end
                )
            ]
    text_spans: list[TextSpan] = []
    for d in draft.decisions:
        if d.code != code:
            continue
        mention_ids += [
            i
            for i in d.mention_ids
            if inside(
                request.mentions[i].doc_id, request.mentions[i].start, request.mentions[i].end
            )
        ]
        text_spans += [t for t in d.spans if inside(t.doc_id, t.start, t.end)]
    mention_ids = list(dict.fromkeys(mention_ids))
    if not mention_ids and not text_spans:
        return None
    rationale = " ".join(strip_hidden(given.rationale).split())[:RATIONALE_CHARS]
    return CodeDecision(
        code=code,
        mention_ids=mention_ids,
        spans=text_spans,
        role=given.role,
        rationale=f"Model: {rationale}" if rationale else "Model: (no rationale given)",
    )


def _validated(
    decisions: list[CodeDecision], request: DecisionRequest, dropped: list[DroppedCode]
) -> list[CodeDecision]:
    """Codes validation cannot stand (it returns no final code) are dropped."""
    if not decisions:
        return decisions
    out = validate_codes(
        ValidateInput(
            codes=[ProposedCode(code=d.code, role=d.role) for d in decisions],
            setting=request.setting,
        )
    )
    kept = []
    for decision, checked in zip(decisions, out.codes, strict=True):
        if checked.code is None:
            dropped.append(DroppedCode(code=decision.code, reason="invalid_code"))
        else:
            kept.append(decision)
    return kept


def _guarded(
    decisions: list[CodeDecision],
    request: DecisionRequest,
    rules: RuleSet,
    dropped: list[DroppedCode],
) -> list[CodeDecision]:
    """The assertion guard on the model's codes, so what it drops is recorded as the model's."""
    work = Work(request, rules, CodeSet.load())
    work.decisions = [d.model_copy(deep=True) for d in decisions]
    mention_steps.guard_assertions(work)
    standing = {d.code for d in work.decisions}
    for d in decisions:
        if d.code not in standing:
            dropped.append(
                DroppedCode(
                    code=d.code,
                    reason="assertion_guard",
                    spans=[
                        CitedSpan(
                            doc_id=request.mentions[i].doc_id,
                            start=request.mentions[i].start,
                            end=request.mentions[i].end,
                        )
                        for i in d.mention_ids
                    ],
                )
            )
    return work.decisions


def merge(draft: DecisionResult, model: list[CodeDecision]) -> list[CodeDecision]:
    """Codes both chose keep the draft's decision (its rules and sequencing) with the model's
    rationale added; a code only one of them chose goes to review, saying which."""
    by_code = {d.code: d for d in model}
    merged: list[CodeDecision] = []
    for d in draft.decisions:
        agreed = by_code.pop(d.code, None)
        if agreed is not None:
            merged.append(
                d.model_copy(update={"rationale": f"{d.rationale}. {agreed.rationale}"}, deep=True)
            )
        else:
            merged.append(_disputed(d, "the offline draft codes this; the model did not"))
    for d in model:
        if d.code in by_code:
            # Sequencing stays the draft's: a code it did not choose is never principal.
            merged.append(
                _disputed(
                    d.model_copy(update={"role": "secondary"}),
                    "the model codes this; the offline draft does not",
                )
            )
    return merged


def _disputed(decision: CodeDecision, why: str) -> CodeDecision:
    check = RuleCheck(id=DISAGREEMENT_RULE, result="warn", message=f"{why}: a coder decides")
    return decision.model_copy(
        update={
            "rules": [*decision.rules, check],
            "review_reasons": [*decision.review_reasons, why],
        },
        deep=True,
    )
