"""Signed anchors: `(size, head hash)` checkpoints of the audit chain, HMAC-signed, in their own file.

A hash chain alone cannot show that its tail was cut: the shorter chain still links. An anchor
says "at size N the head was H", signed with a key that is not in the database, so a log cut
below N, or rewritten before N, no longer matches it. Anchors are appended every
`anchor_every` events and at the end of each run, one JSON line each, fsynced.

Keep this file where the database's writers cannot rewrite it (another disk, a WORM bucket, a log
shipper); in the embedded default it sits beside the database in the data directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from pydantic import BaseModel, ValidationError

from store.events import Digest, utc_now


class Anchor(BaseModel):
    size: int
    head: Digest
    ts: str
    key: str
    mac: str


class AnchorProblem(BaseModel):
    line: int
    problem: str


class AnchorFile:
    def __init__(self, path: Path, key: bytes, key_id: str) -> None:
        self.path = path
        self._key = key
        self._key_id = key_id
        # While held (a group of charts), anchors wait here and are written in one go at the end.
        self._held: list[tuple[int, str]] | None = None

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Collect anchors until the block ends, then write them with one fsync.

        Anchors are written after their events commit anyway (a crash in between costs an
        anchor, never an event); a group of charts writes them once, not once a chart.
        """
        if self._held is not None:
            yield
            return
        self._held = []
        try:
            yield
        finally:
            points, self._held = self._held, None
            if points:
                self.write(points)

    def _mac(self, size: int, head: str, ts: str, key_id: str) -> str:
        msg = orjson.dumps(
            {"size": size, "head": head, "ts": ts, "key": key_id}, option=orjson.OPT_SORT_KEYS
        )
        return "hmac-sha256:" + hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def write(self, points: list[tuple[int, str]]) -> None:
        """Append one signed anchor per `(size, head)`; one write and one fsync for all of them."""
        if not points:
            return
        if self._held is not None:
            self._held.extend(points)
            return
        ts = utc_now()
        lines = b"".join(
            orjson.dumps(
                {
                    "size": size,
                    "head": head,
                    "ts": ts,
                    "key": self._key_id,
                    "mac": self._mac(size, head, ts, self._key_id),
                },
                option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE,
            )
            for size, head in points
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # Writers in several processes append whole lines, never interleaved halves.
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, lines)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> tuple[list[Anchor], list[AnchorProblem]]:
        """Anchors whose signature checks, and a problem for every line that does not.

        A last line without its newline is a write cut short by a crash, not tampering: it is
        reported apart (line number 0) so verification can ignore it.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return [], []
        anchors: list[Anchor] = []
        problems: list[AnchorProblem] = []
        lines = raw.split(b"\n")
        for n, line in enumerate(lines, start=1):
            if not line:
                continue
            torn = n == len(lines)  # no newline after it
            try:
                anchor = Anchor.model_validate(orjson.loads(line))
            except (orjson.JSONDecodeError, ValidationError):
                problems.append(AnchorProblem(line=0 if torn else n, problem="unreadable anchor"))
                continue
            if anchor.key != self._key_id:
                problems.append(AnchorProblem(line=n, problem="signed with another key"))
            elif not hmac.compare_digest(
                anchor.mac, self._mac(anchor.size, anchor.head, anchor.ts, anchor.key)
            ):
                problems.append(AnchorProblem(line=n, problem="signature does not match"))
            else:
                anchors.append(anchor)
        return anchors, problems
