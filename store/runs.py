"""The run store: charts (once per content hash), runs, their outputs and reviewers' decisions.

Columns in clear hold only what the audit log may hold: ids, hashes, codes, routes, versions,
times. Chart text, outputs (they quote the chart), justifications and reviewers' reasons are
sealed with the data key and bound to their row.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

from store.db import Database
from store.events import utc_now
from store.sealing import Sealer
from tools.errors import CodeSenseError

RunStatus = Literal["running", "awaiting_review", "completed", "reviewed", "failed"]


class RunNotFound(CodeSenseError):
    """No run with that id in this data directory."""


class RunRecord(BaseModel):
    """A run as listed: everything here is safe to show without opening a sealed record."""

    run_id: str
    chart_hash: str | None
    created_at: str
    updated_at: str
    actor: str
    setting: str
    status: RunStatus
    route: str | None = None
    codes: list[str] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    audit_events: int = 0
    audit_head: str | None = None


class ReviewRecord(BaseModel):
    decision_id: str
    run_id: str
    reviewer: str
    decided_at: str
    accepted: list[str]
    rejected: list[str]
    added: list[str]


_RUN_COLUMNS = (
    "run_id, chart_hash, created_at, updated_at, actor, setting, status, route, codes, "
    "versions, audit_events, audit_head"
)


class RunStore:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self._sealer = sealer

    # -- charts ---------------------------------------------------------------------------------

    def save_chart(self, content_hash: str, documents: int, chart: dict[str, Any]) -> bool:
        """Store a chart unless one with this content hash is stored already; True if stored now."""
        if self.db.query("SELECT 1 FROM charts WHERE content_hash = ?", (content_hash,)):
            return False
        sealed = self._sealer.seal(chart, bound_to=content_hash)
        with self.db.transaction():
            changed = self.db.execute(
                "INSERT INTO charts (content_hash, created_at, documents, sealed) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (content_hash) DO NOTHING",
                (content_hash, utc_now(), documents, sealed),
            )
        return changed > 0

    def chart(self, content_hash: str) -> dict[str, Any]:
        rows = self.db.query("SELECT sealed FROM charts WHERE content_hash = ?", (content_hash,))
        if not rows:
            raise RunNotFound(f"chart {content_hash[:19]} is not stored")
        value: dict[str, Any] = self._sealer.open(bytes(rows[0][0]), bound_to=content_hash)
        return value

    def chart_count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM charts")[0][0])

    # -- runs -----------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        chart_hash: str | None,
        actor: str,
        setting: str,
        versions: dict[str, str],
    ) -> None:
        now = utc_now()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO runs (run_id, chart_hash, created_at, updated_at, actor, setting, "
                "status, versions) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
                (run_id, chart_hash, now, now, actor, setting, orjson.dumps(versions).decode()),
            )

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        chart_hash: str | None = None,
        route: str | None = None,
        codes: list[str] | None = None,
        audit: tuple[int, str] | None = None,
        output: dict[str, Any] | None = None,
        justification: dict[str, Any] | None = None,
    ) -> None:
        """Record where a run ended up; fields left None keep their stored value."""
        sets = ["status = ?", "updated_at = ?"]
        params: list[Any] = [status, utc_now()]
        for column, value in (
            ("chart_hash", chart_hash),
            ("route", route),
            ("codes", orjson.dumps(codes).decode() if codes is not None else None),
            ("audit_events", audit[0] if audit else None),
            ("audit_head", audit[1] if audit else None),
            ("output", self._seal_run(output, run_id, "output")),
            ("justification", self._seal_run(justification, run_id, "justification")),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        with self.db.transaction():
            self.db.execute(
                f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", (*params, run_id)
            )

    def _seal_run(self, value: dict[str, Any] | None, run_id: str, what: str) -> bytes | None:
        return None if value is None else self._sealer.seal(value, bound_to=f"{run_id}/{what}")

    def run(self, run_id: str) -> RunRecord:
        rows = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFound(f"no run {run_id!r} in this data directory")
        return _run_record(rows[0])

    def runs(self, limit: int = 20, status: RunStatus | None = None) -> list[RunRecord]:
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        rows = self.db.query(
            f"SELECT {_RUN_COLUMNS} FROM runs {where} ORDER BY created_at DESC, run_id LIMIT ?",
            (*params, limit),
        )
        return [_run_record(r) for r in rows]

    def output(self, run_id: str) -> dict[str, Any] | None:
        return self._open_run(run_id, "output")

    def justification(self, run_id: str) -> dict[str, Any] | None:
        return self._open_run(run_id, "justification")

    def _open_run(self, run_id: str, what: str) -> dict[str, Any] | None:
        rows = self.db.query(f"SELECT {what} FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFound(f"no run {run_id!r} in this data directory")
        if rows[0][0] is None:
            return None
        value: dict[str, Any] = self._sealer.open(bytes(rows[0][0]), bound_to=f"{run_id}/{what}")
        return value

    # -- reviews --------------------------------------------------------------------------------

    def save_review(self, record: ReviewRecord, sealed_detail: dict[str, Any]) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO reviews (decision_id, run_id, reviewer, decided_at, accepted, "
                "rejected, added, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (decision_id) DO NOTHING",
                (
                    record.decision_id,
                    record.run_id,
                    record.reviewer,
                    record.decided_at,
                    orjson.dumps(record.accepted).decode(),
                    orjson.dumps(record.rejected).decode(),
                    orjson.dumps(record.added).decode(),
                    self._sealer.seal(
                        sealed_detail, bound_to=f"{record.run_id}/{record.decision_id}"
                    ),
                ),
            )

    def reviews(self, run_id: str) -> list[tuple[ReviewRecord, dict[str, Any]]]:
        rows = self.db.query(
            "SELECT decision_id, run_id, reviewer, decided_at, accepted, rejected, added, sealed "
            "FROM reviews WHERE run_id = ? ORDER BY decided_at",
            (run_id,),
        )
        out = []
        for r in rows:
            record = ReviewRecord(
                decision_id=r[0],
                run_id=r[1],
                reviewer=r[2],
                decided_at=r[3],
                accepted=orjson.loads(r[4]),
                rejected=orjson.loads(r[5]),
                added=orjson.loads(r[6]),
            )
            out.append((record, self._sealer.open(bytes(r[7]), bound_to=f"{r[1]}/{r[0]}")))
        return out


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        chart_hash=row[1],
        created_at=row[2],
        updated_at=row[3],
        actor=row[4],
        setting=row[5],
        status=row[6],
        route=row[7],
        codes=orjson.loads(row[8]),
        versions=orjson.loads(row[9]),
        audit_events=row[10],
        audit_head=row[11],
    )
