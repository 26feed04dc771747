"""One database connection from a URL: SQLite (the embedded default) or PostgreSQL.

SQL is written once with `?` placeholders; the PostgreSQL dialect rewrites them. SQLite runs in
WAL mode with `synchronous=FULL`, so a committed transaction survives a killed process and a power
cut; `BEGIN IMMEDIATE` takes the write lock up front, which is what serialises audit appends
across processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from core.errors import CodeSenseError

Dialect = Literal["sqlite", "postgresql"]

# The advisory lock PostgreSQL writers take before reading the audit head ("CSAUDIT" in hex-ish).
_PG_AUDIT_LOCK = 0x435341554449


class StorageError(CodeSenseError):
    """The database URL is unusable or the database cannot be reached."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Database:
    """A connection plus the few operations the stores need; safe to share between threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: Any
        if url.startswith("sqlite:///"):
            self.dialect: Dialect = "sqlite"
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path: Path | None = path
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self.path = None
            try:
                import psycopg
            except ImportError:
                raise StorageError(
                    "a PostgreSQL URL needs the psycopg package (pip install 'codesense[postgres]')"
                ) from None
            try:
                self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
            except psycopg.OperationalError as err:
                raise StorageError(f"cannot connect to PostgreSQL: {_first_line(err)}") from None
        else:
            raise StorageError("database URL must start with sqlite:/// or postgresql://")

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        with self._lock:
            cur = self._conn.execute(self._sql(sql), params)
            return int(cur.rowcount or 0)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            if self.dialect == "sqlite":
                self._conn.executemany(sql, rows)
            else:
                with self._conn.cursor() as cur:
                    cur.executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(self._sql(sql), params).fetchall())

    def stream(
        self, sql: str, params: Sequence[Any] = (), batch: int = 20_000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in batches without loading them all: verifying millions of events stays flat."""
        if self.dialect == "sqlite":
            assert self.path is not None
            # A private read connection, so a long verify never holds the shared one.
            uri = f"file:{quote(str(self.path))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=30.0)
            try:
                cur = conn.execute(sql, params)
                while rows := cur.fetchmany(batch):
                    yield rows
            finally:
                conn.close()
        else:
            import psycopg

            with psycopg.connect(self.url) as pg, pg.cursor(name="codesense_stream") as named:
                named.itersize = batch
                named.execute(self._sql(sql), params)
                while rows := named.fetchmany(batch):
                    yield rows

    @contextmanager
    def transaction(self, audit_lock: bool = False) -> Iterator[Database]:
        """One atomic write; with `audit_lock`, no other writer appends to the audit log meanwhile.

        Nested calls join the outer transaction, so a run's row and its audit event can be
        committed together (one fsync, and the two never disagree).
        """
        with self._lock:
            if self._depth:
                if audit_lock and self.dialect == "postgresql":
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_AUDIT_LOCK,))
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if self.dialect == "sqlite":
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
                else:
                    with self._conn.transaction():
                        if audit_lock:
                            self._conn.execute(
                                "SELECT pg_advisory_xact_lock(%s)", (_PG_AUDIT_LOCK,)
                            )
                        yield self
            finally:
                self._depth = 0

    @contextmanager
    def deferred_sync(self) -> Iterator[Database]:
        """Commit without waiting for the disk until the block ends, then make it all durable.

        For a group of charts (a many-file `codesense code`, a batch worker): each transaction
        still commits atomically and in order, but SQLite writes its WAL without an fsync per
        commit (`synchronous=NORMAL`); leaving the block syncs the WAL and the database file
        once, so everything committed inside is durable when the block returns. Results must
        be acknowledged only after that. A killed process loses nothing it committed (the OS
        has the pages); a power cut can lose the group's unacknowledged commits, never a part
        of a transaction. PostgreSQL commits stay synchronous (its server group-commits
        concurrent writers itself).
        """
        if self.dialect != "sqlite":
            yield self
            return
        with self._lock:
            self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield self
        finally:
            with self._lock:
                self._conn.execute("PRAGMA synchronous=FULL")
                assert self.path is not None
                sync_sqlite_files(self.path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def sync_sqlite_files(path: Path) -> None:
    """fsync a SQLite database file and its WAL: every commit made so far is on disk."""
    import os

    for name in (str(path), f"{path}-wal"):
        try:
            fd = os.open(name, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else err.__class__.__name__
