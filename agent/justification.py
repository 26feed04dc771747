"""Why each code: the justification a run leaves behind for its trace, taken from the final state.

For every suggested code: the chart spans it cites, the candidate it came from (the term that
matched, where that term comes from, its score) and the candidates of the same mentions it beat,
the rules it passed or warned on, its confidence and status. Mentions that gave no code are kept
with the reasoner's reason ("'chest pain' is negated"). Stored sealed: it quotes the chart.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.state import CodingState
from core.contract import Escalation, Evidence, RuleCheck
from tools.lookup import Candidate

MAX_BEATEN = 8


class CodeJustification(BaseModel):
    code: str
    description: str
    role: str
    status: str
    confidence: float
    rationale: str
    evidence: list[Evidence]
    mention_ids: list[int]
    chosen: Candidate | None = None
    beaten: list[Candidate] = Field(default_factory=list)
    # Guideline rules that produced or reshaped the code (a code read by a rule from the chart,
    # "s/p PCI" -> Z98.61, has no term candidate at all).
    guideline_rules: list[str] = Field(default_factory=list)
    rules: list[RuleCheck] = Field(default_factory=list)


class MentionNotCoded(BaseModel):
    text: str
    doc_id: str
    start: int
    end: int
    assertion: str
    section: str
    reason: str


class RunJustification(BaseModel):
    run_id: str
    chart_id: str
    setting: str
    route: str
    escalations: list[Escalation] = Field(default_factory=list)
    codes: list[CodeJustification] = Field(default_factory=list)
    not_coded: list[MentionNotCoded] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)


def justify(state: CodingState, versions: dict[str, str]) -> RunJustification:
    result = state.result
    if result is None:
        raise ValueError("a run without a result has nothing to justify")
    codes = []
    # score_and_route turns drafts into suggestions one for one, in order.
    for draft, suggestion in zip(state.drafts, result.suggestions, strict=False):
        candidates = [c for i in draft.decision.mention_ids for c in state.mentions[i].candidates]
        chosen = _chosen(candidates, draft.decision.code)
        beaten: dict[str, Candidate] = {}
        for c in sorted(candidates, key=lambda c: -c.score):
            if c.code != (chosen.code if chosen else None) and c.code not in beaten:
                beaten[c.code] = c
        codes.append(
            CodeJustification(
                code=suggestion.code,
                description=suggestion.description,
                role=suggestion.role,
                status=suggestion.status,
                confidence=suggestion.confidence,
                rationale=suggestion.rationale,
                evidence=suggestion.evidence,
                mention_ids=draft.decision.mention_ids,
                chosen=chosen,
                beaten=list(beaten.values())[:MAX_BEATEN],
                guideline_rules=[r.id for r in getattr(draft.decision, "rules", [])],
                rules=suggestion.rules,
            )
        )
    not_coded = []
    for rejection in state.rejections:
        if not 0 <= rejection.mention_id < len(state.mentions):
            continue
        m = state.mentions[rejection.mention_id]
        not_coded.append(
            MentionNotCoded(
                text=m.text,
                doc_id=m.doc_id,
                start=m.start,
                end=m.end,
                assertion=m.assertion,
                section=m.section,
                reason=rejection.reason,
            )
        )
    return RunJustification(
        run_id=result.run_id,
        chart_id=result.chart_id,
        setting=result.setting,
        route=result.route,
        escalations=result.escalations,
        codes=codes,
        not_coded=not_coded,
        versions=versions,
    )


def _chosen(candidates: list[Candidate], code: str) -> Candidate | None:
    """The best-scoring candidate for the decided code (the code itself, else its nearest kin)."""
    same = [c for c in candidates if c.code == code]
    kin = [c for c in candidates if code.startswith(c.code) or c.code.startswith(code)]
    pool = same or kin or candidates
    return max(pool, key=lambda c: c.score) if pool else None
