"""Scoring of the US development notes: optional codes, first-listed, must_not, non-billable."""

from __future__ import annotations

import pytest

from core.errors import ChartInputError
from evals.datasets import US_NOTE_SETS
from evals.runner import ChartRecord, SuggestionRecord
from evals.us_notes import USNote, load_us_notes, render_us_markdown, summarise_us


def _sugg(code: str) -> SuggestionRecord:
    return SuggestionRecord(
        code=code, confidence=0.5, status="review", features={}, evidence_valid=True, mentions=1
    )


def _note(**kw) -> USNote:
    base = {"id": "n1", "part": "A", "setting": "outpatient", "text": "x", "gold": ["I10"]}
    return USNote(**(base | kw))


def test_optional_codes_are_neither_right_nor_wrong():
    note = _note(gold=["J4540", "Z7951"], optional=["Z7951", "R918"], must_not=["J45909"])
    rec = ChartRecord(id="n1", gold=[], suggestions=[_sugg(c) for c in ("J45.40", "R91.8")])
    s = summarise_us([note], {"n1": rec})
    assert (s.overall.scores.tp, s.overall.scores.fp, s.overall.scores.fn) == (1, 0, 0)
    assert s.overall.first_listed == 1.0 and s.overall.must_not == 0


def test_first_listed_must_not_and_non_billable_are_counted():
    note = _note(gold=["S82231B", "V2349XA"], must_not=["S82231A"], traps=["laterality"])
    rec = ChartRecord(
        id="n1", gold=[], suggestions=[_sugg(c) for c in ("V23.49XA", "S82.231A", "S82")]
    )
    s = summarise_us([note], {"n1": rec})
    o = s.overall
    assert not s.notes[0].first_right and o.first_listed == 0.0
    assert o.must_not == 1 and o.must_not_share == round(1 / 3, 4)
    assert o.non_billable == 1 and s.notes[0].non_billable == ["S82"]
    assert s.traps[0].trap == "laterality" and s.traps[0].found == 1 and s.traps[0].gold == 2
    assert "| A primary care | 1 |" in render_us_markdown(s)


def test_a_note_not_coded_counts_every_gold_code_missed():
    s = summarise_us([_note(gold=["I10", "E785"])], {})
    assert s.overall.scores.fn == 2 and s.overall.first_listed == 0.0


def test_the_shipped_notes_load_with_their_settings():
    notes = load_us_notes()
    assert len(notes) == 78
    assert {n.part for n in notes} == set("ABCD")
    assert all(n.setting == "inpatient" for n in notes if n.part == "C")
    assert any(n.optional for n in notes)


def _ids_elsewhere(name: str) -> set[str]:
    """The note ids of every named US set but this one: a check set shares no note."""
    return {
        note.id
        for other, folder in US_NOTE_SETS.items()
        if other != name
        for note in load_us_notes(folder)
    }


def test_the_fresh_check_set_is_a_named_set_apart_from_the_dev_notes():
    fresh = load_us_notes(US_NOTE_SETS["us-fresh"])
    assert len(fresh) == 24 and {n.part for n in fresh} == set("ABCD")
    assert all(n.setting == "inpatient" for n in fresh if n.part == "C")
    assert not {n.id for n in fresh} & _ids_elsewhere("us-fresh")
    assert summarise_us(fresh, {}, "us-fresh").dataset == "us-fresh"


def test_the_second_blind_set_is_a_named_set_apart_from_the_others():
    blind = load_us_notes(US_NOTE_SETS["us-blind2"])
    assert len(blind) == 30 and {n.part for n in blind} == set("ABCD")
    assert all(n.setting == "inpatient" for n in blind if n.part == "C")
    assert not {n.id for n in blind} & _ids_elsewhere("us-blind2")
    assert summarise_us(blind, {}, "us-blind2").dataset == "us-blind2"


def test_the_third_blind_set_is_a_named_set_apart_from_the_others():
    blind = load_us_notes(US_NOTE_SETS["us-blind3"])
    assert len(blind) == 30 and {n.part for n in blind} == set("ABCD")
    assert all(n.setting == "inpatient" for n in blind if n.part == "C")
    assert not {n.id for n in blind} & _ids_elsewhere("us-blind3")
    assert summarise_us(blind, {}, "us-blind3").dataset == "us-blind3"


def test_the_fourth_blind_set_is_a_named_set_apart_from_the_others():
    blind = load_us_notes(US_NOTE_SETS["us-blind4"])
    assert len(blind) == 30 and {n.part for n in blind} == set("ABCD")
    assert all(n.setting == "inpatient" for n in blind if n.part == "C")
    assert not {n.id for n in blind} & _ids_elsewhere("us-blind4")
    assert summarise_us(blind, {}, "us-blind4").dataset == "us-blind4"


def test_the_fifth_blind_set_is_a_named_set_apart_from_the_others():
    blind = load_us_notes(US_NOTE_SETS["us-blind5"])
    assert len(blind) == 30 and {n.part for n in blind} == set("ABCD")
    assert all(n.setting == "inpatient" for n in blind if n.part == "C")
    assert not {n.id for n in blind} & _ids_elsewhere("us-blind5")
    assert summarise_us(blind, {}, "us-blind5").dataset == "us-blind5"


def test_the_sixth_blind_set_is_a_named_set_apart_from_the_others():
    blind = load_us_notes(US_NOTE_SETS["us-blind6"])
    assert len(blind) == 30 and {n.part for n in blind} == set("ABCD")
    assert all(n.setting == "inpatient" for n in blind if n.part == "C")
    assert not {n.id for n in blind} & _ids_elsewhere("us-blind6")
    assert summarise_us(blind, {}, "us-blind6").dataset == "us-blind6"


def test_the_seventh_blind_set_is_a_named_set_apart_from_the_others():
    blind = load_us_notes(US_NOTE_SETS["us-blind7"])
    assert len(blind) == 30 and {n.part for n in blind} == set("ABCD")
    assert all(n.setting == "inpatient" for n in blind if n.part == "C")
    assert not {n.id for n in blind} & _ids_elsewhere("us-blind7")
    assert summarise_us(blind, {}, "us-blind7").dataset == "us-blind7"


@pytest.mark.parametrize("name", ["us-rad", "us-rad2", "us-rad3"])
def test_the_radiology_sets_are_their_own_part_and_apart_from_the_others(name):
    rad = load_us_notes(US_NOTE_SETS[name])
    assert len(rad) == 30 and {n.part for n in rad} == {"R"}
    assert all(n.setting == "outpatient" and n.note_type == "radiology report" for n in rad)
    assert not {n.id for n in rad} & _ids_elsewhere(name)
    assert set(summarise_us(rad, {}, name).parts) == {"R"}


def test_a_folder_without_note_files_is_a_clear_error(tmp_path):
    with pytest.raises(ChartInputError, match="no US notes files"):
        load_us_notes(tmp_path)
