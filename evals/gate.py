"""The CI gate: a fixed slice of a labelled set, coded and scored, against floors in a file.

`evals/gate.yaml` names the charts and the lowest acceptable figures; `tests/evals/test_gate.py`
runs it in `make test`, so a change that costs accuracy fails the build. The slice is coded
without the semantic index (CI does not build it), with the term index the tests already use.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from evals.datasets import load_jsonl, resolve
from evals.runner import run_eval
from evals.summary import Mode, Summary, summarise
from tools.rulefiles import load_yaml_model

GATE_FILE = Path(__file__).resolve().parent / "gate.yaml"


class Floors(BaseModel):
    micro_f1_valid: float = Field(ge=0, le=1)
    micro_f1_category: float = Field(ge=0, le=1)
    recall_at_10: float = Field(ge=0, le=1)
    evidence_validity: float = Field(ge=0, le=1)
    mention_span_validity: float = Field(ge=0, le=1)


class USFloors(BaseModel):
    """The US development notes, guidelines mode: floors for what should rise, ceilings for
    what should fall (must_not share, non-billable suggestions)."""

    micro_f1: float = Field(ge=0, le=1)
    first_listed: float = Field(ge=0, le=1)
    max_must_not_share: float = Field(ge=0, le=1)
    max_non_billable: int = Field(ge=0)


class Gate(BaseModel):
    version: int
    dataset: str
    mode: Mode = "all-mentions"
    charts: list[str] = Field(min_length=1)
    floors: Floors
    us_dev: USFloors


def load_gate(path: Path = GATE_FILE) -> Gate:
    return load_yaml_model(path, Gate)


def figures(summary: Summary) -> dict[str, float]:
    head = summary.scorings[summary.mode]
    return {
        "micro_f1_valid": head["valid gold"].micro.f1,
        "micro_f1_category": head["category"].micro.f1,
        "recall_at_10": summary.recall_at_k[10],
        "evidence_validity": summary.evidence_validity,
        "mention_span_validity": summary.mention_span_validity,
    }


def run_gate(
    gate: Gate, out_dir: Path, data_dir: Path, workers: int | None = None
) -> tuple[dict[str, float], list[str]]:
    """The slice's figures and, for each below its floor, one line saying by how much."""
    wanted = set(gate.charts)
    charts = [c for c in load_jsonl(resolve(gate.dataset)) if c.id in wanted]
    missing = wanted - {c.id for c in charts}
    if missing:
        return {}, [f"{len(missing)} gate charts are not in {gate.dataset}"]
    records, info = run_eval(
        charts, out_dir, dataset=gate.dataset, data_dir=data_dir, workers=workers, semantic=False
    )
    got = figures(summarise(records, info, mode=gate.mode))
    failures = [
        f"{name} {got[name]:.4f} is below its floor {floor:.4f}"
        for name, floor in gate.floors.model_dump().items()
        if got[name] < floor
    ]
    return got, failures


def run_us_gate(
    floors: USFloors, out_dir: Path, data_dir: Path, workers: int | None = None
) -> tuple[dict[str, float], list[str]]:
    """Every US development note coded in its setting and scored; one line per figure out of
    bounds."""
    from evals.us_notes import code_us_notes, load_us_notes, summarise_us

    notes = load_us_notes()
    records = code_us_notes(notes, out_dir, data_dir, workers=workers, semantic=False)
    o = summarise_us(notes, records).overall
    got = {
        "micro_f1": o.scores.f1,
        "first_listed": o.first_listed,
        "must_not_share": o.must_not_share,
        "non_billable": float(o.non_billable),
    }
    failures = [
        f"{name} {got[name]:.4f} is below its floor {floor:.4f}"
        for name, floor in (("micro_f1", floors.micro_f1), ("first_listed", floors.first_listed))
        if got[name] < floor
    ] + [
        f"{name} {got[name]:.4f} is above its ceiling {cap:.4f}"
        for name, cap in (
            ("must_not_share", floors.max_must_not_share),
            ("non_billable", float(floors.max_non_billable)),
        )
        if got[name] > cap
    ]
    return got, failures
