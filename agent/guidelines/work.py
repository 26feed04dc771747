"""The working set of one chart's coding decisions while the guideline rules run over it.

Every step of the engine reads and rewrites the same `Work`: the mentions, the decisions so far,
the rejected mentions with their reasons, the chart facts, and helpers to match codes against a
rule's selectors, to find a code's sentences, and to record which rule did what to which code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, Field

from agent.state import CodeDecision, Rejection, TextSpan
from core.contract import CheckResult, RuleCheck
from core.errors import UnknownCode
from tools.codeset import APRIL_UPDATE_START, CodeSet
from tools.mentions import Mention
from tools.rulefiles import RULES_DIR, load_yaml_model
from tools.rules.codes import CodeMatcher
from tools.rules.codes import shared_matcher as shared_code_matcher
from tools.rules.load import RuleSet
from tools.rules.schema import AssertionGuard, RuleBase
from tools.rules.text import sentence_ranges

if TYPE_CHECKING:
    from agent.reasoners.base import DecisionRequest

R = TypeVar("R", bound=RuleBase)


class _Statements(BaseModel):
    statement_sections: list[str] = Field(min_length=1)


# The provider's diagnostic statement sections (rules/sections.yaml `statement_sections`).
STATEMENT_SECTIONS = tuple(
    load_yaml_model(RULES_DIR / "sections.yaml", _Statements).statement_sections
)
# Chapters whose codes never stand for a definitive diagnosis: external causes and factors.
# Family history may support family history codes even when no guard rule is in force.
FLOOR_FAMILY_ALLOWED = ("Z80-Z84",)
NOT_A_DIAGNOSIS = CodeMatcher(["V00-Y99", "Z00-Z99"])


@lru_cache(maxsize=4096)
def shared_matcher(selectors: tuple[str, ...], codes: CodeSet) -> CodeMatcher:
    """The matcher of a selector list against this code set, shared by every chart (and with
    the rule checks); cached here too, by the code set, as every step asks for it."""
    return shared_code_matcher(selectors, codes.is_manifestation)


class Work:
    def __init__(self, request: DecisionRequest, rules: RuleSet, codes: CodeSet) -> None:
        self.request = request
        self.rules = rules
        self.codes = codes
        self.setting = request.setting
        self.on: date = request.on or APRIL_UPDATE_START
        # A copy: sense rules may re-read a mention (a current complaint written "history of").
        self.mentions: list[Mention] = list(request.mentions)
        self.facts = request.facts
        self.encounter = request.facts.encounter or request.encounter
        self.decisions: list[CodeDecision] = []
        self.rejected: dict[int, Rejection] = {}
        self._matchers: dict[int, tuple[Sequence[str], CodeMatcher]] = {}
        self._doc_order = {
            d.doc_id: n for n, d in enumerate(request.chart.documents if request.chart else [])
        }

    # --- rules and codes ------------------------------------------------------------------

    def in_force(self, kind: type[R]) -> list[R]:
        return self.rules.of_kind(kind, self.setting, self.on)

    def matcher(self, selectors: Sequence[str]) -> CodeMatcher:
        # Steps ask with a rule's own selector list, a few hundred times a chart: found by the
        # list's identity (kept here, so the identity stays its own) before the shared cache.
        known = self._matchers.get(id(selectors))
        if known is not None and known[0] is selectors:
            return known[1]
        matcher = shared_matcher(tuple(selectors), self.codes)
        self._matchers[id(selectors)] = (selectors, matcher)
        return matcher

    def coded(self, selectors: Sequence[str]) -> list[CodeDecision]:
        m = self.matcher(selectors)
        return [d for d in self.decisions if m.matches(d.code)]

    def known(self, code: str) -> str | None:
        """The code in canonical form if the code set has it (a category counts: validation
        makes it specific), else None."""
        try:
            return self.codes.get(code).code
        except UnknownCode:
            return None

    def description(self, code: str) -> str:
        try:
            return self.codes.title(code)
        except UnknownCode:
            return ""

    # --- decisions ------------------------------------------------------------------------

    def find(self, code: str) -> CodeDecision | None:
        return next((d for d in self.decisions if d.code == code), None)

    def add(
        self,
        code: str,
        rationale: str,
        mention_ids: Iterable[int] = (),
        spans: Iterable[TextSpan] = (),
        match_score: float = 0.9,
    ) -> CodeDecision:
        """A new decision, or more evidence for the existing decision of the same code."""
        existing = self.find(code)
        if existing is not None:
            self.absorb(existing, mention_ids, spans)
            return existing
        decision = CodeDecision(
            code=code,
            mention_ids=list(dict.fromkeys(mention_ids)),
            spans=list(spans),
            rationale=rationale,
            match_score=match_score,
            encounter=self.encounter,
        )
        self.decisions.append(decision)
        return decision

    @staticmethod
    def absorb(
        target: CodeDecision, mention_ids: Iterable[int] = (), spans: Iterable[TextSpan] = ()
    ) -> None:
        target.mention_ids.extend(i for i in mention_ids if i not in target.mention_ids)
        target.spans.extend(s for s in spans if s not in target.spans)

    def remove(self, decision: CodeDecision, into: CodeDecision | None = None) -> None:
        """Drop a decision; its evidence moves to `into` when the two are one condition."""
        self.decisions = [d for d in self.decisions if d is not decision]
        if into is not None:
            self.absorb(into, decision.mention_ids, decision.spans)

    def recode(self, decision: CodeDecision, code: str) -> CodeDecision:
        """The decision now reads `code`; when another decision already has it, the two are one
        condition and that one takes this one's evidence. Returns the decision that holds it."""
        existing = self.find(code)
        if existing is not None and existing is not decision:
            self.remove(decision, into=existing)
            return existing
        decision.code = code
        return decision

    def reject(self, mention_id: int, reason: str, rule_id: str | None) -> None:
        if mention_id not in self.rejected:
            self.rejected[mention_id] = Rejection(
                mention_id=mention_id, reason=reason, rule_id=rule_id
            )

    def unreject(self, mention_id: int) -> None:
        self.rejected.pop(mention_id, None)

    @staticmethod
    def note(
        decision: CodeDecision, rule: RuleBase, message: str, result: CheckResult = "pass"
    ) -> None:
        check = RuleCheck(id=rule.id, result=result, message=f"{message} ({rule.citation})")
        if check not in decision.rules:
            decision.rules.append(check)

    # --- where a decision sits in the chart ------------------------------------------------

    def forbidden(self, assertion: str, section: str) -> bool:
        """An assertion no code may rest on here (uncertain: outpatient, or outside the
        inpatient discharge statement)."""
        if assertion in ("negated", "family", "hypothetical"):
            return True
        if assertion == "possible":
            return self.setting == "outpatient" or section not in STATEMENT_SECTIONS
        return False

    def blocked(self, doc_id: str, start: int, end: int) -> str | None:
        """The assertion of a mention overlapping this text that no code may rest on, if any:
        "bone metastases" read by a rule pattern inside "suspected bone metastases"."""
        for m in self.mentions:
            overlaps = m.doc_id == doc_id and m.start < end and start < m.end
            if overlaps and self.forbidden(m.assertion, m.section):
                return m.assertion
        return None

    def may_rest_on(self, assertion: str, code: str) -> bool:
        """The floor or an assertion-guard rule lets this code rest on a mention of this
        assertion (family history -> Z80-Z84; the condition a screening looks for -> the
        screening code)."""
        selectors = list(FLOOR_FAMILY_ALLOWED) if assertion == "family" else []
        for g in self.in_force(AssertionGuard):
            selectors += [s for a, listed in g.allow.items() if a == assertion for s in listed]
        return bool(selectors) and self.matcher(selectors).matches(code)

    def stated_in(self, decision: CodeDecision, sections: Sequence[str]) -> bool:
        return any(self.mentions[i].section in sections for i in decision.mention_ids)

    def position(self, decision: CodeDecision) -> tuple[int, int]:
        places = [
            (self._doc_order.get(self.mentions[i].doc_id, 0), self.mentions[i].start)
            for i in decision.mention_ids
        ] + [(self._doc_order.get(s.doc_id, 0), s.start) for s in decision.spans]
        return min(places, default=(0, 0))

    def spans_of(self, decisions: Iterable[CodeDecision]) -> list[tuple[str, int, int]]:
        spans: list[tuple[str, int, int]] = []
        for d in decisions:
            spans.extend(
                (self.mentions[i].doc_id, self.mentions[i].start, self.mentions[i].end)
                for i in d.mention_ids
            )
            spans.extend((s.doc_id, s.start, s.end) for s in d.spans)
        return spans

    def sentences_of(self, decisions: Iterable[CodeDecision]) -> list[tuple[str, int, int]]:
        """The sentences of the decisions' mentions and spans (doc_id, start, end)."""
        chart = self.request.chart
        spans = self.spans_of(decisions)
        if chart is None:
            return [
                (
                    self.mentions[i].doc_id,
                    self.mentions[i].sentence_start,
                    self.mentions[i].sentence_end,
                )
                for d in decisions
                for i in d.mention_ids
            ]
        return sentence_ranges(chart, spans)

    def sentences_of_span(self, doc_id: str, start: int, end: int) -> list[tuple[str, int, int]]:
        """The sentence (doc_id, start, end) holding one span of chart text."""
        chart = self.request.chart
        return sentence_ranges(chart, [(doc_id, start, end)]) if chart is not None else []

    def sentence_text(self, decisions: Iterable[CodeDecision]) -> str:
        chart = self.request.chart
        if chart is None:
            return " ".join(self.mentions[i].text for d in decisions for i in d.mention_ids)
        return " \n ".join(
            chart.document(doc_id).text[s:e] for doc_id, s, e in self.sentences_of(decisions)
        )

    def mention_sentence(self, mention_id: int) -> str:
        m = self.mentions[mention_id]
        chart = self.request.chart
        if chart is None:
            return m.text
        return chart.document(m.doc_id).text[m.sentence_start : m.sentence_end]
