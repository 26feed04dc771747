"""The tables of the run store and the audit log, created on first use, for either dialect.

The audit table refuses UPDATE and DELETE through triggers: the application can only append.
Anyone with raw access to the file can still drop a trigger, which is why the chain is hashed and
anchored; the triggers stop mistakes, the hashes and anchors catch tampering.
"""

from __future__ import annotations

from store.db import Database

_COMMON = [
    """CREATE TABLE IF NOT EXISTS audit_events (
        seq {bigint} PRIMARY KEY,
        run_id TEXT,
        hash TEXT NOT NULL,
        once_key TEXT,
        body {blob} NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_events_run ON audit_events (run_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_events_once ON audit_events (once_key)",
    """CREATE TABLE IF NOT EXISTS charts (
        content_hash TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        documents INTEGER NOT NULL,
        sealed {blob} NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        chart_hash TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        setting TEXT NOT NULL,
        status TEXT NOT NULL,
        route TEXT,
        codes TEXT NOT NULL DEFAULT '[]',
        versions TEXT NOT NULL DEFAULT '{{}}',
        audit_events INTEGER NOT NULL DEFAULT 0,
        audit_head TEXT,
        output {blob},
        justification {blob}
    )""",
    "CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at)",
    """CREATE TABLE IF NOT EXISTS reviews (
        decision_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        accepted TEXT NOT NULL,
        rejected TEXT NOT NULL,
        added TEXT NOT NULL,
        sealed {blob} NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS reviews_run ON reviews (run_id)",
    # What happened to a run's claim, as the billing system reports it; the latest counts.
    """CREATE TABLE IF NOT EXISTS outcomes (
        outcome_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        org TEXT NOT NULL,
        status TEXT NOT NULL,
        reasons TEXT NOT NULL DEFAULT '[]',
        at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        actor TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS outcomes_run ON outcomes (run_id, at)",
    # The original bytes of PDF documents (sealed), for the annotated PDF of a run's evidence.
    """CREATE TABLE IF NOT EXISTS originals (
        content_hash TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        sealed {blob} NOT NULL
    )""",
    # A reviewer's per-code marks (accept, reject, escalate) on a paused run, before the decision
    # is submitted: Slack's buttons, one click at a time, from any server process.
    """CREATE TABLE IF NOT EXISTS review_marks (
        run_id TEXT NOT NULL,
        code TEXT NOT NULL,
        mark TEXT NOT NULL,
        actor TEXT NOT NULL,
        marked_at TEXT NOT NULL,
        PRIMARY KEY (run_id, code)
    )""",
    # Slack: each Events API delivery handled once (Slack retries carry the same event_id), and
    # which runs were posted in which thread (questions in a thread are about its runs).
    """CREATE TABLE IF NOT EXISTS slack_events (
        event_id TEXT PRIMARY KEY,
        seen_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS slack_threads (
        channel TEXT NOT NULL,
        thread_ts TEXT NOT NULL,
        run_id TEXT NOT NULL,
        org TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (channel, thread_ts, run_id)
    )""",
    "CREATE INDEX IF NOT EXISTS slack_threads_run ON slack_threads (run_id)",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        org TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
    )""",
]

# Columns added after a table's first release: (table, column, definition). A data directory
# made by an older version gets them on open; rows it already holds take the default.
_ADDED_COLUMNS = [
    # Which organisation a run belongs to: a run of another org is invisible (404).
    ("runs", "org", "TEXT NOT NULL DEFAULT 'default'"),
    # "code" for a coding run, "audit" for an Audit Sentinel check of assigned codes.
    ("runs", "kind", "TEXT NOT NULL DEFAULT 'code'"),
    # The process working on a run (host:pid:start time) and until when its claim holds: a run
    # whose owner is gone is marked interrupted instead of staying `running` for ever.
    ("runs", "owner", "TEXT"),
    ("runs", "lease_until", "TEXT"),
]
_ADDED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS runs_org_created ON runs (org, created_at)",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
]

_SQLITE_GUARDS = [
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]

_PG_GUARDS = [
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
]


def ensure_tables(db: Database) -> None:
    if db.dialect == "sqlite":
        types = {"bigint": "INTEGER", "blob": "BLOB"}
        guards = _SQLITE_GUARDS
    else:
        types = {"bigint": "BIGINT", "blob": "BYTEA"}
        guards = _PG_GUARDS
    with db.transaction(audit_lock=True):
        for statement in _COMMON:
            db.execute(statement.format(**types))
        for statement in guards:
            db.execute(statement)
        for table, column, definition in _ADDED_COLUMNS:
            if column not in _columns(db, table):
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        for statement in _ADDED_INDEXES:
            db.execute(statement)


def _columns(db: Database, table: str) -> set[str]:
    if db.dialect == "sqlite":
        return {str(row[1]) for row in db.query(f"PRAGMA table_info({table})")}
    rows = db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema()",
        (table,),
    )
    return {str(row[0]) for row in rows}
