"""The order the guideline steps run in, and the engine that runs them on one chart.

1. mentions: reject by sense (the words mean something else where they stand), by assertion;
   code the rest; history codes for family and past conditions;
2. codes: most specific, one condition once, where a code may come from, default types, codes
   read from chart text, combination codes, symptoms, trimesters, "use additional code";
3. history codes kept only when relevant, then the assertion guard, the last word on what a
   code may rest on;
4. sequencing by the setting's rule.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.guidelines import (
    additional,
    combination,
    drugs,
    mention_steps,
    place,
    sequencing,
    seventh,
    siblings,
    sources,
    specificity,
    symptoms,
    transport,
)
from agent.guidelines.work import Work
from agent.reasoners.base import DecisionRequest, DecisionResult
from tools.codeset import CodeSet
from tools.rules.load import RuleSet, rule_set

Step = Callable[[Work], None]

STEPS: list[Step] = [
    mention_steps.mention_senses,
    mention_steps.suppress_mentions,
    mention_steps.code_mentions,
    specificity.most_specific,
    siblings.descend_by_words,
    specificity.default_codes,
    siblings.choose_by_words,
    specificity.merge_into_statement,
    sources.suppress_sources,
    specificity.recode,
    mention_steps.history_codes,
    additional.add_codes,
    place.place_of_occurrence,
    drugs.drug_effects,
    transport.transport_accidents,
    combination.combine,
    symptoms.symptoms,
    combination.trimester_specific,
    additional.require_codes,
    combination.combine,
    siblings.choose_by_words,
    combination.childbirth_specific,
    # Combination codes can make a category chosen earlier ("E11") an ancestor: once more.
    specificity.most_specific,
    seventh.seventh_characters,
    seventh.encounter_only,
    sources.suppress_when_text,
    mention_steps.history_relevance,
    mention_steps.guard_assertions,
    additional.encounter_notes,
    sequencing.sequence,
]


class GuidelineEngine:
    """Applies a rule set; build one per process (the rules reload when a pack file changes)."""

    def __init__(self, rules: RuleSet | None = None, codes: CodeSet | None = None) -> None:
        self._rules = rules
        self._codes = codes

    @property
    def rules(self) -> RuleSet:
        return self._rules if self._rules is not None else rule_set()

    def decide(self, request: DecisionRequest) -> DecisionResult:
        work = Work(request, self.rules, self._codes or CodeSet.load())
        for step in STEPS:
            step(work)
        return DecisionResult(
            decisions=work.decisions,
            rejections=[work.rejected[i] for i in sorted(work.rejected)],
        )
