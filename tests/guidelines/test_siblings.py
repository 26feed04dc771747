"""Sibling codes chosen by the words of the clause (rules/guidelines/32-siblings.yaml): side,
eye abbreviations, stage, "with" / "without", site, coded through the whole graph. The notes are
written for these tests, none taken from the US development notes."""

from __future__ import annotations

import pytest

from tools.title_axes import with_without_axis

CASES = [
    # the side after the diagnosis, a single letter only beside a body part
    ("ASSESSMENT: Acute serous otitis media, right ear. Amoxicillin.\n", ["H65.01"], ["H65.02"]),
    ("ASSESSMENT: Primary osteoarthritis of L knee.\nPLAN: O2 2 L NC.\n", ["M17.12"], ["M17.11"]),
    # two sides documented for one condition: the bilateral code
    (
        "ASSESSMENT:\n1. Primary osteoarthritis of right knee.\n2. Primary osteoarthritis of "
        "left knee.\n",
        ["M17.0"],
        ["M17.11", "M17.12"],
    ),
    # each eye its own code when the severities differ
    (
        "ASSESSMENT:\n1. Type 2 diabetes mellitus with moderate nonproliferative diabetic "
        "retinopathy with macular edema, left eye.\n2. Type 2 diabetes mellitus with mild "
        "nonproliferative diabetic retinopathy without macular edema, right eye.\n",
        ["E11.3312", "E11.3291"],
        ["E11.3313", "E11.3293", "E11.3211"],
    ),
    # the stage and the eye of a glaucoma category
    ("IMPRESSION: Primary open-angle glaucoma OD, moderate stage.\n", ["H40.1112"], ["H40.1110"]),
    # "without" naming the code, not negating it
    ("ASSESSMENT: Migraine without aura, intractable. Sumatriptan.\n", ["G43.019"], ["G43.119"]),
    # a site an unspecified code leaves out
    ("ASSESSMENT: Cellulitis of LLE - cefazolin.\n", ["L03.116"], ["L03.90"]),
]


@pytest.mark.parametrize(("note", "expect", "reject"), CASES)
def test_clause_words_choose_the_sibling(code_note, note, expect, reject):
    codes = [s.code for s in code_note(note).suggestions]
    for code in expect:
        assert code in codes, f"{code} missing from {codes}"
    for code in reject:
        assert code not in codes, f"{code} in {codes}"


def test_a_negated_condition_stays_negated(code_note):
    """'Without' a condition the code's category has no axis for still negates it."""
    codes = [
        s.code for s in code_note("ASSESSMENT: Type 2 diabetes without retinopathy.\n").suggestions
    ]
    assert not any(c.startswith("E11.3") for c in codes), codes


def test_with_without_axis_is_read_from_the_titles():
    assert with_without_axis("E11.3412", "macular")
    assert with_without_axis("G43.11", "aura")
    assert not with_without_axis("I12", "chronic")
