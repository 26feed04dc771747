"""Clinical documentation integrity (CDI) queries: questions to the provider when the record
supports only an unspecified code (or a term with no code, "urosepsis") while clinical
indicators in the chart suggest more.

A query is built from a `cdi-query` rule: the condition as documented, the indicators found in
the chart cited as evidence spans, and multiple-choice options that always include "other" and
"clinically undetermined". The wording is fixed in the rule and checked at load, so a query
never leads to one answer and never mentions payment.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from core.contract import Evidence, Setting
from tools.chart import Chart
from tools.codeset import APRIL_UPDATE_START
from tools.evidence import EvidenceError, cite
from tools.rules.codes import shared_matcher
from tools.rules.load import RuleSet
from tools.rules.schema import CdiQuery
from tools.rules.text import DEFAULT_GUARD, compiled, find_text, sentence_ranges

MAX_INDICATOR_SPANS = 6


class CodedCondition(BaseModel):
    """A code on the chart's list and the chart text it rests on, as (doc_id, start, end)."""

    code: str
    spans: list[tuple[str, int, int]] = Field(default_factory=list)


class CdiInput(BaseModel):
    chart: Chart
    coded: list[CodedCondition]
    setting: Setting
    date_of_service: date | None = None


class CdiQueryOut(BaseModel):
    rule_id: str
    topic: str
    question: str
    options: list[str]
    codes: list[str]
    evidence: list[Evidence]


def find_queries(inp: CdiInput, rules: RuleSet) -> list[CdiQueryOut]:
    """Every query rule in force whose trigger and indicators are in the chart."""
    day = inp.date_of_service or APRIL_UPDATE_START
    queries: list[CdiQueryOut] = []
    for rule in rules.of_kind(CdiQuery, inp.setting, day):
        query = _query(inp, rule)
        if query is not None:
            queries.append(query)
    return queries


def _query(inp: CdiInput, rule: CdiQuery) -> CdiQueryOut | None:
    chart = inp.chart
    trigger_spans: list[tuple[str, int, int]] = []
    codes: list[str] = []
    if rule.when_coded:
        matcher = shared_matcher(tuple(rule.when_coded))
        for condition in inp.coded:
            if not matcher.matches(condition.code) or not condition.spans:
                continue
            if rule.unless_text and _said_in(chart, condition.spans, rule.unless_text):
                continue
            codes.append(condition.code)
            trigger_spans.extend(condition.spans)
    if rule.trigger_text:
        for m in find_text(chart, rule.trigger_text):
            trigger_spans.append((m.doc_id, m.start, m.end))
    if not trigger_spans:
        return None
    indicators: list[Evidence] = []
    labels = 0
    for indicator in rule.indicators:
        found = find_text(chart, indicator.pattern, guard=DEFAULT_GUARD)
        if not found:
            continue
        labels += 1
        for m in found[:2]:
            try:
                indicators.append(cite(chart, m.doc_id, m.start, m.end))
            except EvidenceError:
                continue
    if labels < rule.min_indicators:
        return None
    evidence: list[Evidence] = []
    for doc_id, start, end in trigger_spans[:3]:
        try:
            evidence.append(cite(chart, doc_id, start, end))
        except EvidenceError:
            continue
    evidence.extend(indicators[:MAX_INDICATOR_SPANS])
    return CdiQueryOut(
        rule_id=rule.id,
        topic=rule.topic,
        question=" ".join(rule.question.split()),
        options=list(rule.options),
        codes=list(dict.fromkeys(codes)),
        evidence=_unique(evidence),
    )


def _said_in(chart: Chart, spans: list[tuple[str, int, int]], pattern: str) -> bool:
    regex = compiled(pattern)
    for doc_id, start, end in sentence_ranges(chart, spans):
        if regex.search(chart.document(doc_id).text[start:end]):
            return True
    return False


def _unique(evidence: list[Evidence]) -> list[Evidence]:
    seen: set[tuple[str, int, int]] = set()
    out = []
    for e in evidence:
        key = (e.doc_id, e.start, e.end)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
