"""Review marks: a reviewer's per-code choice (accept, reject, escalate) on a paused run, kept
until the decision is submitted.

Slack's buttons arrive one click at a time, possibly at different server processes; the marks
live here so a Submit anywhere sees every click. Only ids, codes and marks: no chart text.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel

from store.db import Database
from store.events import utc_now

Mark = Literal["accept", "reject", "escalate"]
MARKS: tuple[Mark, ...] = get_args(Mark)


class ReviewMark(BaseModel):
    code: str
    mark: Mark
    actor: str
    marked_at: str


class ReviewMarks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set(self, run_id: str, code: str, mark: Mark, actor: str) -> None:
        """The latest click on a code wins (a reviewer may change their mind)."""
        self.db.execute(
            "INSERT INTO review_marks (run_id, code, mark, actor, marked_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, code) DO UPDATE SET mark = excluded.mark, "
            "actor = excluded.actor, marked_at = excluded.marked_at",
            (run_id, code, mark, actor, utc_now()),
        )

    def of(self, run_id: str) -> dict[str, ReviewMark]:
        rows = self.db.query(
            "SELECT code, mark, actor, marked_at FROM review_marks WHERE run_id = ? ORDER BY code",
            (run_id,),
        )
        return {
            str(r[0]): ReviewMark(code=r[0], mark=r[1], actor=r[2], marked_at=r[3]) for r in rows
        }
