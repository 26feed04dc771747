"""What the Slack surface remembers: deliveries already handled, and which runs live in which
thread.

Slack retries an Events API delivery (same `event_id`, header `X-Slack-Retry-Num`) when it
thinks the first was not acknowledged; an INSERT on the event id's primary key lets exactly one
delivery through, across every server process sharing the database. A thread's runs are what a
question asked in that thread is about. Ids and timestamps only.
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from store.db import Database
from store.events import utc_in, utc_now

# Slack stops retrying after about an hour; ids older than a day are forgotten.
_KEEP_EVENTS_S = 24 * 3600
_PRUNE_EVERY_S = 3600.0


class ThreadRun(BaseModel):
    channel: str
    thread_ts: str
    run_id: str
    org: str


class SlackStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pruned_at = 0.0

    def first_delivery(self, event_id: str) -> bool:
        """True for the first delivery of an event id, False for every retry after it."""
        now = time.monotonic()
        if now - self._pruned_at > _PRUNE_EVERY_S:
            self._pruned_at = now
            self.db.execute(
                "DELETE FROM slack_events WHERE seen_at < ?", (utc_in(-_KEEP_EVENTS_S),)
            )
        added = self.db.execute(
            "INSERT INTO slack_events (event_id, seen_at) VALUES (?, ?) "
            "ON CONFLICT (event_id) DO NOTHING",
            (event_id, utc_now()),
        )
        return added == 1

    def bind(self, channel: str, thread_ts: str, run_id: str, org: str) -> None:
        """Remember that `run_id` was posted in this thread."""
        self.db.execute(
            "INSERT INTO slack_threads (channel, thread_ts, run_id, org, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, thread_ts, run_id) DO NOTHING",
            (channel, thread_ts, run_id, org, utc_now()),
        )

    def runs_in(self, channel: str, thread_ts: str, org: str) -> list[str]:
        """The runs posted in a thread, newest first."""
        rows = self.db.query(
            "SELECT run_id FROM slack_threads WHERE channel = ? AND thread_ts = ? AND org = ? "
            "ORDER BY created_at DESC, run_id",
            (channel, thread_ts, org),
        )
        return [str(r[0]) for r in rows]

    def thread_of(self, run_id: str) -> ThreadRun | None:
        """Where a run was first posted, if it was posted in Slack at all."""
        rows = self.db.query(
            "SELECT channel, thread_ts, run_id, org FROM slack_threads WHERE run_id = ? "
            "ORDER BY created_at LIMIT 1",
            (run_id,),
        )
        if not rows:
            return None
        channel, thread_ts, run, org = rows[0]
        return ThreadRun(channel=channel, thread_ts=thread_ts, run_id=run, org=org)
