"""A writer killed mid-append, 200 times: the chain still verifies and no acknowledged event is lost.

Each round starts a writer that appends batches of 1-5 events (a fifth of them anchored) and,
after every `append` that returned (the acknowledgement), writes the batch's last seq and hash
as one line to an ack file. The parent kills it with SIGKILL after a random few milliseconds,
then checks the log: it verifies against its anchors, and every acknowledged (seq, hash) is there.
Writers come from a fork server (a clean single-threaded process, so forking is safe and fast
even late in a test session with thread pools about). SIGKILL tests crashes of the process;
surviving power loss rests on SQLite's WAL with synchronous=FULL and is not tested here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from store.verify import verify_log
from tests.store.conftest import open_log, step

KILLS = 200


def _writer(folder: str, ack_path: str, ready: Any) -> None:
    rng = random.Random(os.getpid())
    log = open_log(Path(folder), anchor_every=25)
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    ready.set()
    i = 0
    while True:
        events = log.append(
            [step(i + j) for j in range(rng.randint(1, 5))], anchor=rng.random() < 0.2
        )
        i += len(events)
        os.write(ack, f"{events[-1].seq} {events[-1].hash}\n".encode())


@pytest.mark.slow
def test_killed_writers_lose_no_acknowledged_event(tmp_path):
    open_log(tmp_path).db.close()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.store.conftest", "store.verify"])
    rng = random.Random(20260401)
    acks = tmp_path / "acks.txt"
    for _ in range(KILLS):
        # The kill lands a few ms into appending, not into start-up: on a loaded machine the
        # writer's start alone can take longer than the whole random delay.
        ready = ctx.Event()
        writer = ctx.Process(target=_writer, args=(str(tmp_path), str(acks), ready))
        writer.start()
        ready.wait(timeout=120)
        time.sleep(rng.uniform(0.005, 0.04))
        with contextlib.suppress(ProcessLookupError):  # already gone: caught just below
            os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL, f"writer ended on its own: {writer.exitcode}"

    acknowledged: dict[int, str] = {}
    for line in acks.read_bytes().split(b"\n"):
        parts = line.split()
        if len(parts) == 2 and len(parts[1]) == 71:  # a line cut short is not an ack
            acknowledged[int(parts[0])] = parts[1].decode()
    log = open_log(tmp_path)
    report = verify_log(log)
    assert report.ok, report
    assert len(acknowledged) > KILLS // 4, "too few appends got through to test anything"
    stored = dict(log.db.query("SELECT seq, hash FROM audit_events"))
    lost = {seq for seq, hash_ in acknowledged.items() if stored.get(seq) != hash_}
    assert not lost
    assert report.last >= max(acknowledged)
