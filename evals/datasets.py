"""Labelled chart sets for evaluation: the CodiEsp English loader and the plain JSONL format.

Plain format, one JSON object per line (anyone can produce it):

    {"id": "chart-1", "text": "...", "codes": ["E11.22", "N18.31"],
     "evidence": [{"code": "E11.22", "start": 120, "end": 151}]}

`codes` are ICD-10-CM codes, dotted or not; `evidence` is optional, character offsets into
`text`. CodiEsp files (`../shared/data/codiesp-en/{train,dev}.jsonl`) are read as the same records,
their diagnosis codes (`dx_codes`) as gold; their evidence offsets point into the Spanish original
(`text_es`), not the English text, so they are not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
from pydantic import BaseModel, Field

from core.errors import ChartInputError

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
# Short names for the corpora beside the project; anything else is a path to a JSONL file.
NAMED_DATASETS = {
    "codiesp-dev": SHARED_DATA / "codiesp-en" / "dev.jsonl",
    "codiesp-train": SHARED_DATA / "codiesp-en" / "train.jsonl",
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
    with path.open("rb") as f:
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
