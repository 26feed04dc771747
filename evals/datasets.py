"""Labelled chart sets for evaluation: the CodiEsp English loader and the plain JSONL format.

Plain format, one JSON object per line: {"id": str, "text": str, "codes": [str, ...]} with
ICD-10-CM codes (dotted or not). CodiEsp files (`../shared/data/codiesp-en/*.jsonl`) are read as
the same records, their diagnosis codes (`dx_codes`) as gold.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
from pydantic import BaseModel

from tools.errors import ChartInputError


class LabelledChart(BaseModel):
    id: str
    text: str
    codes: list[str]


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
                yield LabelledChart(id=str(row["id"]), text=row["text"], codes=codes)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ChartInputError(
                    f"{path.name} line {n}: not a labelled chart ({err.__class__.__name__})"
                ) from None
