"""Kill tests (issue 12): `codesense code` and `codesense review` killed with SIGKILL at random
points, and after each kill the next command that opens the store finds:
- the audit chain verifies (and `codesense audit verify` says so, checked every few kills);
- no acknowledged event lost: every event that was there before is there, unchanged, and every
  run whose result a command printed is stored finished, with its end or pause event;
- no run left `running` (or `reviewing`): a dead owner's run becomes `interrupted`, audited.

A few dozen kills in the normal run; `make kill` (marker `fuzz`) runs 1,000.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

CHARTS = [
    EXAMPLES / "clinic_progress_note.txt",
    EXAMPLES / "radiology_report.txt",
    EXAMPLES / "ed_note.txt",
]
FINISHED = {"completed", "awaiting_review", "reviewed", "failed", "interrupted"}


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CODESENSE_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _start(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=ROOT,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _code_args() -> list[str]:
    return ["code", "--format", "json", *map(str, CHARTS)]


class Store:
    """The test's view of the data directory, opened the way every command opens it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def check(self, before: tuple[int, str]) -> tuple[int, str]:
        """Open the store (releasing dead owners' runs), check the three promises, return the
        new head (seq, hash)."""
        from core.settings import Settings
        from store.records import Records
        from store.verify import verify_log

        records = Records.open(Settings(data_dir=self.data_dir))
        try:
            report = verify_log(records.audit)
            assert report.ok, report
            seq, head = records.audit.head()
            if before[0]:
                assert seq >= before[0]
                [kept] = list(records.audit.range(before[0], before[0]))
                assert kept.hash == before[1], "an acknowledged event changed or vanished"
            busy = [
                r.run_id
                for r in records.runs.runs(limit=100_000)
                if r.status in ("running", "reviewing")
            ]
            assert busy == [], busy
            return seq, head
        finally:
            records.close()

    def acknowledged(self, run_id: str, printed: str) -> None:
        """A run a command printed a result for is stored finished, with its closing event."""
        from core.settings import Settings
        from store.records import Records

        records = Records.open(Settings(data_dir=self.data_dir))
        try:
            run = records.runs.run(run_id)
            actions = [e.action for e in records.audit.events(run_id)]
        finally:
            records.close()
        if printed == "review":
            assert run.status == "reviewed", (run_id, run.status)
            assert "review.decision" in actions, actions
        else:
            assert run.status in ("completed", "awaiting_review"), (run_id, run.status)
            assert "run.end" in actions or "run.pause" in actions, actions

    def statuses(self) -> dict[str, int]:
        from collections import Counter

        from core.settings import Settings
        from store.records import Records

        records = Records.open(Settings(data_dir=self.data_dir))
        try:
            return dict(Counter(r.status for r in records.runs.runs(limit=100_000)))
        finally:
            records.close()

    def awaiting_review(self) -> list[tuple[str, str]]:
        from core.settings import Settings
        from store.records import Records

        records = Records.open(Settings(data_dir=self.data_dir))
        try:
            out = []
            for run in records.runs.runs(limit=100_000, status="awaiting_review"):
                output = records.runs.output(run.run_id) or {}
                codes = [s["code"] for s in output.get("suggestions", [])]
                if codes:
                    out.append((run.run_id, codes[0]))
            return out
        finally:
            records.close()


def _printed_runs(stdout: str) -> list[str]:
    runs = []
    for line in stdout.splitlines():
        try:
            runs.append(json.loads(line)["run_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return runs


def _timed(data_dir: Path, *args: str) -> tuple[float, str]:
    started = time.monotonic()
    proc = _start(data_dir, *args)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode in (0, 2), err  # 2: charts that await review
    return time.monotonic() - started, out


def _kill_campaign(tmp_path: Path, kills: int, seed: int) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shared_cache = ROOT / ".codesense" / "cache"
    shared_cache.mkdir(parents=True, exist_ok=True)
    (data_dir / "cache").symlink_to(shared_cache, target_is_directory=True)
    store = Store(data_dir)
    rng = random.Random(seed)

    # Unkilled runs first: how long each command takes here, and runs to review.
    code_s, out = _timed(data_dir, *_code_args())
    assert _printed_runs(out)
    head = store.check((0, ""))
    run_id, code = store.awaiting_review()[0]
    review_s, _ = _timed(data_dir, "review", run_id, "--accept", code)
    head = store.check(head)

    outcomes = {"killed": 0, "finished first": 0}
    started = time.monotonic()
    for n in range(kills):
        reviewable = store.awaiting_review()
        if n % 2 and reviewable:
            run_id, code = rng.choice(reviewable)
            args, expected = ["review", run_id, "--accept", code, "--format", "json"], "review"
            budget = review_s
        else:
            args, expected, budget = _code_args(), "code", code_s
        proc = _start(data_dir, *args)
        time.sleep(rng.uniform(0.1, 1.1) * budget)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            outcomes["killed"] += 1
        else:
            outcomes["finished first"] += 1
        out, _ = proc.communicate(timeout=120)
        head = store.check(head)
        if expected == "code":
            for printed in _printed_runs(out):
                store.acknowledged(printed, "code")
        elif out.strip():
            store.acknowledged(run_id, "review")
        if n % 10 == 9 or n == kills - 1:
            verify = subprocess.run(
                [sys.executable, "-m", "apps.cli", "audit", "verify"],
                cwd=ROOT,
                env=_env(data_dir),
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert verify.returncode == 0, verify.stdout + verify.stderr
    print(
        f"\nkill: {kills} commands ({outcomes}) in {time.monotonic() - started:.0f} s; "
        f"code {code_s:.1f} s, review {review_s:.1f} s unkilled; audit head {head[0]}; "
        f"runs by status {store.statuses()}"
    )
    assert outcomes["killed"] >= kills // 2


def test_killed_code_and_review_commands_lose_nothing(tmp_path: Path) -> None:
    _kill_campaign(tmp_path, kills=24, seed=12)


@pytest.mark.fuzz
def test_a_thousand_killed_commands_lose_nothing(tmp_path: Path) -> None:
    _kill_campaign(tmp_path, kills=1000, seed=1012)
