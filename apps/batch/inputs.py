"""What a batch reads: a folder of chart files, a JSONL of charts, or a CSV manifest of paths.

Each chart becomes a `BatchItem` with a key that names it in the results file (the path
relative to the input, or the record's `id`), so a rerun can skip the charts already done and a
coding team can join results to its own list. Keys come from the caller's input; they are
written to the caller's results file only, never to logs or audit events.
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
from pydantic import BaseModel

from core.contract import Setting
from core.errors import ChartInputError

CHART_SUFFIXES = (".txt", ".pdf", ".json")


class BatchItem(BaseModel):
    key: str
    path: str | None = None
    text: str | None = None
    setting: Setting | None = None


def read_inputs(source: Path) -> list[BatchItem]:
    """The charts `source` names, in a stable order; a bad manifest is one clear error.

    Every path is made absolute here: a worker on another machine (or started in another folder)
    opens the chart at the path the batch names, so a relative one would name nothing there.
    """
    source = source.absolute()
    if source.is_dir():
        files = sorted(
            p
            for p in source.rglob("*")
            if p.is_file() and p.suffix.lower() in CHART_SUFFIXES and not p.name.startswith(".")
        )
        return [BatchItem(key=p.relative_to(source).as_posix(), path=str(p)) for p in files]
    if not source.is_file():
        raise ChartInputError(f"{source.name}: no such file or folder")
    suffix = source.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl(source)
    if suffix == ".csv":
        return _csv(source)
    raise ChartInputError(
        f"{source.name}: a batch reads a folder of charts, a .jsonl of charts or a .csv manifest"
    )


def _jsonl(path: Path) -> list[BatchItem]:
    items: list[BatchItem] = []
    seen: set[str] = set()
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise ChartInputError(f"{path.name} line {n}: not JSON") from None
            if not isinstance(rec, dict):
                raise ChartInputError(f"{path.name} line {n}: not a JSON object")
            key = str(rec.get("id") or f"line-{n}")
            text, file = rec.get("text"), rec.get("path")
            if not isinstance(text, str) and not isinstance(file, str):
                raise ChartInputError(f"{path.name} line {n}: needs a 'text' or a 'path'")
            if key in seen:
                raise ChartInputError(f"{path.name} line {n}: id {key!r} appears twice")
            seen.add(key)
            items.append(
                BatchItem(
                    key=key,
                    text=text if isinstance(text, str) else None,
                    path=str(_relative(path, file)) if isinstance(file, str) else None,
                    setting=_setting(rec.get("setting"), path, n),
                )
            )
    return items


def _csv(path: Path) -> list[BatchItem]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return _csv_rows(path, csv.DictReader(f))
    except UnicodeDecodeError:
        raise ChartInputError(f"{path.name}: not UTF-8 text") from None
    except csv.Error as err:
        raise ChartInputError(f"{path.name}: not a CSV manifest ({err})") from None


def _csv_rows(path: Path, reader: csv.DictReader[str]) -> list[BatchItem]:
    if reader.fieldnames is None or "path" not in reader.fieldnames:
        raise ChartInputError(f"{path.name}: a manifest needs a 'path' column (and 'id')")
    items: list[BatchItem] = []
    seen: set[str] = set()
    for n, row in enumerate(reader, start=2):
        file = (row.get("path") or "").strip()
        if not file:
            raise ChartInputError(f"{path.name} line {n}: empty path")
        key = (row.get("id") or "").strip() or file
        if key in seen:
            raise ChartInputError(f"{path.name} line {n}: id {key!r} appears twice")
        seen.add(key)
        items.append(
            BatchItem(
                key=key,
                path=str(_relative(path, file)),
                setting=_setting((row.get("setting") or "").strip() or None, path, n),
            )
        )
    return items


def _relative(manifest: Path, file: str) -> Path:
    p = Path(file)
    return p if p.is_absolute() else manifest.parent / p


def _setting(value: object, path: Path, n: int) -> Setting | None:
    if value is None:
        return None
    if value not in ("outpatient", "inpatient"):
        raise ChartInputError(f"{path.name} line {n}: setting must be outpatient or inpatient")
    return value
