"""The canary test: a chart with an unmistakable fake patient, run through every command; the
patient's name and MRN must turn up in no log, no audit event and no unencrypted store.

The chart's file name carries the name too (file names often do), and the reviewer types it
into `--reason`: both may only ever be stored sealed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CANARIES = [b"zebulon", b"quaxworth", b"739104"]
CHART = """CLINIC NOTE
Patient: Zebulon Quaxworth   MRN: QX-739104-CANARY   DOB: 1951-02-28
Chief complaint: follow-up of diabetes, blood pressure and reflux.

ASSESSMENT AND PLAN:
1. Type 2 diabetes mellitus with diabetic nephropathy.
2. Essential hypertension.
3. Gastroesophageal reflux disease.
Zebulon Quaxworth quit smoking in 2010 (former smoker).
"""


def _has_canary(data: bytes) -> list[str]:
    low = data.lower()
    return [c.decode() for c in CANARIES if c in low]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("canary")
    data = folder / "data"
    data.mkdir()
    # Share the built term index instead of building it again (a minute of CPU).
    (data / "cache").symlink_to(Path(os.environ["CODESENSE_DATA_DIR"]) / "cache")
    chart = folder / "zebulon_quaxworth_mrn_739104.txt"
    chart.write_text(CHART, encoding="utf-8")
    env = dict(os.environ)
    env.update(
        CODESENSE_DATA_DIR=str(data),
        CODESENSE_AUTO_THRESHOLD="1.0",
        CODESENSE_REVIEW_THRESHOLD="1.0",
        CODESENSE_ACTOR="canary.tester",
    )
    return folder, data, chart, env


def _run(env, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "apps.cli", "-v", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc


@pytest.mark.slow
def test_no_canary_outside_encrypted_stores(workspace):
    folder, data, chart, env = workspace
    logs: list[tuple[str, str]] = []  # (command, stderr): everything a log handler would see
    quiet: list[tuple[str, str]] = []  # stdout of commands that must not show chart text

    def run(*args, quiet_stdout=False):
        proc = _run(env, *args)
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
        logs.append((" ".join(args), proc.stderr))
        if quiet_stdout:
            quiet.append((" ".join(args), proc.stdout))
        return proc.stdout

    # The same chart twice: two runs, one stored chart.
    run("code", str(chart), str(chart))
    runs = [
        json.loads(line) for line in run("runs", "--format", "json", quiet_stdout=True).splitlines()
    ]
    run("runs", quiet_stdout=True)
    assert len(runs) == 2 and {r["status"] for r in runs} == {"awaiting_review"}
    assert {r["route"] for r in runs} == {"escalate"}
    run_id, second = runs[0]["run_id"], runs[1]["run_id"]
    first = json.loads(run("show", "--format", "json", run_id))
    run("show", run_id)

    text = CHART
    start = text.index("former smoker")
    suggested = [s["code"] for s in first["suggestions"]]
    added = next(c for c in ("Z87.891", "F17.211", "Z72.0") if c not in suggested)
    reason = "Zebulon Quaxworth (MRN QX-739104-CANARY) confirmed it at the visit"
    run(
        "review", run_id, "--reviewer", "coder.jane",
        "--accept", suggested[0], "--reject", suggested[-1],
        "--add", added, "--evidence", f"{start}:{start + len('former smoker')}",
        "--reason", reason,
    )  # fmt: skip
    run("review", second, "--reviewer", "coder.jane", "--accept", suggested[0])
    trace = json.loads(run("trace", run_id, "--format", "json"))
    run("trace", run_id, "--format", "md")
    run("trace", run_id, "--format", "html", "--output", str(folder / "trace.html"))
    run("audit", "verify", quiet_stdout=True)
    run("audit", "events", "--limit", "100000", quiet_stdout=True)
    run("audit", "events", "--run", run_id, quiet_stdout=True)

    # The reason is kept (sealed) and shown to those who read the trace.
    assert trace["reviews"][0]["reason"] == reason
    assert trace["reviews"][0]["added"][0]["evidence"][0]["quote"] == "former smoker"

    for command, stderr in logs:
        assert not _has_canary(stderr.encode()), (command, stderr)
    for command, stdout in quiet:
        assert not _has_canary(stdout.encode()), command
    stored = [
        p for p in data.rglob("*") if p.is_file() and "cache" not in p.relative_to(data).parts
    ]
    names = {p.name for p in stored}
    # (-wal files are folded back and removed when the last connection closes; while one is
    # open, test_review checks it.)
    assert {"codesense.db", "checkpoints.db", "anchors.jsonl", "secret.key"} <= names
    for path in stored:
        assert not _has_canary(path.read_bytes()), path.name
    with sqlite3.connect(data / "codesense.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM charts").fetchone()[0] == 1  # stored once
    # Every event in the log passed the allow-list; the chain and its anchors verify.
    events = run("audit", "events", "--limit", "100000")
    assert "review.decision" in events and not _has_canary(events.encode())
    assert "audit log ok" in run("audit", "verify")
