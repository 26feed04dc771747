"""`codesense audit verify` and `codesense runs` as a user meets them: exit status and wording."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.conftest import ROOT


def _cli(data, *args):
    env = dict(os.environ, CODESENSE_DATA_DIR=str(data))
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _log_with_events(data, n):
    from core.settings import Settings
    from store.records import Records
    from tests.store.conftest import step

    records = Records.open(Settings(data_dir=data, anchor_every=10))
    for i in range(n):
        records.audit.append([step(i)], anchor=i == n - 1)
    records.close()


def test_verify_passes_then_names_the_first_bad_event(tmp_path):
    _log_with_events(tmp_path, 30)
    ok = _cli(tmp_path, "audit", "verify")
    assert ok.returncode == 0 and "audit log ok: 30 events" in ok.stdout
    ranged = _cli(tmp_path, "audit", "verify", "--from", "15", "--to", "25")
    assert ranged.returncode == 0 and "seq 11-25" in ranged.stdout

    conn = sqlite3.connect(tmp_path / "codesense.db", isolation_level=None)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("UPDATE audit_events SET hash = ? WHERE seq = 17", ("sha256:" + "0" * 64,))
    conn.close()
    bad = _cli(tmp_path, "audit", "verify")
    assert bad.returncode == 1 and "BROKEN at seq 17" in bad.stdout
    assert _cli(tmp_path, "audit", "verify", "--to", "16").returncode == 0


def test_runs_on_an_empty_store_and_show_of_an_unknown_run(tmp_path):
    empty = _cli(tmp_path, "runs")
    assert empty.returncode == 0 and "no runs yet" in empty.stdout
    missing = _cli(tmp_path, "show", "run-0000000000000000")
    assert missing.returncode == 2 and "no run" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_placeholder_secret_is_refused_at_start(tmp_path):
    env_secret = dict(CODESENSE_SECRET_KEY="changeme")
    proc = subprocess.run(
        [sys.executable, "-m", "apps.cli", "runs"],
        cwd=ROOT,
        env=dict(os.environ, CODESENSE_DATA_DIR=str(tmp_path), **env_secret),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "invalid settings" in proc.stderr
    assert "changeme" not in proc.stderr
