"""The append-only, hash-chained audit log: append events, read them back by run or by range.

An append takes the database's write lock, reads the head, numbers and chains the new events,
inserts them and commits: a batch is all there or not at all, and `append` returning means the
events are on disk (WAL, synchronous FULL). A writer killed mid-append leaves the previous head.
Anchors are written after the commit; a crash in between costs one anchor, never an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from store.anchors import AnchorFile
from store.db import Database
from store.events import GENESIS, AuditEvent, EventDraft, open_event, seal_event, utc_now

_INSERT = "INSERT INTO audit_events (seq, run_id, hash, once_key, body) VALUES (?, ?, ?, ?, ?)"


class AuditLog:
    def __init__(self, db: Database, anchors: AnchorFile, anchor_every: int = 1000) -> None:
        self.db = db
        self.anchors = anchors
        self.anchor_every = anchor_every

    def head(self) -> tuple[int, str]:
        """(size, hash of the last event); (0, GENESIS) for an empty log."""
        rows = self.db.query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)

    def append(
        self,
        drafts: Sequence[EventDraft],
        once_key: str | None = None,
        anchor: bool = False,
        then: Callable[[list[AuditEvent]], None] | None = None,
    ) -> list[AuditEvent]:
        """Chain and store `drafts` in one transaction; returns them as stored.

        With `once_key`, a batch already stored under that key is not stored again (returns []):
        a step replayed after a crash or a resumed graph does not log twice. With `anchor`, the
        new head is anchored as well as every multiple of `anchor_every` the batch crossed.
        `then(events)` runs inside the same transaction, for writes that must commit with them.
        """
        if not drafts:
            return []
        events: list[AuditEvent] = []
        rows: list[tuple[object, ...]] = []
        with self.db.transaction(audit_lock=True):
            if once_key is not None and self.db.query(
                "SELECT 1 FROM audit_events WHERE once_key = ?", (once_key,)
            ):
                return []
            seq, prev = self.head()
            ts = utc_now()
            for i, draft in enumerate(drafts):
                seq += 1
                body, hash_ = seal_event(draft, seq, ts, prev)
                rows.append((seq, draft.run_id, hash_, once_key if i == 0 else None, body))
                # The draft was validated when made; the added fields are ours.
                events.append(
                    AuditEvent.model_construct(
                        **dict(draft), seq=seq, ts=ts, prev_hash=prev, hash=hash_
                    )
                )
                prev = hash_
            self.db.executemany(_INSERT, rows)
            if then is not None:
                then(events)
        points = [(e.seq, e.hash) for e in events if e.seq % self.anchor_every == 0]
        if anchor and (not points or points[-1][0] != events[-1].seq):
            points.append((events[-1].seq, events[-1].hash))
        self.anchors.write(points)
        return events

    def events(self, run_id: str) -> list[AuditEvent]:
        rows = self.db.query(
            "SELECT body, hash FROM audit_events WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [open_event(bytes(body), hash_) for body, hash_ in rows]

    def range(self, first: int, last: int | None = None) -> Iterator[AuditEvent]:
        for batch in self.db.stream(
            "SELECT body, hash FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq",
            (first, last if last is not None else 2**62),
        ):
            for body, hash_ in batch:
                yield open_event(bytes(body), hash_)

    def count(self, run_id: str | None = None) -> int:
        if run_id is None:
            return int(self.db.query("SELECT COUNT(*) FROM audit_events")[0][0])
        rows = self.db.query("SELECT COUNT(*) FROM audit_events WHERE run_id = ?", (run_id,))
        return int(rows[0][0])
