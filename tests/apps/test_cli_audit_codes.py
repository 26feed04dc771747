"""`codesense audit-codes` as a user meets it: one chart as a table, a batch from a manifest
with a bad row (one line each, the batch goes on, exit 2 at the end) and its two reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

NOTE = (
    "HISTORY:\nPatient denies chest pain.\n\n"
    "ASSESSMENT:\n1. Type 2 diabetes mellitus with CKD stage 3a. Continue metformin.\n"
    "2. Essential hypertension.\n"
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_one_chart_as_a_table(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    proc = _cli("audit-codes", str(note), "--codes", "E11.9,N18.31,I10,R07.9")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "combination" in out and "E11.9 -> E11.22" in out and "I10 -> I12.9" in out
    assert "unsupported" in out and "assertion.negated" in out and "risk" in out
    listed = _cli("runs", "--kind", "audit", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    run_id = next(
        json.loads(line)["run_id"]
        for line in listed.stdout.splitlines()
        if json.loads(line)["codes"] == ["E11.9", "N18.31", "I10", "R07.9"]
    )
    shown = _cli("show", run_id)
    assert shown.returncode == 0 and "E11.9 -> E11.22" in shown.stdout


def test_bad_codes_and_bad_arguments_are_one_line(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    for args, says in [
        (["audit-codes", str(note), "--codes", "E11.9,NOTACODE"], "'NOTACODE'"),
        (["audit-codes", str(note)], "--codes"),
        (["audit-codes", "--batch", str(note)], "--report"),
        (["audit-codes", str(tmp_path / "missing.txt"), "--codes", "I10"], "no such file"),
    ]:
        proc = _cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert says in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_batch_reports_and_goes_on_past_bad_rows(tmp_path):
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "a.txt").write_text(NOTE, encoding="utf-8")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,codes\n"
        'charts/a.txt,"E11.22,N18.31,I12.9,Z79.84"\n'
        'charts/a.txt,"E11.9 N18.31 I10"\n'
        "charts/missing.txt,I10\n"
        "charts/a.txt,NOTACODE\n",
        encoding="utf-8",
    )
    report = tmp_path / "report"
    proc = _cli("audit-codes", "--batch", str(manifest), "--report", str(report))
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("codesense:")]
    assert errors == [
        "codesense: line 4: missing.txt: no such file",
        "codesense: line 5: not ICD-10-CM codes in ICD-10-CM 2026-04: 'NOTACODE'",
    ]
    assert "audited 2 of 4 charts" in proc.stdout
    markdown = (report / "report.md").read_text(encoding="utf-8")
    assert "Charts audited: 2; failed rows: 2" in markdown
    assert "| combination | medium | E11.9 -> E11.22 |" in markdown
    assert "No findings." in markdown and "line 4 (charts/missing.txt)" in markdown
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "<q>Type 2 diabetes mellitus with CKD</q>" in html and "<q>CKD stage 3a</q>" in html
    assert "combo.diabetes-ckd" in html and "NOTACODE" in html
