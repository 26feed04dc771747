"""The guideline test notes: short notes written for these tests, one or more per behaviour of
the ICD-10-CM Official Guidelines the rule packs encode, each asserting the codes that must be
suggested and the codes that must not."""

from __future__ import annotations

from collections import Counter

import pytest

from agent.guidelines.invariants import non_asserted_support
from tests.guidelines.conftest import NOTES

BEHAVIOURS = {
    "uncertain",
    "symptoms",
    "negated-family-history",
    "combination",
    "additional-codes",
    "code-first",
    "seventh-character",
    "sepsis",
    "neoplasm",
    "pregnancy",
    "status",
    "sources",
    "principal",
    "cdi",
}


def test_the_suite_covers_every_behaviour_with_enough_notes():
    assert len(NOTES) >= 60
    assert len({n["id"] for n in NOTES}) == len(NOTES)
    counts = Counter(n["behaviour"] for n in NOTES)
    assert set(counts) == BEHAVIOURS
    assert all(counts[b] >= 2 for b in BEHAVIOURS), counts
    # Every note says what must appear and what must not (codes, or CDI query topics).
    for n in NOTES:
        assert n.get("expect") or n.get("queries"), n["id"]
        assert n.get("reject") or n.get("no_queries"), n["id"]


@pytest.mark.parametrize("case", NOTES, ids=[n["id"] for n in NOTES])
def test_guideline_note(code_note, case):
    result = code_note(case["note"], case.get("setting", "outpatient"))
    codes = [s.code for s in result.suggestions]
    topics = {q.topic for q in result.queries}
    missing = [c for c in case.get("expect", []) if c not in codes]
    wrong = [c for c in case.get("reject", []) if c in codes]
    assert not missing and not wrong, f"got {codes}"
    if case.get("first"):
        assert codes and codes[0] == case["first"], f"got {codes}"
        assert result.suggestions[0].role == "principal"
    assert set(case.get("queries", [])) <= topics, topics
    assert not set(case.get("no_queries", [])) & topics, topics
    # No code rests on a negated, family, hypothetical or outpatient-uncertain mention, and
    # every quote is the chart text at its offsets.
    assert non_asserted_support(result) == []
    for s in result.suggestions:
        for e in s.evidence:
            assert case["note"][e.start : e.end] == e.quote
