"""Coding short notes through the whole graph, with the session's coding service."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from core.contract import ChartResult
from tools.chart import Chart
from tools.extract import text_document

NOTES_FILE = Path(__file__).with_name("notes.yaml")
NOTES: list[dict] = yaml.safe_load(NOTES_FILE.read_text(encoding="utf-8"))["notes"]


@pytest.fixture(scope="session")
def code_note(coder) -> Callable[[str, str], ChartResult]:
    def run(note: str, setting: str = "outpatient") -> ChartResult:
        chart = Chart(chart_id="note", documents=[text_document(note, "d1")])
        return coder.code(chart, setting)

    return run
