"""The CI gate: a fixed slice of CodiEsp dev must score at least the floors in evals/gate.yaml."""

from __future__ import annotations

import os
from pathlib import Path

from evals.datasets import US_NOTES_DIR, resolve
from evals.gate import load_gate, run_gate, run_us_gate


def test_accuracy_holds_on_the_gate_slice(tmp_path: Path):
    gate = load_gate()
    # Never skipped: the project carries its evaluation sets (data/evals/); missing data fails.
    assert resolve(gate.dataset).is_file(), f"{gate.dataset}: the project's copy is missing"
    got, failures = run_gate(gate, tmp_path, Path(os.environ["CODESENSE_DATA_DIR"]))
    assert not failures, "; ".join(failures) + f" (figures: {got})"
    assert got["evidence_validity"] == 1.0


def test_us_notes_hold_their_floors(tmp_path: Path):
    gate = load_gate()
    # Never skipped either: the US development notes ship with the project.
    assert (US_NOTES_DIR / "part-A.jsonl.gz").is_file(), "the US development notes are missing"
    got, failures = run_us_gate(gate.us_dev, tmp_path, Path(os.environ["CODESENSE_DATA_DIR"]))
    assert not failures, "; ".join(failures) + f" (figures: {got})"


def test_gate_file_names_a_fixed_slice():
    gate = load_gate()
    assert len(gate.charts) == len(set(gate.charts)) >= 30
    assert gate.floors.micro_f1_valid > 0.3
