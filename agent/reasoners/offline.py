"""The deterministic reasoner: codes what the chart asserts, as a careful coder would, by the
ICD-10-CM Official Guidelines encoded in the rule packs under `rules/`.

It codes a mention only when it is asserted for the patient now: negated ("denies chest pain"),
family ("mother had breast cancer"), hypothetical ("return if fever"), historical ("h/o MI") and,
outside inpatient discharge documentation, uncertain ("rule out sleep apnea") mentions give no
code for the condition they name. Each mention takes its top-ranked candidate, which the term
index already made the most specific its words support; the guideline engine then applies the
rules (combination codes, symptoms, history and status codes, "use additional code", sequencing).
"""

from __future__ import annotations

from agent.reasoners.base import DecisionRequest, DecisionResult
from tools.rules.load import RuleSet


class OfflineReasoner:
    def __init__(self, rules: RuleSet | None = None) -> None:
        # Imported here: the engine's steps use the reasoner interface of this package.
        from agent.guidelines.engine import GuidelineEngine

        self._engine = GuidelineEngine(rules)

    @property
    def name(self) -> str:
        return "offline"

    def decide(self, request: DecisionRequest) -> DecisionResult:
        # Imported here for the same reason as the engine.
        from agent.guidelines.instructions import without_instructions

        # Text that addresses a coder or a model is not documentation (rules/injection.yaml).
        return self._engine.decide(without_instructions(request))
