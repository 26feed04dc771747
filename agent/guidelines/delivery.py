"""What the coding graph's nodes ask of the rule packs besides the reasoner's decisions: the chart
facts, the assertion guard on any reasoner's choices, the claim edits and HCC flags with their
MEAT evidence, and the CDI queries. Nodes call these; each returns plain state values.
"""

from __future__ import annotations

from agent.guidelines import mention_steps
from agent.guidelines.instructions import guard_instructions
from agent.guidelines.work import Work
from agent.reasoners.base import DecisionRequest, DecisionResult
from agent.state import CodeDecision, CodingState, DraftSuggestion
from core.contract import DrgSummary, Query
from tools.cdi import CdiInput, CodedCondition, find_queries
from tools.codeset import APRIL_UPDATE_START, CodeSet
from tools.edits import EditInput, hcc_check, meat_evidence, run_edits
from tools.rules.load import RuleSet
from tools.rules.schema import Hcc


def guard(request: DecisionRequest, result: DecisionResult, rules: RuleSet) -> DecisionResult:
    """Whatever the reasoner, no code keeps a negated, family (except Z80-Z84), hypothetical
    or outpatient-uncertain mention as support, nor instruction-like text ("assign C25.9"); a
    code left with nothing is dropped. The reasoner's escalations and activity pass through."""
    work = Work(request, rules, CodeSet.load())
    work.decisions = [d.model_copy(deep=True) for d in result.decisions]
    work.rejected = {r.mention_id: r for r in result.rejections}
    mention_steps.guard_assertions(work)
    escalations = guard_instructions(work)
    return DecisionResult(
        decisions=work.decisions,
        rejections=[work.rejected[i] for i in sorted(work.rejected)],
        escalations=result.escalations + [e for e in escalations if e not in result.escalations],
        activity=result.activity,
    )


def decision_spans(state: CodingState, decision: CodeDecision) -> list[tuple[str, int, int]]:
    spans = [
        (state.mentions[i].doc_id, state.mentions[i].start, state.mentions[i].end)
        for i in decision.mention_ids
    ]
    spans += [(s.doc_id, s.start, s.end) for s in decision.spans]
    return list(dict.fromkeys(spans))


def apply_edits(
    state: CodingState, drafts: list[DraftSuggestion], rules: RuleSet
) -> tuple[list[DraftSuggestion], DrgSummary | None]:
    """MCE edits and, inpatient, MS-DRG with CC/MCC, on the codes that stand (in sequence
    order); CMS-HCC flags with the MEAT evidence from the chart. Results join each draft's
    checks."""
    codeset = CodeSet.load()
    standing = [n for n, d in enumerate(drafts) if codeset.is_billable(d.code)]
    if not standing:
        return drafts, None
    facts = state.facts
    out = run_edits(
        EditInput(
            codes=[drafts[n].code for n in standing],
            setting=state.setting,
            age=facts.age,
            sex="male" if facts.sex == "male" else "female" if facts.sex == "female" else None,
        ),
        rules,
    )
    hcc_rules = rules.of_kind(Hcc, state.setting, APRIL_UPDATE_START)
    updated = list(drafts)
    for n, checks, flag in zip(standing, out.checks, out.hcc, strict=True):
        draft = drafts[n]
        extra = list(checks)
        if flag is not None and hcc_rules and state.chart is not None:
            flag.meat = meat_evidence(
                state.chart, decision_spans(state, draft.decision), hcc_rules[0]
            )
            extra.append(hcc_check(hcc_rules[0], draft.code, flag))
        updated[n] = draft.model_copy(update={"checks": draft.checks + extra, "hcc": flag})
    return updated, out.drg


def cdi_queries(state: CodingState, rules: RuleSet) -> list[Query]:
    """Documentation queries for the chart's final codes."""
    if state.chart is None:
        return []
    coded = [
        CodedCondition(code=d.code, spans=decision_spans(state, d.decision)) for d in state.drafts
    ]
    found = find_queries(CdiInput(chart=state.chart, coded=coded, setting=state.setting), rules)
    return [
        Query(
            topic=q.topic,
            question=q.question,
            evidence=q.evidence,
            options=q.options,
            codes=q.codes,
            rule_id=q.rule_id,
        )
        for q in found
    ]
