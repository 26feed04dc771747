"""Fixtures for the store: a fresh audit log (SQLite, anchors, key) in a temporary directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store.anchors import AnchorFile
from store.audit_log import AuditLog
from store.db import Database, sqlite_url
from store.events import EventDraft
from store.keys import Keys
from store.tables import ensure_tables

KEY = Keys.derive(b"0123456789abcdef0123456789abcdef-test-only")
RUN = "run-00000000000000a1"


def open_log(folder: Path, anchor_every: int = 10) -> AuditLog:
    db = Database(sqlite_url(folder / "codesense.db"))
    ensure_tables(db)
    return AuditLog(db, AnchorFile(folder / "anchors.jsonl", KEY.anchors, KEY.key_id), anchor_every)


def step(i: int, run_id: str = RUN) -> EventDraft:
    """An event with most fields set, so corruption tests can flip a bit in any of them."""
    return EventDraft(
        run_id=run_id,
        action="tool.call",
        name="cite",
        chart="sha256:" + "c" * 64,
        input_hash="sha256:" + "1" * 64,
        output_hash="sha256:" + "2" * 64,
        codes=["E11.21", "I10"],
        spans=[{"doc": 0, "start": i, "end": i + 5}],
        versions={"reasoner": "offline"},
        result="ok",
        count=i,
    )


def fill(log: AuditLog, n: int, anchor_end: bool = True) -> None:
    for i in range(n):
        log.append([step(i)], anchor=anchor_end and i == n - 1)


def raw(folder: Path) -> sqlite3.Connection:
    """The database as an attacker with file access sees it: the append-only triggers dropped."""
    conn = sqlite3.connect(folder / "codesense.db", isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    return conn


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return open_log(tmp_path)
