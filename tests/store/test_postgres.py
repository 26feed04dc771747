"""The same audit log, run store and review round trip on PostgreSQL (the at-scale backend).

Runs against the server named by CODESENSE_TEST_POSTGRES_URL (default: the local one on
127.0.0.1:5432, database `test`), each test in a schema of its own that is dropped afterwards.
Skipped, with the reason shown, when psycopg is missing or the server does not answer.
"""

from __future__ import annotations

import multiprocessing
import os
import uuid
from urllib.parse import quote

import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: PostgreSQL tests skipped")

BASE_URL = os.environ.get("CODESENSE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def _server_answers() -> str | None:
    try:
        psycopg.connect(BASE_URL, connect_timeout=3).close()
    except psycopg.OperationalError as err:
        return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return None


_DOWN = _server_answers()
pytestmark = pytest.mark.skipif(
    _DOWN is not None, reason=f"PostgreSQL not reachable at {BASE_URL}: {_DOWN}"
)


@pytest.fixture
def pg_url():
    schema = "cs_test_" + uuid.uuid4().hex[:10]
    with psycopg.connect(BASE_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{BASE_URL}?options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(BASE_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _open(url, folder, anchor_every=10):
    from store.anchors import AnchorFile
    from store.audit_log import AuditLog
    from store.db import Database
    from store.tables import ensure_tables
    from tests.store.conftest import KEY

    db = Database(url)
    ensure_tables(db)
    return AuditLog(db, AnchorFile(folder / "anchors.jsonl", KEY.anchors, KEY.key_id), anchor_every)


def test_append_and_verify(pg_url, tmp_path):
    from store.verify import verify_log
    from tests.store.conftest import step

    log = _open(pg_url, tmp_path)
    for i in range(25):
        log.append([step(i), step(i + 1)], anchor=i == 24)
    report = verify_log(log)
    assert report.ok and report.events == 50 and report.anchors_checked == 5


def test_tampering_is_refused_then_caught(pg_url, tmp_path):
    from store.verify import verify_log
    from tests.store.conftest import step

    log = _open(pg_url, tmp_path)
    for i in range(30):
        log.append([step(i)], anchor=i == 29)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM audit_events WHERE seq = 30")
        conn.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
        conn.execute("UPDATE audit_events SET hash = %s WHERE seq = 12", ("sha256:" + "0" * 64,))
    report = verify_log(log)
    assert not report.ok and report.first_bad == 12
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM audit_events WHERE seq >= 12")
    report = verify_log(log)
    assert not report.ok and report.first_bad == 12 and "cut" in (report.problem or "")


def _append_many(url: str, folder: str) -> None:
    from pathlib import Path

    from tests.store.conftest import step

    log = _open(url, Path(folder))
    for i in range(30):
        log.append([step(i), step(i + 1)])


def test_writers_in_several_processes_keep_one_chain(pg_url, tmp_path):
    from store.verify import verify_log

    _open(pg_url, tmp_path)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(pg_url, str(tmp_path))) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    report = verify_log(_open(pg_url, tmp_path))
    assert report.ok and report.events == 180


def test_review_round_trip_on_postgres(pg_url, tmp_path, term_index):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from agent.review import ReviewRequest
    from apps.service import Service
    from core.settings import Settings
    from store.verify import verify_log
    from tests.conftest import ADMIN, EXAMPLES

    settings = Settings(
        data_dir=tmp_path, database_url=pg_url, auto_threshold=1.0, review_threshold=1.0
    )
    context = CodingContext(settings, term_index, OfflineReasoner(), rules_version())
    service = Service(settings, context)
    result = service.code_file(ADMIN, EXAMPLES / "discharge_summary.txt")
    assert result.route == "escalate"
    first, last = result.suggestions[0].code, result.suggestions[-1].code
    reviewed = service.review(
        ADMIN,
        result.run_id,
        ReviewRequest(
            reviewer="pg.coder",
            accept=[first],
            reject=[last],
            add=[{"code": "E66.9"}],
            reason="BMI 34 in the flowsheet",
        ),
    )
    assert reviewed.review is not None and reviewed.review.codes[-1] == "E66.9"
    assert service.records.runs.run(result.run_id).status == "reviewed"
    assert verify_log(service.records.audit).ok
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT type FROM checkpoint_blobs").fetchall()
        assert all(t.endswith("+aesgcm") or t == "empty" for (t,) in rows)
