"""`codesense eval --reasoner llm` through the command line against the scripted endpoint on
loopback: accuracy beside tokens and latency per chart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evals.scripted_llm import ScriptedLlm
from evals.scripted_models import cooperative
from tests.conftest import ROOT
from tests.evals.test_runner import CHARTS


def test_eval_with_a_model_reports_cost_and_latency(tmp_path: Path):
    dataset = tmp_path / "tiny.jsonl"
    dataset.write_text("\n".join(json.dumps(c) for c in CHARTS) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    with ScriptedLlm(cooperative) as llm:
        env = dict(
            os.environ,
            CODESENSE_LLM_BASE_URL=llm.base_url,
            CODESENSE_LLM_MODEL="scripted-cooperative",
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "apps.cli",
                "eval",
                str(dataset),
                "--out",
                str(out),
                "--workers",
                "1",
                "--no-semantic",
                "--reasoner",
                "llm",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr
    assert "model scripted-cooperative:" in proc.stdout and "tokens a chart" in proc.stdout
    # Two requests a chart (tools, then the answer).
    assert len(llm.requests) == 2 * len(CHARTS)
    summary = json.loads((out / "summary.json").read_text())
    cost = summary["model_cost"]
    assert cost["charts"] == 3 and cost["fallbacks"] == 0
    assert cost["prompt_tokens"] > 0 and cost["requests_per_chart"] == 2.0
    assert [c["id"] for c in cost["per_chart"]] == ["c1", "c2", "c3"]
    assert summary["reasoner"] == f"llm:scripted-cooperative@{llm.base_url}"
    report = (out / "report.md").read_text()
    assert "## Model cost and latency" in report and "| c1 |" in report
