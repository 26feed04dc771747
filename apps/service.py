"""The one service layer every surface calls: code charts, resume reviewed runs, return contract
objects; every run is stored, audited and (when it waits for a person) checkpointed encrypted.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from langgraph.types import Command

from agent.audit import AuditedContext, RunRecorder
from agent.context import CodingContext
from agent.decisions import ReviewedChartResult
from agent.graph import build_graph
from agent.justification import justify
from agent.review import ReviewError, ReviewRequest, check_decision
from agent.schema import SCHEMA_VERSION, AuditSummary, ChartResult, Setting
from agent.settings import Settings
from agent.state import CodingInput, CodingState
from store.checkpoints import model_allowlist, open_checkpointer
from store.events import AuditEvent, digest, digest_json
from store.records import Records, database_url
from store.runs import ReviewRecord, RunStatus
from tools.chart import Chart
from tools.codeset import CODE_SET_VERSION

log = logging.getLogger(__name__)


def new_run_id() -> str:
    return "run-" + uuid.uuid4().hex[:16]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def chart_id_for(path: Path) -> str:
    """A stable id from the file's bytes, so no patient name in a file name leaks into ids."""
    return "chart-" + file_sha256(path)[:12]


def chart_content_hash(chart: Chart) -> str:
    """What a chart is stored under: its document's SHA-256, or a hash over its documents'."""
    if len(chart.documents) == 1:
        return "sha256:" + chart.documents[0].sha256
    return digest("\n".join(d.sha256 for d in chart.documents).encode())


def run_versions(context: CodingContext) -> dict[str, str]:
    """Everything that decides an output, as recorded with the run and its first audit event."""
    versions = {
        "code_set": CODE_SET_VERSION,
        "rules": context.rules_version,
        "reasoner": context.reasoner.name,
        "software": "codesense " + _package_version("codesense"),
        "langgraph": _package_version("langgraph"),
        "schema": str(SCHEMA_VERSION),
    }
    for name, sha in getattr(context.reasoner, "prompt_hashes", {}).items():
        versions[f"prompt:{name}"] = sha
    return versions


@lru_cache(maxsize=8)
def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


