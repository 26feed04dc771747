"""`codesense eval` end to end on a tiny labelled set: records, report, resume after interruption."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ChartInputError
from evals import runner
from evals.datasets import load_jsonl
from evals.runner import PREDICTIONS_FILE, RUN_FILE, fingerprint, load_records
from tests.conftest import ROOT

CHARTS = [
    {
        "id": "c1",
        "text": "Assessment: type 2 diabetes with diabetic nephropathy. Hypertension.",
        "codes": ["E11.21", "I10"],
    },
    {
        "id": "c2",
        "text": "No evidence of pneumonia. Chronic cough for two months.",
        "codes": ["R05.9"],
        "evidence": [{"code": "R05.9", "start": 34, "end": 39}],
    },
    {
        "id": "c3",
        "text": "Fell from a ladder; fracture of the left femur. Hyperlipidemia.",
        "codes": ["S72.92XA", "E78.5"],
    },
]


def _eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", "eval", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CHARTS) + "\n", encoding="utf-8")
    return path


def test_eval_scores_and_writes_a_report(dataset: Path, tmp_path: Path):
    out = tmp_path / "run"
    proc = _eval(str(dataset), "--out", str(out), "--workers", "1", "--no-semantic")
    assert proc.returncode == 0, proc.stderr
    assert "tiny (3 charts, all-mentions): valid gold" in proc.stdout
    records = load_records(out)
    assert [r.id for r in records] == ["c1", "c2", "c3"]
    assert {"E11.21", "I10"} <= {s.code for s in records[0].suggestions}
    assert all(s.evidence_valid for r in records for s in r.suggestions)
    assert all(m.span_valid and m.candidates for r in records for m in r.mentions)
    # "no evidence of pneumonia" is still a mention (all-mentions mode scores it), negated.
    assert any(m.assertion == "negated" for m in records[1].mentions)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| all-mentions | valid gold |" in report and (out / "reliability.png").is_file()
    assert json.loads((out / RUN_FILE).read_text())["charts_timed"] == 3


def test_interrupted_run_resumes(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Other people's edits to the source must not restart this run midway through the test.
    monkeypatch.setattr(
        runner, "fingerprint", lambda setting, semantic=False, reasoner="offline": "fixed"
    )
    data_dir = Path(os.environ["CODESENSE_DATA_DIR"])
    charts = load_jsonl(dataset)
    records, info = runner.run_eval(charts[:1], tmp_path, "tiny", data_dir, workers=1)
    assert [r.id for r in records] == ["c1"] and info.charts_timed == 1
    # Interrupted while writing the next record: its half line is dropped and it is coded again.
    with (tmp_path / PREDICTIONS_FILE).open("ab") as f:
        f.write(b'{"id": "c2", "gold": [')
    seen: list[tuple[int, int]] = []
    records, info = runner.run_eval(
        charts, tmp_path, "tiny", data_dir, workers=1, progress=lambda d, t: seen.append((d, t))
    )
    assert [r.id for r in records] == ["c1", "c2", "c3"]
    assert info.charts_timed == 3 and seen[-1] == (3, 3)
    # Nothing left: nothing is coded again.
    records, info = runner.run_eval(charts, tmp_path, "tiny", data_dir, workers=1)
    assert info.charts_timed == 3 and len(load_records(tmp_path)) == 3


def test_changed_code_or_settings_start_over():
    assert fingerprint("outpatient") != fingerprint("inpatient")
    assert fingerprint("outpatient") != fingerprint("outpatient", semantic=True)
    # A model's records are not an offline run's, nor another model's.
    assert fingerprint("outpatient") != fingerprint("outpatient", reasoner="llm:m@http://h/v1")
    assert fingerprint("outpatient", reasoner="llm:a@u") != fingerprint(
        "outpatient", reasoner="llm:b@u"
    )


def test_plain_format_with_gold_evidence(dataset: Path):
    charts = load_jsonl(dataset)
    assert charts[1].evidence[0].code == "R05.9"
    assert load_jsonl(dataset, limit=1)[0].id == "c1"


def test_bad_dataset_line_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "x", "text": "t", "codes": ["I10"]}\n{"id": "y"}\n', encoding="utf-8")
    with pytest.raises(ChartInputError, match="bad.jsonl line 2"):
        load_jsonl(path)
