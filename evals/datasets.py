"""Labelled chart sets for evaluation: the CodiEsp English loader and the plain JSONL format.

Plain format, one JSON object per line (anyone can produce it):

    {"id": "chart-1", "text": "...", "codes": ["E11.22", "N18.31"],
     "evidence": [{"code": "E11.22", "start": 120, "end": 151}]}

`codes` are ICD-10-CM codes, dotted or not; `evidence` is optional, character offsets into
`text`, optionally gzip-compressed (`.jsonl.gz`). The CodiEsp files the project carries
(`data/evals/codiesp-en/{train,dev}.jsonl.gz`, see data/evals/README.md) are read as the same records,
their diagnosis codes (`dx_codes`) as gold; their evidence offsets point into the Spanish original
(`text_es`), not the English text, so they are not used.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import orjson
from pydantic import BaseModel, Field

from core.errors import ChartInputError

EVAL_DATA = Path(__file__).resolve().parent.parent / "data" / "evals"
# Short names for the corpora the project carries; anything else is a path to a JSONL file.
NAMED_DATASETS = {
    "codiesp-dev": EVAL_DATA / "codiesp-en" / "dev.jsonl.gz",
    "codiesp-train": EVAL_DATA / "codiesp-en" / "train.jsonl.gz",
}
US_NOTES_DIR = EVAL_DATA / "us-notes-dev"
# The US note sets scored like a coder (evals/us_notes.py): the development set and check sets
# written later, each blind until its first score (data/evals/us-notes-fresh/README.md,
# data/evals/us-notes-blind2/README.md, data/evals/us-notes-blind3/README.md,
# data/evals/us-notes-blind4/README.md, data/evals/us-notes-blind5/README.md,
# data/evals/us-notes-blind6/README.md, data/evals/us-notes-blind7/README.md,
# data/evals/us-notes-radiology/README.md, data/evals/us-notes-radiology2/README.md,
# data/evals/us-notes-radiology3/README.md).
US_NOTE_SETS = {
    "us-dev": US_NOTES_DIR,
    "us-fresh": EVAL_DATA / "us-notes-fresh",
    "us-blind2": EVAL_DATA / "us-notes-blind2",
    "us-blind3": EVAL_DATA / "us-notes-blind3",
    "us-blind4": EVAL_DATA / "us-notes-blind4",
    "us-blind5": EVAL_DATA / "us-notes-blind5",
    "us-blind6": EVAL_DATA / "us-notes-blind6",
    "us-blind7": EVAL_DATA / "us-notes-blind7",
    "us-rad": EVAL_DATA / "us-notes-radiology",
    "us-rad2": EVAL_DATA / "us-notes-radiology2",
    "us-rad3": EVAL_DATA / "us-notes-radiology3",
}


class GoldSpan(BaseModel):
    code: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class LabelledChart(BaseModel):
    id: str
    text: str
    codes: list[str]
    evidence: list[GoldSpan] = Field(default_factory=list)


def resolve(dataset: str) -> Path:
    """A dataset name ("codiesp-dev") or path to its JSONL file."""
    return NAMED_DATASETS.get(dataset, Path(dataset))


def load_jsonl(path: Path, limit: int | None = None) -> list[LabelledChart]:
    return list(_iter(path, limit))


def _iter(path: Path, limit: int | None) -> Iterator[LabelledChart]:
    if not path.is_file():
        raise ChartInputError(f"{path.name}: no such dataset file")
    with open_lines(path) as f:
        for n, line in enumerate(f, start=1):
            if limit is not None and n > limit:
                return
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                codes = row.get("codes", row.get("dx_codes"))
                yield LabelledChart(
                    id=str(row["id"]),
                    text=row["text"],
                    codes=codes,
                    evidence=row.get("evidence") or [],
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ChartInputError(
                    f"{path.name} line {n}: not a labelled chart ({err.__class__.__name__})"
                ) from None


def open_lines(path: Path) -> BinaryIO:
    """A dataset file opened for reading bytes, decompressed when its name ends in `.gz`."""
    if path.suffix == ".gz":
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")
