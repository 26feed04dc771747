"""Verifying the audit log: every event hashes to its stored hash, links to the one before, and
agrees with every signed anchor; the first sequence number where that fails is named.

The loop stays in plain Python over raw rows (no model validation) so millions of events verify
in seconds. A range `first..last` starts from the nearest signed anchor at or below `first - 1`,
so a range check trusts only what a signature vouches for.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import orjson
from pydantic import BaseModel, Field

from store.audit_log import AuditLog
from store.events import GENESIS


class VerifyReport(BaseModel):
    ok: bool
    first: int = Field(description="first sequence number checked")
    last: int = Field(description="last sequence number checked")
    events: int
    anchors_checked: int
    first_bad: int | None = None
    problem: str | None = None
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def verify_log(log: AuditLog, first: int = 1, last: int | None = None) -> VerifyReport:
    t0 = time.perf_counter()
    anchors, anchor_problems = log.anchors.read()
    notes = [
        f"ignored a torn last anchor line ({p.problem})" for p in anchor_problems if p.line == 0
    ]
    first = max(first, 1)
    bad_anchor = next((p for p in anchor_problems if p.line != 0), None)
    if bad_anchor is not None:
        return VerifyReport(
            ok=False, first=first, last=first - 1, events=0, anchors_checked=0,
            problem=f"anchor file line {bad_anchor.line}: {bad_anchor.problem}",
            notes=notes, seconds=time.perf_counter() - t0,
        )  # fmt: skip
    heads_at: dict[int, set[str]] = {}
    for a in anchors:
        heads_at.setdefault(a.size, set()).add(a.head)

    # Start from the nearest signed head at or below first - 1 (the genesis if there is none).
    base = max((size for size in heads_at if size <= first - 1), default=0)
    walk = _Walk(first=base + 1, notes=notes, t0=t0)
    prev = GENESIS
    if base:
        if len(heads_at[base]) > 1:
            return walk.fail(base, base, "two signed anchors disagree")
        prev = next(iter(heads_at[base]))
    expected = base + 1
    last_matched_anchor = base
    sha256 = hashlib.sha256
    loads = orjson.loads

    for batch in log.db.stream(
        "SELECT seq, run_id, hash, body FROM audit_events WHERE seq >= ? AND seq <= ? ORDER BY seq",
        (expected, last if last is not None else 2**62),
    ):
        for seq, run_id, hash_, body in batch:
            if seq != expected:
                return walk.fail(expected - 1, expected, _missing(expected, seq))
            body = bytes(body)
            try:
                fields = loads(body)
            except orjson.JSONDecodeError:
                fields = None
            problem: str | None = None
            if not isinstance(fields, dict):
                problem = "event body is not readable JSON"
            elif "sha256:" + sha256(body).hexdigest() != hash_:
                problem = "hash does not match the event's content"
            elif fields.get("seq") != seq:
                problem = f"event says it is seq {fields.get('seq')} (moved or duplicated)"
            elif fields.get("prev_hash") != prev:
                problem = "does not link to the event before it (reordered, inserted or deleted)"
            elif fields.get("run_id") != run_id:
                problem = "run_id column differs from the hashed event"
            if problem:
                return walk.fail(seq, seq, problem)
            heads = heads_at.get(seq)
            if heads is not None:
                walk.anchors_checked += 1
                if heads != {hash_}:
                    # Each event links, so the chain was rebuilt after the last matching anchor.
                    return walk.fail(
                        seq,
                        last_matched_anchor + 1,
                        f"head at seq {seq} differs from its signed anchor: events after seq "
                        f"{last_matched_anchor} were rewritten",
                    )
                last_matched_anchor = seq
            prev = hash_
            expected += 1

    end = expected - 1
    top = max(heads_at, default=0)
    if top > end and (last is None or last >= top):
        return walk.fail(
            end,
            end + 1,
            f"log ends at seq {end} but a signed anchor records {top} events: seq {end + 1} "
            f"to {top} were cut",
        )
    return walk.report(end)


def _missing(expected: int, found: int) -> str:
    if found == expected + 1:
        return f"seq {expected} is missing (deleted)"
    return f"seq {expected} to {found - 1} are missing (deleted)"


@dataclass
class _Walk:
    """Where a verification started and what it has seen, to report from wherever it stops."""

    first: int
    notes: list[str]
    t0: float
    anchors_checked: int = 0

    def report(
        self, last: int, first_bad: int | None = None, problem: str | None = None
    ) -> VerifyReport:
        return VerifyReport(
            ok=problem is None,
            first=self.first,
            last=last,
            events=max(last - self.first + 1, 0),
            anchors_checked=self.anchors_checked,
            first_bad=first_bad,
            problem=problem,
            notes=self.notes,
            seconds=time.perf_counter() - self.t0,
        )

    def fail(self, last: int, first_bad: int, problem: str) -> VerifyReport:
        return self.report(last, first_bad, problem)
