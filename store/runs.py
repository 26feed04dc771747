"""The run store: charts (once per content hash), runs, their outputs and reviewers' decisions.

Columns in clear hold only what the audit log may hold: ids, hashes, codes, routes, versions,
times. Chart text, outputs (they quote the chart), justifications and reviewers' reasons are
sealed with the data key and bound to their row.
"""

from __future__ import annotations

import base64
from typing import Any, Literal, get_args

import orjson
from pydantic import BaseModel, Field

from core.errors import CodeSenseError, Conflict
from store.db import Database
from store.events import utc_in, utc_now
from store.sealing import Sealer

RunStatus = Literal[
    "running", "awaiting_review", "reviewing", "completed", "reviewed", "failed", "interrupted"
]
RunKind = Literal["code", "audit"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)


class RunNotFound(CodeSenseError):
    """No run with that id in this data directory (or not in the caller's organisation)."""


class ReviewConflict(Conflict):
    """A review of a run that another reviewer holds or has finished: nothing was changed."""


class RunRecord(BaseModel):
    """A run as listed: everything here is safe to show without opening a sealed record."""

    run_id: str
    chart_hash: str | None
    created_at: str
    updated_at: str
    actor: str
    setting: str
    status: RunStatus
    org: str = "default"
    kind: RunKind = "code"
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
    "versions, audit_events, audit_head, org, kind"
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

    def save_original(self, content_hash: str, data: bytes) -> bool:
        """Keep a document's original bytes (a PDF) sealed, once per content hash."""
        if self.db.query("SELECT 1 FROM originals WHERE content_hash = ?", (content_hash,)):
            return False
        sealed = self._sealer.seal(
            {"data": base64.b64encode(data).decode()}, bound_to=f"original/{content_hash}"
        )
        with self.db.transaction():
            changed = self.db.execute(
                "INSERT INTO originals (content_hash, created_at, sealed) VALUES (?, ?, ?) "
                "ON CONFLICT (content_hash) DO NOTHING",
                (content_hash, utc_now(), sealed),
            )
        return changed > 0

    def original(self, content_hash: str) -> bytes | None:
        rows = self.db.query("SELECT sealed FROM originals WHERE content_hash = ?", (content_hash,))
        if not rows:
            return None
        value = self._sealer.open(bytes(rows[0][0]), bound_to=f"original/{content_hash}")
        return base64.b64decode(value["data"])

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
        org: str = "default",
        kind: RunKind = "code",
        owner: str | None = None,
        lease_s: float = 3600.0,
    ) -> None:
        """A run row in state `running`, owned by `owner` (this process) for `lease_s` seconds."""
        now = utc_now()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO runs (run_id, chart_hash, created_at, updated_at, actor, setting, "
                "status, versions, org, kind, owner, lease_until) "
                "VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    run_id,
                    chart_hash,
                    now,
                    now,
                    actor,
                    setting,
                    orjson.dumps(versions).decode(),
                    org,
                    kind,
                    owner,
                    utc_in(lease_s),
                ),
            )

    def claim_review(self, run_id: str, owner: str, lease_s: float = 900.0) -> None:
        """Move a run from `awaiting_review` to `reviewing` for one reviewer, atomically.

        Of two reviewers resuming the same run at once, one claims it; the other gets a
        ReviewConflict saying why, and nothing of theirs is applied.
        """
        with self.db.transaction():
            changed = self.db.execute(
                "UPDATE runs SET status = 'reviewing', owner = ?, lease_until = ?, updated_at = ? "
                "WHERE run_id = ? AND status = 'awaiting_review'",
                (owner, utc_in(lease_s), utc_now(), run_id),
            )
        if not changed:
            raise review_conflict(run_id, self.run(run_id).status)

    def release_review(self, run_id: str) -> None:
        """A claimed review that did not finish: the run awaits review again."""
        with self.db.transaction():
            self.db.execute(
                "UPDATE runs SET status = 'awaiting_review', owner = NULL, lease_until = NULL, "
                "updated_at = ? WHERE run_id = ? AND status = 'reviewing'",
                (utc_now(), run_id),
            )

    def unfinished(self) -> list[tuple[str, str, str | None, str | None, str | None]]:
        """(run_id, status, owner, lease_until, chart_hash) of runs someone is working on."""
        rows = self.db.query(
            "SELECT run_id, status, owner, lease_until, chart_hash FROM runs "
            "WHERE status IN ('running', 'reviewing')"
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def abandon(self, run_id: str, status: str, owner: str | None) -> bool:
        """Mark a run whose owner is gone (`running` -> `interrupted`, `reviewing` ->
        `awaiting_review`), unless it changed hands meanwhile; True when marked."""
        new = "interrupted" if status == "running" else "awaiting_review"
        changed = self.db.execute(
            "UPDATE runs SET status = ?, owner = NULL, lease_until = NULL, updated_at = ? "
            "WHERE run_id = ? AND status = ? AND owner IS NOT DISTINCT FROM ?",
            (new, utc_now(), run_id, status, owner),
        )
        return changed > 0

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
        if status not in ("running", "reviewing"):
            sets += ["owner = NULL", "lease_until = NULL"]
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

    def run(self, run_id: str, org: str | None = None) -> RunRecord:
        """One run; with `org`, a run of another organisation is not found either."""
        rows = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not rows or (org is not None and rows[0][12] != org):
            raise RunNotFound(f"no run {run_id[:40]!r}")
        return _run_record(rows[0])

    def runs(
        self,
        limit: int = 20,
        status: RunStatus | None = None,
        org: str | None = None,
        route: str | None = None,
        kind: RunKind | None = None,
    ) -> list[RunRecord]:
        """The newest runs first, filtered by organisation, status, route and kind."""
        clauses, params = self._filters(org=org, status=status, route=route, kind=kind)
        rows = self.db.query(
            f"SELECT {_RUN_COLUMNS} FROM runs {clauses} ORDER BY created_at DESC, run_id LIMIT ?",
            (*params, limit),
        )
        return [_run_record(r) for r in rows]

    def count_by(
        self, column: Literal["route", "status"], org: str | None = None, kind: RunKind = "code"
    ) -> dict[str, int]:
        """How many runs per route or status (a worklist's counts)."""
        clauses, params = self._filters(org=org, kind=kind)
        rows = self.db.query(
            f"SELECT {column}, COUNT(*) FROM runs {clauses} GROUP BY {column}", params
        )
        return {str(r[0]): int(r[1]) for r in rows if r[0] is not None}

    @staticmethod
    def _filters(**equal: str | None) -> tuple[str, list[str]]:
        wanted = {k: v for k, v in equal.items() if v is not None}
        if not wanted:
            return "", []
        return "WHERE " + " AND ".join(f"{k} = ?" for k in wanted), list(wanted.values())

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

    def reviews_of_org(self, org: str) -> list[ReviewRecord]:
        """Every review of the organisation's runs (the clear columns only)."""
        rows = self.db.query(
            "SELECT v.decision_id, v.run_id, v.reviewer, v.decided_at, v.accepted, v.rejected, "
            "v.added FROM reviews v JOIN runs r ON r.run_id = v.run_id WHERE r.org = ? "
            "ORDER BY v.decided_at",
            (org,),
        )
        return [
            ReviewRecord(
                decision_id=r[0],
                run_id=r[1],
                reviewer=r[2],
                decided_at=r[3],
                accepted=orjson.loads(r[4]),
                rejected=orjson.loads(r[5]),
                added=orjson.loads(r[6]),
            )
            for r in rows
        ]

    def runs_of_org(self, org: str, kind: RunKind | None = None) -> list[RunRecord]:
        """Every run of the organisation, oldest first (for figures, not for listing)."""
        clauses, params = self._filters(org=org, kind=kind)
        rows = self.db.query(
            f"SELECT {_RUN_COLUMNS} FROM runs {clauses} ORDER BY created_at, run_id", params
        )
        return [_run_record(r) for r in rows]

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


def review_conflict(run_id: str, status: str) -> ReviewConflict:
    """Why a run cannot be reviewed now, in the reviewer's words."""
    if status == "reviewing":
        return ReviewConflict(f"run {run_id} is being reviewed by someone else right now")
    if status == "reviewed":
        return ReviewConflict(f"run {run_id} is already reviewed")
    return ReviewConflict(f"run {run_id} is {status.replace('_', ' ')}, not awaiting review")


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
        org=row[12],
        kind=row[13],
    )
