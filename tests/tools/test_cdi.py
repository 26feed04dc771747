"""CDI queries: fired by an unspecified code (or an uncodable term) with clinical indicators in the
chart, citing them as evidence, non-leading, with 'other' and 'clinically undetermined', never
about payment."""

from __future__ import annotations

import re

import pytest

from tools.cdi import CdiInput, CodedCondition, find_queries
from tools.chart import Chart
from tools.extract import text_document
from tools.rules import rule_set
from tools.rules.schema import PAYMENT_WORDS, CdiQuery


def chart_of(text: str) -> Chart:
    return Chart(chart_id="c", documents=[text_document(text, "d1")])


def coded(text: str, code: str, phrase: str) -> CodedCondition:
    start = text.index(phrase)
    return CodedCondition(code=code, spans=[("d1", start, start + len(phrase))])


HF = "ASSESSMENT:\n1. Heart failure, on furosemide.\nLABS: BNP 1450. Echo EF 30%. No edema.\n"


def test_heart_failure_query_cites_the_indicators():
    queries = find_queries(
        CdiInput(
            chart=chart_of(HF), coded=[coded(HF, "I50.9", "Heart failure")], setting="outpatient"
        ),
        rule_set(),
    )
    [q] = queries
    assert q.rule_id == "cdi.heart-failure-type-acuity" and q.codes == ["I50.9"]
    quotes = [e.quote for e in q.evidence]
    assert quotes[0] == "Heart failure"
    assert "furosemide" in quotes and any(x.startswith("BNP") for x in quotes)
    assert "edema" not in quotes  # "No edema" is negated: not an indicator
    for e in q.evidence:
        assert HF[e.start : e.end] == e.quote


def test_no_query_without_indicators_or_when_specified():
    bare = "ASSESSMENT:\n1. Heart failure.\n"
    assert (
        find_queries(
            CdiInput(
                chart=chart_of(bare),
                coded=[coded(bare, "I50.9", "Heart failure")],
                setting="outpatient",
            ),
            rule_set(),
        )
        == []
    )
    assert (
        find_queries(
            CdiInput(
                chart=chart_of(HF),
                coded=[coded(HF, "I50.22", "Heart failure")],
                setting="outpatient",
            ),
            rule_set(),
        )
        == []
    )


def test_diabetes_type_query_only_when_the_type_is_not_stated():
    text = "ASSESSMENT:\n1. Diabetes mellitus, A1c 8.2, on metformin.\n"
    stated = "ASSESSMENT:\n1. Type 2 diabetes mellitus, A1c 8.2, on metformin.\n"
    rs = rule_set()
    q = find_queries(
        CdiInput(
            chart=chart_of(text), coded=[coded(text, "E11.9", "Diabetes")], setting="outpatient"
        ),
        rs,
    )
    assert [x.topic for x in q] == ["diabetes type"]
    q = find_queries(
        CdiInput(
            chart=chart_of(stated),
            coded=[coded(stated, "E11.9", "Type 2 diabetes")],
            setting="outpatient",
        ),
        rs,
    )
    assert q == []


def test_urosepsis_is_queried_from_the_text():
    text = "ASSESSMENT: Urosepsis. Temperature 38.9, WBC 17.\n"
    [q] = find_queries(CdiInput(chart=chart_of(text), coded=[], setting="inpatient"), rule_set())
    assert q.topic == "urosepsis" and q.evidence[0].quote == "Urosepsis"


@pytest.mark.parametrize(
    "rule", [r for r in rule_set().rules if isinstance(r, CdiQuery)], ids=lambda r: r.id
)
def test_every_query_is_compliant(rule):
    texts = [rule.topic, rule.question, *rule.options]
    assert not any(PAYMENT_WORDS.search(t) for t in texts)
    assert any(re.search(r"\bother\b", o, re.I) for o in rule.options)
    assert any("clinically undetermined" in o.lower() for o in rule.options)
    assert len(rule.options) >= 3
    # Non-leading: the question asks, it does not name one answer.
    assert "?" in rule.question
    assert not any(o.lower() in rule.question.lower() for o in rule.options if len(o) > 12)
