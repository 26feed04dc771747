"""The published JSON Schemas of what integrators receive, generated from the pydantic models.

Each schema is committed under `schema/` as `<name>.v<version>.json`, served at
`GET /v1/schema/{name}`, and checked in CI against the models (`codesense schema check`, and a
test): a change to a model without a regenerated schema fails the build. A change that removes
or retypes a field, or changes a field's meaning, is a new version (docs/output-contract.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from apps.metrics import Metrics
from core.contract import SCHEMA_VERSION, AuditReport, ReviewedChartResult, ReviewOutcome
from core.errors import CodeSenseError

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class UnknownSchema(CodeSenseError):
    """No published schema of that name."""


def published() -> dict[str, tuple[type[BaseModel], int, str]]:
    """name -> (model, version, what it describes)."""
    return {
        "chart-result": (
            ReviewedChartResult,
            SCHEMA_VERSION,
            "One coded chart: the output of `codesense code --format json`, "
            "`POST /v1/charts/code` and `GET /v1/runs/{id}` (with `review` once a person decided).",
        ),
        "review": (
            ReviewOutcome,
            SCHEMA_VERSION,
            "A reviewer's decision applied to a run: codes accepted, rejected, added; final codes.",
        ),
        "audit-findings": (
            AuditReport,
            1,
            "An Audit Sentinel report: assigned codes checked against the documentation, with "
            "findings, evidence, rule citations and the chart risk score "
            "(`POST /v1/audits`, `GET /v1/audits/{id}`, `codesense audit-codes --format json`).",
        ),
        "metrics": (
            Metrics,
            1,
            "The coding leaders' figures: `GET /v1/metrics`, `codesense metrics --format json`.",
        ),
    }


def file_name(name: str) -> str:
    _, version, _ = _entry(name)
    return f"{name}.v{version}.json"


def schema_document(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a published object, with its id and version."""
    model, version, description = _entry(name)
    body = model.model_json_schema(mode="serialization")
    return {
        "$schema": DIALECT,
        "$id": f"urn:codesense:schema:{name}:v{version}",
        "title": f"Code Sense {name} (version {version})",
        "description": description,
        **{k: v for k, v in body.items() if k not in ("title", "description")},
    }


def render(name: str) -> str:
    return json.dumps(schema_document(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale(folder: Path = SCHEMA_DIR) -> list[str]:
    """Published schemas whose committed file differs from what the models generate."""
    out = []
    for name in published():
        path = folder / file_name(name)
        if not path.is_file() or path.read_text(encoding="utf-8") != render(name):
            out.append(name)
    return out


def write_all(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in published():
        path = folder / file_name(name)
        text = render(name)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _entry(name: str) -> tuple[type[BaseModel], int, str]:
    entries = published()
    if name not in entries:
        raise UnknownSchema(f"no schema {name[:40]!r}; published: {', '.join(sorted(entries))}")
    return entries[name]
