"""Reading stored runs, for every surface: each look at a run is itself an audit event.

An auditor months later must be able to tell who looked at a chart's codes, not only who changed
them; so `read_run` appends `run.read` (actor, run, surface) before it returns anything.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from store.events import EventDraft
from store.records import Records
from store.runs import RunRecord, RunStatus


class RunView(BaseModel):
    run: RunRecord
    output: dict[str, Any] | None


def list_runs(
    records: Records, limit: int = 20, status: RunStatus | None = None, surface: str = "runs"
) -> list[RunRecord]:
    runs = records.runs.runs(limit=limit, status=status)
    records.audit.append(
        [EventDraft(action="run.list", actor=records.actor, name=surface, count=len(runs))]
    )
    return runs


def read_run(records: Records, run_id: str, surface: str) -> RunView:
    run = records.runs.run(run_id)
    records.audit.append(
        [
            EventDraft(
                action="run.read",
                actor=records.actor,
                run_id=run.run_id,
                chart=run.chart_hash,
                name=surface,
            )
        ]
    )
    return RunView(run=run, output=records.runs.output(run_id))
