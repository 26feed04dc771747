"""Appending to the audit log: numbered, chained, once-only when asked, anchored, append-only."""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
import stat

import orjson
import pytest

from store.events import GENESIS
from store.verify import verify_log
from tests.store.conftest import RUN, fill, open_log, step


def test_events_are_numbered_and_chained(log):
    events = log.append([step(i) for i in range(5)])
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    rows = log.db.query("SELECT seq, hash, body FROM audit_events ORDER BY seq")
    for seq, hash_, body in rows:
        assert hash_ == "sha256:" + hashlib.sha256(body).hexdigest()
        assert orjson.loads(body)["seq"] == seq
    assert log.head() == (5, events[-1].hash)
    assert [e.seq for e in log.events(RUN)] == [1, 2, 3, 4, 5]


def test_once_key_stores_a_batch_once(log):
    assert log.append([step(1), step(2)], once_key="dec-1")
    assert log.append([step(1), step(2)], once_key="dec-1") == []
    assert log.count() == 2


def test_anchors_every_n_events_and_on_request(tmp_path):
    log = open_log(tmp_path, anchor_every=4)
    log.append([step(i) for i in range(9)])  # crosses 4 and 8
    log.append([step(9)], anchor=True)  # the end of a run
    anchors, problems = log.anchors.read()
    assert problems == []
    assert [a.size for a in anchors] == [4, 8, 10]
    assert stat.S_IMODE(log.anchors.path.stat().st_mode) == 0o600
    assert verify_log(log).anchors_checked == 3


def test_the_table_refuses_update_and_delete(log, tmp_path):
    fill(log, 3)
    conn = sqlite3.connect(tmp_path / "codesense.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_events SET hash = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_events WHERE seq = 3")


def _append_many(folder: str, n: int) -> None:
    from pathlib import Path

    log = open_log(Path(folder))
    for i in range(n):
        log.append([step(i), step(i + 1)], anchor=i % 7 == 0)


def test_writers_in_several_processes_keep_one_chain(tmp_path):
    open_log(tmp_path)  # create the tables before the writers race
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(str(tmp_path), 40)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    log = open_log(tmp_path)
    report = verify_log(log)
    assert report.ok, report.problem
    assert report.events == 3 * 40 * 2
