"""The deterministic reasoner: codes what the chart asserts, as a careful coder would by default.

It codes a mention only when it is asserted for the patient now: negated ("denies chest pain"),
family ("mother had breast cancer"), hypothetical ("return if fever"), historical ("h/o MI") and,
outside inpatient discharge documentation, uncertain ("rule out sleep apnea") mentions give no
code. Each mention takes its top-ranked candidate, which the term index already made the most
specific its words support; a code that is an ancestor of another chosen code gives way to it.
"""

from __future__ import annotations

from agent.reasoners.base import DecisionRequest, DecisionResult
from agent.state import CodeDecision, Rejection
from tools.extract.sections import section_weight
from tools.mentions import Mention

# Sections where a provider states the diagnoses of the encounter; uncertain diagnoses written
# there at discharge are coded as if established in the inpatient setting (Section II.H, III.C).
DIAGNOSTIC_SECTIONS = frozenset({"discharge_diagnoses", "assessment_plan", "impression"})
MIN_SECTION_WEIGHT = 0.25


class OfflineReasoner:
    @property
    def name(self) -> str:
        return "offline"

    def decide(self, request: DecisionRequest) -> DecisionResult:
        by_code: dict[str, CodeDecision] = {}
        rejections: list[Rejection] = []
        for i, mention in enumerate(request.mentions):
            reason = _why_not_coded(mention, request.setting)
            if reason:
                rejections.append(Rejection(mention_id=i, reason=reason))
                continue
            best = mention.candidates[0]
            decision = by_code.get(best.code)
            if decision is None:
                by_code[best.code] = CodeDecision(
                    code=best.code,
                    mention_ids=[i],
                    rationale=(
                        f"'{mention.text}' ({mention.section.replace('_', ' ')}, "
                        f"{mention.assertion}) matches the {best.origin} term '{best.term}'"
                    ),
                    match_score=best.score,
                    encounter=request.encounter,
                )
            else:
                decision.mention_ids.append(i)
                decision.match_score = max(decision.match_score, best.score)
        decisions = _drop_ancestors(list(by_code.values()))
        decisions = _merge_into_diagnostic_statement(decisions, request.mentions)
        decisions = _drop_symptoms_outside_diagnoses(decisions, request.mentions, rejections)
        _assign_roles(decisions, request.mentions)
        return DecisionResult(decisions=decisions, rejections=rejections)


def _why_not_coded(mention: Mention, setting: str) -> str | None:
    match mention.assertion:
        case "negated":
            return "negated in the chart"
        case "family":
            return "family history, not the patient's own condition"
        case "hypothetical":
            return "hypothetical or conditional mention"
        case "historical":
            return "past condition, not documented as current"
        case "possible" if setting == "outpatient":
            return "uncertain diagnosis: not coded in the outpatient setting (Section IV.H)"
        case "possible" if mention.section not in DIAGNOSTIC_SECTIONS:
            return "uncertain diagnosis outside the discharge diagnostic statement"
    if section_weight(mention.section) < MIN_SECTION_WEIGHT:
        return f"mentioned only in {mention.section.replace('_', ' ')}"
    return None


def _drop_ancestors(decisions: list[CodeDecision]) -> list[CodeDecision]:
    """'E11' gives way to 'E11.22' when both are chosen: the specific code carries both mentions."""
    kept: list[CodeDecision] = []
    bare = {d.code: d.code.replace(".", "") for d in decisions}
    for d in decisions:
        child = next(
            (
                o
                for o in decisions
                if o is not d and bare[o.code].startswith(bare[d.code]) and o.code != d.code
            ),
            None,
        )
        if child is None:
            kept.append(d)
        else:
            child.mention_ids.extend(m for m in d.mention_ids if m not in child.mention_ids)
    return kept


def _merge_into_diagnostic_statement(
    decisions: list[CodeDecision], mentions: list[Mention]
) -> list[CodeDecision]:
    """One condition documented twice, vaguely in the history ("COPD") and precisely in the
    diagnoses ("COPD with acute exacerbation"), is coded once, to the diagnostic statement's code;
    the vaguer mention becomes more evidence for it. Same 3-character category is the test.
    """

    def stated(d: CodeDecision) -> bool:
        return any(mentions[i].section in DIAGNOSTIC_SECTIONS for i in d.mention_ids)

    kept: list[CodeDecision] = []
    for d in decisions:
        target = None
        if not stated(d):
            target = next(
                (o for o in decisions if o is not d and o.code[:3] == d.code[:3] and stated(o)),
                None,
            )
        if target is None:
            kept.append(d)
        else:
            target.mention_ids.extend(m for m in d.mention_ids if m not in target.mention_ids)
    return kept


def _drop_symptoms_outside_diagnoses(
    decisions: list[CodeDecision], mentions: list[Mention], rejections: list[Rejection]
) -> list[CodeDecision]:
    """Symptom codes (R00-R99) from the history or exam give way once the provider's diagnostic
    statement names a definitive diagnosis: the diagnosis accounts for them (Section I.B.4-5).
    A symptom the provider lists among the diagnoses is kept.
    """

    def stated_in_diagnoses(d: CodeDecision) -> bool:
        return any(mentions[i].section in DIAGNOSTIC_SECTIONS for i in d.mention_ids)

    if not any(not _is_symptom(d.code) and stated_in_diagnoses(d) for d in decisions):
        return decisions
    kept = []
    for d in decisions:
        if _is_symptom(d.code) and not stated_in_diagnoses(d):
            rejections.extend(
                Rejection(
                    mention_id=i,
                    reason="symptom outside the diagnostic statement, which names a definitive "
                    "diagnosis (Section I.B.4-5)",
                )
                for i in d.mention_ids
            )
        else:
            kept.append(d)
    return kept


def _is_symptom(code: str) -> bool:
    """Chapter 18 symptoms, and the joint and limb pain codes that are symptoms in all but name."""
    return code.startswith(("R", "M25.5", "M79.6"))


def _assign_roles(decisions: list[CodeDecision], mentions: list[Mention]) -> None:
    """First-listed: the first code stated in the diagnostic sections, else the first coded."""

    def order(d: CodeDecision) -> tuple[int, int]:
        firsts = [mentions[i] for i in d.mention_ids]
        in_dx = [m.start for m in firsts if m.section in DIAGNOSTIC_SECTIONS]
        return (0, min(in_dx)) if in_dx else (1, min(m.start for m in firsts))

    decisions.sort(key=order)
    for n, d in enumerate(decisions):
        d.role = "principal" if n == 0 else "secondary"
