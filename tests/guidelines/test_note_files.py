"""The short notes of the `*_notes.yaml` files beside this one (status and history, assertions
and word senses, the known US gaps): each note's codes must appear, its rejected codes must
not, and `first`, when given, must be listed first. One runner for every such file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

FILES = sorted(Path(__file__).parent.glob("*_notes.yaml"))
NOTES = [(f.stem, n) for f in FILES for n in yaml.safe_load(f.read_text(encoding="utf-8"))["notes"]]


def test_every_note_asserts_something():
    assert {"sense_notes", "status_notes", "gap_notes"} <= {f.stem for f in FILES}
    ids = [(stem, n["id"]) for stem, n in NOTES]
    assert len(set(ids)) == len(ids)
    for stem, n in NOTES:
        assert n.get("expect") or n.get("reject"), (stem, n["id"])


@pytest.mark.parametrize(("stem", "note"), NOTES, ids=[f"{s}:{n['id']}" for s, n in NOTES])
def test_note(code_note, stem, note):
    result = code_note(note["note"], note.get("setting", "outpatient"))
    codes = [s.code for s in result.suggestions]
    missing = [c for c in note.get("expect", []) if c not in codes]
    wrong = [c for c in note.get("reject", []) if c in codes]
    assert not missing and not wrong, f"missing {missing}, must not {wrong}; got {codes}"
    if "first" in note:
        assert codes and codes[0] == note["first"], f"first {note['first']}; got {codes}"
