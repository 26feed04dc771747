"""The assertion, word-sense, integral-symptom and specificity notes of sense_notes.yaml: each
note's codes must appear, its rejected codes must not, and `first` must be listed first."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

NOTES = yaml.safe_load(Path(__file__).with_name("sense_notes.yaml").read_text(encoding="utf-8"))[
    "notes"
]


def test_every_note_asserts_something():
    assert len({n["id"] for n in NOTES}) == len(NOTES)
    for n in NOTES:
        assert n.get("expect") or n.get("reject"), n["id"]


@pytest.mark.parametrize("note", NOTES, ids=[n["id"] for n in NOTES])
def test_sense_note(code_note, note):
    result = code_note(note["note"], note.get("setting", "outpatient"))
    codes = [s.code for s in result.suggestions]
    missing = [c for c in note.get("expect", []) if c not in codes]
    wrong = [c for c in note.get("reject", []) if c in codes]
    assert not missing and not wrong, f"missing {missing}, must not {wrong}; got {codes}"
    if "first" in note:
        assert codes and codes[0] == note["first"], f"first {note['first']}; got {codes}"
