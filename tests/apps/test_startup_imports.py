"""What `codesense code` imports on its way to the first code (issue 13, start-up).

Each heavy package below costs a cold process from 0.1 s to several seconds and is used only by
another surface or an optional feature (semantic retrieval, the LLM reasoner, the server, Slack,
dask, the eval plots) or not at all (medSpaCy's PyRuSH, QuickUMLS's nltk). A fresh Python
process codes one note and reports what it loaded; no timing is asserted (machines are noisy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import EXAMPLES, ROOT

# Not on the coding path of a text note. (pysbd is not listed: spaCy imports every package that
# declares a `spacy_factories` entry point when a pipeline is built, pysbd among them, ~40 ms.)
HEAVY = (
    "torch",
    "sentence_transformers",
    "chromadb",
    "openai",
    "fastapi",
    "uvicorn",
    "starlette",
    "slack_bolt",
    "slack_sdk",
    "aiohttp",
    "dask",
    "distributed",
    "matplotlib",
    "scipy",
    "sklearn",
    "nltk",
    "PyRuSH",
    "PyFastNER",
    "loguru",
    "pymupdf",
    "fitz",
    "psycopg",
    "simple_icd_10_cm",
    "fhir",
    # spaCy binds langcodes at import and uses it only for a language it has no module for;
    # its commands (`spacy.cli`: typer, jinja2, weasel) are for the terminal.
    "langcodes",
    "spacy.cli",
    "typer",
    "jinja2",
    "weasel",
    # httpx's command-line client and OpenTelemetry's SDK, imported under LangGraph by langsmith
    # (apps/lean_imports.py).
    "httpx._main",
    "opentelemetry.sdk.trace",
)


def _run(script: str, tmp_path: Path) -> dict[str, object]:
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REPORT": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(out.read_text())
    return report


def test_coding_one_note_loads_no_heavy_package(tmp_path: Path) -> None:
    report = _run(
        f"""
        import contextlib, io, json, os, sys
        from apps.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            status = main(["code", "--format", "json", {str(EXAMPLES / "ed_note.txt")!r}])
        heavy = {list(HEAVY)!r}
        json.dump(
            {{
                "status": status,
                "codes": [s["code"] for s in json.loads(out.getvalue())["suggestions"]],
                "loaded": sorted(m for m in heavy if sys.modules.get(m) is not None),
                "medspacy_init_ran": "medspacy.components" in sys.modules,
            }},
            open(os.environ["REPORT"], "w"),
        )
        """,
        tmp_path,
    )
    assert report["status"] == 0
    assert report["codes"], "the note was coded"
    assert report["loaded"] == []
    # Only the sectionizer and ConText were imported, not medSpaCy's whole `__init__`.
    assert report["medspacy_init_ran"] is False


def test_the_rest_of_medspacy_and_the_blocked_packages_still_import(tmp_path: Path) -> None:
    """After the coding path's partial import, `medspacy.load` (its `__init__`), a real nltk,
    spaCy's commands and langcodes still come when asked for; torch too, when it is installed
    (semantic retrieval)."""
    report = _run(
        """
        import importlib.util, json, os, sys
        from tools.extract.sections import clinical_nlp, import_medspacy
        import_medspacy()
        clinical_nlp()
        import medspacy
        loaded = callable(medspacy.load) and "medspacy.sentence_splitting" in sys.modules
        import nltk
        import spacy
        import spacy.cli
        from spacy.util import find_matching_language
        spacy_cli = callable(spacy.cli.download) and spacy.info()["spacy_version"] == spacy.__version__
        langcodes = find_matching_language("no") == "nb"
        torch = None
        if importlib.util.find_spec("torch") is not None:
            import torch as real_torch
            torch = hasattr(real_torch, "tensor")
        json.dump(
            {
                "load": loaded,
                "nltk": hasattr(nltk, "word_tokenize"),
                "torch": torch,
                "spacy_cli": spacy_cli,
                "langcodes": langcodes,
            },
            open(os.environ["REPORT"], "w"),
        )
        """,
        tmp_path,
    )
    assert report["load"] is True
    assert report["nltk"] is True
    assert report["spacy_cli"] is True
    assert report["langcodes"] is True
    assert report["torch"] in (True, None)


def test_code_collects_again_after_the_first_chart_and_closes_the_store(tmp_path: Path) -> None:
    """Collection is paused only while `code` loads and codes its first chart: afterwards it is
    on again with the loaded heap frozen; the store is closed at the end, so SQLite has folded
    its write-ahead log back into the database files (none is left beside them)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "cache").symlink_to(ROOT / ".codesense" / "cache", target_is_directory=True)
    report = _run(
        f"""
        import contextlib, gc, io, json, os
        os.environ["CODESENSE_DATA_DIR"] = {str(data)!r}
        from apps.cli import main
        files = [{str(EXAMPLES / "ed_note.txt")!r}, {str(EXAMPLES / "radiology_report.txt")!r}]
        with contextlib.redirect_stdout(io.StringIO()) as out:
            status = main(["code", "--format", "json", *files])
        json.dump(
            {{
                "status": status,
                "results": len(out.getvalue().splitlines()),
                "collecting": gc.isenabled(),
                "frozen": gc.get_freeze_count(),
            }},
            open(os.environ["REPORT"], "w"),
        )
        """,
        tmp_path,
    )
    assert report["status"] == 0
    assert report["results"] == 2
    assert report["collecting"] is True
    assert isinstance(report["frozen"], int) and report["frozen"] > 100_000
    assert sorted(p.name for p in data.glob("*.db*")) == ["checkpoints.db", "codesense.db"]


def test_the_parts_kept_out_under_langgraph_still_import_when_asked_for(tmp_path: Path) -> None:
    """httpx's command-line client and OpenTelemetry's SDK are refused only while httpx and
    langsmith's client import (apps/lean_imports.py); asked for afterwards, they are real."""
    report = _run(
        """
        import importlib.util, json, os, sys
        import apps.service
        kept_out = "httpx._main" not in sys.modules
        import httpx
        import httpx._main
        cli = httpx._main.main is not None and callable(httpx.main)
        otel = None
        if importlib.util.find_spec("opentelemetry") is not None:
            from opentelemetry.sdk.trace import TracerProvider
            otel = callable(TracerProvider)
        json.dump({"kept_out": kept_out, "cli": cli, "otel": otel}, open(os.environ["REPORT"], "w"))
        """,
        tmp_path,
    )
    assert report["kept_out"] is True
    assert report["cli"] is True
    assert report["otel"] in (True, None)