class CodingService:
    """Holds the loaded term index and the compiled graphs; safe to reuse for many charts.

    `graph` is the coding graph alone (no pause, no checkpointer, nothing stored): evals and
    tests invoke it directly. `code_file`, `code_chart` and `review` go through `workflow`, the
    same nodes plus the review pause, with the run store, the audit log and the checkpointer.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        context: CodingContext | None = None,
        records: Records | None = None,
    ):
        self.settings = settings or Settings()
        self.context = context or CodingContext.create(self.settings)
        self.graph: Any = build_graph(human_review=False).compile()
        self._records = records
        self._workflow: Any = None
        self._checkpointer: Any = None

    @property
    def records(self) -> Records:
        if self._records is None:
            self._records = Records.open(self.settings)
        return self._records

    @property
    def workflow(self) -> Any:
        if self._workflow is None:
            self._checkpointer = open_checkpointer(
                database_url(self.settings),
                self.settings.data_dir / "checkpoints.db",
                self.records.keys.checkpoints,
                model_allowlist(CodingState),
            )
            self._workflow = build_graph().compile(checkpointer=self._checkpointer)
        return self._workflow

    def code_file(self, path: str | Path, setting: Setting | None = None) -> ChartResult:
        source = Path(path)
        sha = file_sha256(source) if source.is_file() else None
        return self._run(
            CodingInput(
                chart_id="chart-" + sha[:12] if sha else "chart-unknown",
                run_id=new_run_id(),
                setting=setting or self.settings.setting,
                sources=[str(source)],
            ),
            chart_hash="sha256:" + sha if sha else None,
        )

    def code_chart(self, chart: Chart, setting: Setting | None = None) -> ChartResult:
        return self._run(
            CodingInput(
                chart_id=chart.chart_id,
                run_id=new_run_id(),
                setting=setting or self.settings.setting,
                chart=chart,
            ),
            chart_hash=chart_content_hash(chart),
        )

    def _run(self, inp: CodingInput, chart_hash: str | None) -> ChartResult:
        records = self.records
        versions = run_versions(self.context)
        recorder = RunRecorder(records.audit, inp.run_id, chart_hash)
        recorder.add("run.start", actor=records.actor, name="code", versions=versions)
        # The run row and its start event commit together, before any work: a run that dies
        # midway still shows, in the store and in the log.
        recorder.flush(
            then=lambda _: records.runs.start_run(
                inp.run_id, chart_hash, records.actor, inp.setting, versions
            )
        )
        state = self._invoke(inp, recorder)
        result = ChartResult.model_validate(state["result"])
        log.info(
            "coded chart=%s run=%s route=%s codes=%d",
            result.chart_id,
            result.run_id,
            result.route,
            len(result.suggestions),
        )
        return self._settle(state, result, recorder, versions)

    def review(self, run_id: str, request: ReviewRequest) -> ReviewedChartResult:
        """Apply a reviewer's decision to a paused run and let its graph finish."""
        records = self.records
        run = records.runs.run(run_id)
        if run.status != "awaiting_review":
            raise ReviewError(
                f"run {run_id} is {run.status.replace('_', ' ')}, not awaiting review"
            )
        snapshot = self.workflow.get_state(_thread(run_id))
        if "await_review" not in snapshot.next:
            raise ReviewError(f"run {run_id} has no paused graph to resume")
        state = CodingState.model_validate(snapshot.values)
        decision = check_decision(state, request)
        recorder = RunRecorder(
            records.audit, run_id, run.chart_hash, lineage=run.audit_head or None
        )
        recorder.add("run.read", actor=f"reviewer:{decision.reviewer}", name="review")
        out = self._invoke(Command(resume=decision.model_dump(mode="json")), recorder, run_id)
        result = ReviewedChartResult.model_validate(
            {**ChartResult.model_validate(out["result"]).model_dump(), "review": out["review"]}
        )
        assert result.review is not None
        review = ReviewRecord(
            decision_id=decision.decision_id,
            run_id=run_id,
            reviewer=decision.reviewer,
            decided_at=decision.decided_at,
            accepted=result.review.accepted,
            rejected=result.review.rejected,
            added=[a.code for a in result.review.added],
        )
        self._settle(
            out,
            result,
            recorder,
            run.versions,
            once_key=decision.decision_id,
            also=lambda: records.runs.save_review(review, decision.model_dump(mode="json")),
        )
        return result

    def _invoke(self, payload: Any, recorder: RunRecorder, run_id: str | None = None) -> Any:
        run_id = run_id or payload.run_id
        context = AuditedContext.around(self.context, recorder)
        try:
            # durability="exit": one checkpoint when the graph stops (paused or done), not one
            # per step; a crashed run is recoded, a paused one resumes from that checkpoint.
            return self.workflow.invoke(
                payload, _thread(run_id), context=context, durability="exit"
            )
        except Exception as err:
            recorder.add("run.end", result="error", error=type(err).__name__)
            recorder.flush(
                anchor=True,
                then=lambda events: self.records.runs.finish_run(
                    run_id, "failed", audit=self._audit_of(run_id, events)
                ),
            )
            raise

    def _settle(
        self,
        state: dict[str, Any],
        result: ChartResult,
        recorder: RunRecorder,
        versions: dict[str, str],
        once_key: str | None = None,
        also: Callable[[], None] | None = None,
    ) -> ChartResult:
        """Close the run's audit trail and, in the same transaction, store the chart (sealed,
        once per content hash), the output and the justification; `result.audit` is filled."""
        records = self.records
        run_id = result.run_id
        paused = "__interrupt__" in state
        final = CodingState.model_validate({k: v for k, v in state.items() if k[:2] != "__"})
        chart_hash = recorder.chart
        if final.chart is not None:
            chart_hash = chart_hash or chart_content_hash(final.chart)
        codes = final.review.codes if final.review else [s.code for s in result.suggestions]
        recorder.add(
            "run.pause" if paused else "run.end",
            chart=chart_hash,
            codes=sorted(set(codes)),
            output_hash=digest_json(result.model_dump(mode="json", exclude={"audit"})),
            result=result.route,
        )
        status: RunStatus = (
            "awaiting_review" if paused else "reviewed" if final.review else "completed"
        )
        justification = justify(final, versions).model_dump(mode="json")

        def store(events: list[AuditEvent]) -> None:
            audit = self._audit_of(run_id, events)
            result.audit = AuditSummary(events=audit[0], head=audit[1])
            if final.chart is not None and chart_hash is not None:
                records.runs.save_chart(
                    chart_hash, len(final.chart.documents), final.chart.model_dump(mode="json")
                )
            if also is not None:
                also()
            records.runs.finish_run(
                run_id,
                status,
                chart_hash=chart_hash,
                route=result.route,
                codes=codes,
                audit=audit,
                output=result.model_dump(mode="json"),
                justification=justification,
            )

        recorder.flush(once_key=once_key, anchor=True, then=store)
        if not paused:
            # The run store keeps what the trace needs; the checkpoint (chart text and all) goes.
            self._checkpointer.delete_thread(run_id)
        return result

    def _audit_of(self, run_id: str, events: list[AuditEvent]) -> tuple[int, str]:
        """(events logged for the run so far, hash of the newest): the output's `audit` field."""
        return self.records.audit.count(run_id), events[-1].hash if events else ""


def _thread(run_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": run_id}}
