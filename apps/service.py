"""The one facade every surface calls: the command line, the HTTP API, the web pages and Slack.

Each call takes an `Actor` (who, which role, which organisation), checks the role against the one
role matrix (`apps/actors.py`), keeps to the actor's organisation (another org's run is "not
found"), audits what it did or read, and returns typed models. Surfaces parse, authorise for
their own transport and render; they never code, store or audit by themselves, so
`codesense trace`, `GET /v1/runs/{id}/trace` and a Slack "why" question cannot disagree.

Every coding run is stored and audited; charts routed `review` or `escalate` pause with an
encrypted checkpoint until a person decides. A review claims the run first: of two reviewers at
once, one is applied and the other told the run is being (or was) reviewed.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langgraph.types import Command
from pydantic import BaseModel

from agent.audit import AuditedContext, RunRecorder
from agent.context import CodingContext
from agent.graph import build_graph
from agent.justification import justify
from agent.questions import RunAnswer
from agent.review import ReviewError, ReviewRequest, check_decision
from agent.sentinel import CODE_SET_CITATIONS, parse_codes
from agent.sentinel import check as sentinel_check
from agent.state import CodingInput, CodingState
from apps.actors import Actor, Role
from apps.feedback import Correction, Feedback, FeedbackBy, group_corrections
from apps.fhir_export import condition_bundle
from apps.metrics import Group, Metrics
from apps.metrics import compute as compute_metrics
from apps.telemetry import Telemetry
from apps.trace import Trace, collect_trace
from core.contract import (
    SCHEMA_VERSION,
    AuditReport,
    AuditSummary,
    ChartResult,
    Evidence,
    ReviewedChartResult,
    Setting,
    Severity,
    risk_score,
)
from core.errors import ChartInputError, ChartTooLarge, CodeSenseError, Conflict
from core.settings import Settings
from store.api_keys import ApiKeyRecord, KeyNotFound
from store.checkpoints import model_allowlist, open_checkpointer
from store.db import sync_sqlite_files
from store.events import AuditEvent, EventDraft, digest, digest_json
from store.marks import Mark, ReviewMark, ReviewMarks
from store.outcomes import Outcome, OutcomeRequest
from store.owners import this_process
from store.records import Records, database_url
from store.runs import (
    ReviewRecord,
    RunKind,
    RunNotFound,
    RunRecord,
    RunStatus,
    review_conflict,
)
from store.verify import VerifyReport, verify_log
from tools.chart import Chart
from tools.codeset import CODE_SET_VERSION, CodeSet
from tools.extract.annotate import PALETTE, LegendEntry, SpanToMark, annotate_pdf, marks_for
from tools.extract.fhir import attachment_bytes, chart_from_fhir
from tools.extract.uploads import read_upload
from tools.rule_lookup import RuleLookupInput, RuleLookupOutput, lookup_rules, rule_index

log = logging.getLogger(__name__)

# A mark as the audit log's result vocabulary says it.
_MARK_RESULT = {"accept": "accepted", "reject": "rejected", "escalate": "escalate"}


class RunView(BaseModel):
    """A stored run: its record (ids, status, codes) and its output, the contract plus review."""

    run: RunRecord
    result: ReviewedChartResult | None


class TraceView(BaseModel):
    """A run's justification trace and the chart it cites (None when the chart is not stored)."""

    trace: Trace
    chart: Chart | None


if TYPE_CHECKING:
    from fhir.resources.R4B.bundle import Bundle as FhirBundle


def new_run_id() -> str:
    return "run-" + uuid.uuid4().hex[:16]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
        "software": "codesense " + package_version("codesense"),
        "langgraph": package_version("langgraph"),
        "schema": str(SCHEMA_VERSION),
    }
    for name, sha in getattr(context.reasoner, "prompt_hashes", {}).items():
        versions[f"prompt:{name}"] = sha
    return versions


@lru_cache(maxsize=8)
def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


class Service:
    """Holds the loaded term index, the compiled graph and the store; one per process.

    Safe to share between threads (the server's worker threads): the store serialises its
    writes, and each run is its own graph thread.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        context: CodingContext | None = None,
        records: Records | None = None,
    ):
        self.settings = settings or Settings()
        self._context = context
        self._records = records
        self._workflow: Any = None
        self._sentinel_graph: Any = None
        self._checkpointer: Any = None
        # The model endpoint for questions about runs, made on the first question.
        self._endpoint: Any = None
        self._lock = threading.Lock()
        # One chart through the graph at a time per process: the NLP pipeline (spaCy, medspaCy)
        # is shared and not made for concurrent calls. Storage, fsyncs and PDF children run
        # outside it, so server threads still overlap them.
        self._graph_lock = threading.Lock()
        self.telemetry = Telemetry()

    # -- what the service holds, loaded on first use ------------------------------------------

    @property
    def context(self) -> CodingContext:
        if self._context is None:
            with self._lock:
                if self._context is None:
                    self._context = CodingContext.create(self.settings)
        return self._context

    @property
    def records(self) -> Records:
        if self._records is None:
            with self._lock:
                if self._records is None:
                    self._records = Records.open(self.settings)
        return self._records

    @property
    def workflow(self) -> Any:
        if self._workflow is None:
            records = self.records
            with self._lock:
                if self._workflow is None:
                    self._checkpointer = open_checkpointer(
                        database_url(self.settings),
                        self.settings.data_dir / "checkpoints.db",
                        records.keys.checkpoints,
                        model_allowlist(CodingState),
                    )
                    self._workflow = build_graph().compile(checkpointer=self._checkpointer)
        return self._workflow

    @contextmanager
    def group_commit(self) -> Iterator[None]:
        """Code several charts with one disk sync at the end instead of several per chart.

        Every run still commits its own transactions (run row and events together, in order);
        inside the block they are not waited onto the disk one by one. When the block returns,
        the store, its checkpoints and the audit anchors are synced: only then may a surface
        acknowledge (print, return) the results coded inside it. `codesense code FILE...` and
        batch workers use it per group of charts.
        """
        records = self.records
        _ = self.workflow
        found = getattr(self._checkpointer, "conn", None)
        conn = found if isinstance(found, sqlite3.Connection) else None
        with records.audit.anchors.hold(), records.db.deferred_sync():
            if conn is not None:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                yield
            finally:
                if conn is not None:
                    conn.execute("PRAGMA synchronous=FULL")
                    sync_sqlite_files(self.settings.data_dir / "checkpoints.db")

    def close(self) -> None:
        """Close the store and the checkpoint database (a command's last step): SQLite folds
        its write-ahead log back into the database file when the last connection closes."""
        with self._lock:
            conn = getattr(self._checkpointer, "conn", None)
            if conn is not None:
                conn.close()
            if self._records is not None:
                self._records.close()
            self._workflow = self._checkpointer = self._records = None

    def warm(self) -> None:
        """Load the term index, the rules, the store and the graph now, not on the first chart."""
        _ = self.context, self.workflow

    @property
    def _limits(self) -> dict[str, Any]:
        s = self.settings
        return {
            "max_bytes": int(s.max_file_mb * 1024 * 1024),
            "pdf_timeout_s": s.pdf_timeout_s,
            "pdf_memory_mb": s.pdf_memory_mb,
        }

    # -- coding ----------------------------------------------------------------------------

    def code_file(
        self, actor: Actor, path: str | Path, setting: Setting | None = None
    ) -> ChartResult:
        """Code a chart file (text or PDF); the file is read inside the graph's first step."""
        actor.require("code")
        source = Path(path)
        sha = file_sha256(source) if source.is_file() else None
        return self._code(
            actor,
            CodingInput(
                chart_id="chart-" + sha[:12] if sha else "chart-unknown",
                run_id=new_run_id(),
                setting=setting or self.settings.setting,
                sources=[str(source)],
            ),
            chart_hash="sha256:" + sha if sha else None,
        )

    def code_chart(self, actor: Actor, chart: Chart, setting: Setting | None = None) -> ChartResult:
        """Code a chart already read into documents (text in memory, an upload, FHIR)."""
        actor.require("code")
        return self._code(
            actor,
            CodingInput(
                chart_id=chart.chart_id,
                run_id=new_run_id(),
                setting=setting or self.settings.setting,
                chart=chart,
            ),
            chart_hash=chart_content_hash(chart),
        )

    def code_text(
        self, actor: Actor, text: str, setting: Setting | None = None, name: str = "note.txt"
    ) -> ChartResult:
        return self.code_chart(actor, self.read_text(text, name), setting)

    def code_upload(
        self, actor: Actor, data: bytes, filename: str | None, setting: Setting | None = None
    ) -> ChartResult:
        return self.code_chart(actor, self.read_upload(data, filename), setting)

    def code_fhir(
        self, actor: Actor, resource: dict[str, Any], setting: Setting | None = None
    ) -> ChartResult:
        return self.code_chart(actor, self.read_fhir(resource), setting)

    # Reading a chart from what a surface received, with this service's limits.

    def read_text(self, text: str, name: str = "note.txt") -> Chart:
        return self.read_upload(text.encode("utf-8"), name)

    def read_upload(self, data: bytes, filename: str | None) -> Chart:
        doc = read_upload(data, filename, **self._limits)
        chart = Chart(chart_id="chart-" + doc.sha256[:12], documents=[doc])
        self._keep_originals(chart, [data])
        return chart

    def read_fhir(self, resource: dict[str, Any]) -> Chart:
        chart = chart_from_fhir(resource, **self._limits)
        self._keep_originals(chart, attachment_bytes(resource))
        return chart

    def _keep_originals(self, chart: Chart, candidates: list[bytes]) -> None:
        """Keep each PDF document's original bytes (sealed), for the annotated PDF."""
        wanted = {d.sha256 for d in chart.documents if d.kind == "pdf"}
        for data in candidates:
            sha = hashlib.sha256(data).hexdigest()
            if sha in wanted:
                self.records.runs.save_original(sha, data)
                wanted.discard(sha)

    def _code(
        self, actor: Actor, inp: CodingInput, chart_hash: str | None, kind: RunKind = "code"
    ) -> ChartResult:
        started = time.perf_counter()
        records = self.records
        versions = run_versions(self.context)
        recorder = RunRecorder(records.audit, inp.run_id, chart_hash)
        recorder.add("run.start", actor=actor.audit_id, org=actor.org, name=kind, versions=versions)
        # The run row and its start event commit together, before any work: a run that dies
        # midway still shows, in the store and in the log (and is marked interrupted later).
        recorder.flush(
            then=lambda _: records.runs.start_run(
                inp.run_id,
                chart_hash,
                actor.audit_id,
                inp.setting,
                versions,
                org=actor.org,
                kind=kind,
                owner=this_process(),
                lease_s=self.settings.run_lease_s,
            )
        )
        state = self._invoke(inp, recorder, inp.run_id, on_error=self._fail_run)
        result = ChartResult.model_validate(state["result"])
        log.info(
            "coded chart=%s run=%s route=%s codes=%d",
            result.chart_id,
            result.run_id,
            result.route,
            len(result.suggestions),
        )
        settled = self._settle(state, result, recorder, versions)
        self.telemetry.coded(result.route, time.perf_counter() - started)
        self._count_model_calls(recorder)
        return settled

    def _count_model_calls(self, recorder: RunRecorder) -> None:
        calls = [e for e in recorder.written if e.action == "model.call"]
        failed = sum(1 for e in calls if e.result == "error")
        self.telemetry.model_calls(len(calls) - failed, failed)

    # -- review ------------------------------------------------------------------------------

    def review(self, actor: Actor, run_id: str, request: ReviewRequest) -> ReviewedChartResult:
        """Apply a reviewer's decision to a paused run and let its graph finish.

        The decision is checked against the chart first (unknown or non-billable codes, spans
        that are not visible chart text); then the run is claimed, so a second reviewer at the
        same moment is refused with nothing applied; a failure releases the claim.
        """
        actor.require("review")
        records = self.records
        run = _coding_run(records.runs.run(run_id, org=actor.org))
        reviewer = request.reviewer if actor.via == "cli" and request.reviewer else actor.id
        request = request.model_copy(update={"reviewer": reviewer})
        if run.status != "awaiting_review":
            raise review_conflict(run_id, run.status)
        snapshot = self.workflow.get_state(_thread(run_id))
        if "await_review" not in snapshot.next:
            raise CodeSenseError(f"run {run_id} has no paused graph to resume")
        state = CodingState.model_validate(snapshot.values)
        decision = check_decision(state, request)
        records.runs.claim_review(run_id, this_process(), lease_s=self.settings.review_lease_s)
        recorder = RunRecorder(
            records.audit, run_id, run.chart_hash, lineage=run.audit_head or None
        )
        recorder.add("run.read", actor=actor.audit_id, org=actor.org, name="review")
        out = self._invoke(
            Command(resume=decision.model_dump(mode="json")),
            recorder,
            run_id,
            on_error=self._release_review,
        )
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
        self.telemetry.reviewed(len(review.accepted), len(review.rejected), len(review.added))
        self._count_model_calls(recorder)
        return result

    # -- review marks: per-code clicks before a decision is submitted (Slack's buttons) ---------

    def mark_code(
        self, actor: Actor, run_id: str, code: str, mark: Mark, surface: str = "slack"
    ) -> dict[str, ReviewMark]:
        """Record a reviewer's mark on one suggested code of a paused run; every click is an
        audit event (`review.mark`). Returns the run's marks so far. Nothing is decided until
        `review` is called with them."""
        actor.require("review")
        records = self.records
        run = records.runs.run(run_id, org=actor.org)
        if run.status != "awaiting_review":
            raise review_conflict(run_id, run.status)
        norm = CodeSet.normalize(code)
        if norm not in run.codes:
            raise ReviewError(f"{code.strip()[:24]!r} was not suggested for run {run_id}")
        marks = ReviewMarks(records.db)
        with records.db.transaction(audit_lock=True):
            marks.set(run_id, norm, mark, actor.audit_id)
            records.audit.append(
                [
                    EventDraft.model_validate(
                        {
                            "action": "review.mark",
                            "actor": actor.audit_id,
                            "org": actor.org,
                            "name": surface,
                            "run_id": run_id,
                            "chart": run.chart_hash,
                            "codes": [norm],
                            "result": _MARK_RESULT[mark],
                        }
                    )
                ]
            )
        return marks.of(run_id)

    def review_marks(self, actor: Actor, run_id: str) -> dict[str, ReviewMark]:
        """The marks reviewers have set on a run's codes (code -> latest mark)."""
        actor.require("read_runs")
        self.records.runs.run(run_id, org=actor.org)
        return ReviewMarks(self.records.db).of(run_id)

    # -- reading runs --------------------------------------------------------------------------

    def runs(
        self,
        actor: Actor,
        status: RunStatus | None = None,
        route: str | None = None,
        limit: int = 20,
        kind: RunKind | None = None,
        surface: str = "runs",
    ) -> list[RunRecord]:
        actor.require("read_runs")
        found = self.records.runs.runs(
            limit=max(1, min(limit, 1000)), status=status, org=actor.org, route=route, kind=kind
        )
        self._audit_read("run.list", actor, surface, count=len(found))
        return found

    def route_counts(self, actor: Actor) -> dict[str, int]:
        """Runs per route in the actor's organisation (the worklist's header)."""
        actor.require("read_runs")
        return self.records.runs.count_by("route", org=actor.org)

    def run(self, actor: Actor, run_id: str, surface: str = "show") -> RunView:
        """One run and its output; every look at a run is itself an audit event."""
        actor.require("read_runs")
        run = self.records.runs.run(run_id, org=actor.org)
        self._audit_read("run.read", actor, surface, run=run)
        output = self.records.runs.output(run_id) if run.kind == "code" else None
        result = ReviewedChartResult.model_validate(output) if output is not None else None
        return RunView(run=run, result=result)

    def trace(self, actor: Actor, run_id: str, surface: str = "trace") -> TraceView:
        """Why each code: text, rule, versions, steps and review, with the chart it cites."""
        actor.require("trace")
        records = self.records
        run = _coding_run(records.runs.run(run_id, org=actor.org))
        self._audit_read("run.read", actor, surface, run=run)
        trace, chart = collect_trace(records, run, records.runs.output(run_id))
        return TraceView(trace=trace, chart=chart)

    def ask(self, actor: Actor, run_id: str, question: str, surface: str = "ask") -> RunAnswer:
        """A free-form question about a run ("what supports E11.22?"), answered by the model
        endpoint from the run's codes and evidence, the chart's visible text and our tools.
        The answer's quotes are chart text at the spans it cites. Audited: who asked (a
        `run.read`), and the model's usage (a `model.call`), never the question or the answer."""
        from agent.llm_client import ChatEndpoint
        from agent.prompts import load_prompt
        from agent.questions import answer_question

        actor.require("trace")
        records = self.records
        run = _coding_run(records.runs.run(run_id, org=actor.org))
        self._audit_read("run.read", actor, surface, run=run)
        output = records.runs.output(run_id)
        if output is None or run.chart_hash is None:
            raise CodeSenseError(f"run {run_id} has no stored output or chart to ask about")
        chart = Chart.model_validate(records.runs.chart(run.chart_hash))
        if self._endpoint is None and self.settings.llm_base_url and self.settings.llm_model:
            self._endpoint = ChatEndpoint(self.settings)
        versions = {f"prompt:{name}": load_prompt(name).sha256 for name in ("system", "question")}
        event: dict[str, Any] = {
            "action": "model.call",
            "actor": actor.audit_id,
            "org": actor.org,
            "name": "question",
            "run_id": run.run_id,
            "chart": run.chart_hash,
            "versions": versions,
            "input_hash": digest(question.encode()),
        }
        try:
            answer = answer_question(
                question,
                ChartResult.model_validate(output),
                chart,
                self.settings,
                self.context.index,
                endpoint=self._endpoint,
            )
        except CodeSenseError as err:
            records.audit.append(
                [
                    EventDraft.model_validate(
                        {**event, "result": "error", "error": type(err).__name__}
                    )
                ]
            )
            raise
        usage = answer.usage
        records.audit.append(
            [
                EventDraft.model_validate(
                    {
                        **event,
                        "output_hash": digest_json(answer.model_dump(mode="json")),
                        "count": len(answer.evidence),
                        "spans": [
                            {
                                "doc": _doc_index(chart, e.doc_id),
                                "start": e.start,
                                "end": e.end,
                            }
                            for e in answer.evidence
                        ],
                        "usage": {
                            "model": usage.model,
                            "requests": usage.requests,
                            "prompt_tokens": usage.prompt_tokens,
                            "completion_tokens": usage.completion_tokens,
                            "total_tokens": usage.total_tokens,
                            "tool_calls": usage.tool_calls,
                            "latency_ms": usage.latency_ms,
                        },
                    }
                )
            ]
        )
        return answer

    # -- Audit Sentinel ------------------------------------------------------------------------

    def audit_codes(
        self,
        actor: Actor,
        *,
        codes: list[str] | str,
        text: str | None = None,
        path: str | Path | None = None,
        upload: bytes | None = None,
        filename: str | None = None,
        fhir: dict[str, Any] | None = None,
        setting: Setting = "outpatient",
    ) -> AuditReport:
        """Check codes someone already assigned against a chart given as text, a file, an
        upload or a FHIR resource (exactly one). Unknown codes are refused before anything is
        read or stored; the audit is a run of kind `audit`, its report sealed in the store."""
        actor.require("audit_codes")
        assigned = parse_codes(codes)
        given = [x for x in (text, path, upload, fhir) if x is not None]
        if len(given) != 1:
            raise ChartInputError("give exactly one chart: text, a file, an upload or FHIR")
        if text is not None:
            chart = self.read_text(text, filename or "note.txt")
        elif upload is not None:
            chart = self.read_upload(upload, filename)
        elif fhir is not None:
            chart = self.read_fhir(fhir)
        else:
            assert path is not None
            chart = self.read_file(Path(path))
        return self._audit_chart(actor, chart, assigned, setting)

    def audit_run(self, actor: Actor, run_id: str, codes: list[str] | str) -> AuditReport:
        """Check codes against the chart of an existing run (of the actor's org), in its
        setting: "check E11.22, N18.31, I10" asked in a run's Slack thread."""
        actor.require("audit_codes")
        assigned = parse_codes(codes)
        records = self.records
        run = records.runs.run(run_id, org=actor.org)
        data = records.runs.chart(run.chart_hash) if run.chart_hash else None
        if data is None:
            raise Conflict(f"run {run_id} has no stored chart to audit")
        setting: Setting = "inpatient" if run.setting == "inpatient" else "outpatient"
        self._audit_read("run.read", actor, "audit_run", run=run)
        return self._audit_chart(
            actor, Chart.model_validate(data), assigned, setting, source_run_id=run.run_id
        )

    def audit_report(self, actor: Actor, run_id: str, surface: str = "audit_report") -> AuditReport:
        """A stored Audit Sentinel report (a run of kind `audit` of the actor's org)."""
        actor.require("audit_codes")
        run = self.records.runs.run(run_id, org=actor.org)
        if run.kind != "audit":
            raise RunNotFound(f"no audit {run_id}: it is a coding run (see GET /v1/runs/{run_id})")
        self._audit_read("run.read", actor, surface, run=run)
        output = self.records.runs.output(run_id)
        if output is None:
            raise Conflict(f"audit {run_id} is {run.status.replace('_', ' ')}: no report stored")
        return AuditReport.model_validate(output)

    def audit_chart_of(self, actor: Actor, run_id: str) -> Chart | None:
        """The chart an audit report cites (for the report page), None when not stored."""
        actor.require("audit_codes")
        run = self.records.runs.run(run_id, org=actor.org)
        data = self.records.runs.chart(run.chart_hash) if run.chart_hash else None
        return Chart.model_validate(data) if data is not None else None

    def read_file(self, path: Path) -> Chart:
        """A chart file (text or PDF) read with this service's limits."""
        if not path.is_file():
            raise ChartInputError(f"{path.name}: no such file")
        size = path.stat().st_size
        if size > self._limits["max_bytes"]:
            raise ChartTooLarge(
                f"{path.name}: {size / 1048576:.1f} MB is over the {self.settings.max_file_mb} MB "
                "limit"
            )
        return self.read_upload(path.read_bytes(), path.name)

    @property
    def sentinel_graph(self) -> Any:
        """The coding graph without the review pause: an audit never waits for a person."""
        if self._sentinel_graph is None:
            with self._lock:
                if self._sentinel_graph is None:
                    self._sentinel_graph = build_graph(human_review=False).compile()
        return self._sentinel_graph

    def _audit_chart(
        self,
        actor: Actor,
        chart: Chart,
        assigned: list[str],
        setting: Setting,
        source_run_id: str | None = None,
    ) -> AuditReport:
        started = time.perf_counter()
        records = self.records
        run_id = new_run_id()
        chart_hash = chart_content_hash(chart)
        versions = run_versions(self.context)
        recorder = RunRecorder(records.audit, run_id, chart_hash)
        recorder.add(
            "run.start",
            actor=actor.audit_id,
            org=actor.org,
            name="audit",
            versions=versions,
            codes=assigned,
        )
        recorder.flush(
            then=lambda _: records.runs.start_run(
                run_id,
                chart_hash,
                actor.audit_id,
                setting,
                versions,
                org=actor.org,
                kind="audit",
                owner=this_process(),
                lease_s=self.settings.run_lease_s,
            )
        )
        inp = CodingInput(chart_id=chart.chart_id, run_id=run_id, setting=setting, chart=chart)
        context = AuditedContext.around(self.context, recorder)
        try:
            graph = self.sentinel_graph
            with self._graph_lock:
                state = CodingState.model_validate(graph.invoke(inp, context=context))
            checked, findings = sentinel_check(state, assigned, self.context.rules)
        except BaseException as err:
            recorder.add("run.end", result="error", error=type(err).__name__)
            self._fail_run(run_id, recorder)
            raise
        assert state.result is not None and state.chart is not None
        report = AuditReport(
            run_id=run_id,
            chart_id=chart.chart_id,
            setting=setting,
            assigned=checked,
            findings=findings,
            risk=risk_score(findings),
            supported_codes=[s.code for s in state.result.suggestions],
            code_set=state.result.code_set,
            rules_version=state.result.rules_version,
            reasoner=state.result.reasoner,
            versions=versions,
            source_run_id=source_run_id,
        )
        for finding in findings:
            recorder.add(
                "audit.finding",
                name=finding.kind,
                codes=[finding.code, *finding.suggested][:500],
                result=_SEVERITY_RESULT[finding.severity],
                spans=[
                    {"doc": _doc_index(state.chart, e.doc_id), "start": e.start, "end": e.end}
                    for e in finding.evidence
                ],
            )
        worst = min((_SEVERITY_RANK[f.severity] for f in findings), default=len(_SEVERITY_RANK))
        recorder.add(
            "run.end",
            codes=sorted(assigned),
            output_hash=digest_json(report.model_dump(mode="json", exclude={"audit"})),
            result=("fail", "warn", "pass", "ok")[worst],
            count=len(findings),
        )
        final_chart = state.chart

        def store(events: list[AuditEvent]) -> None:
            audit = self._audit_of(run_id, events)
            report.audit = AuditSummary(events=audit[0], head=audit[1])
            records.runs.save_chart(
                chart_hash, len(final_chart.documents), final_chart.model_dump(mode="json")
            )
            records.runs.finish_run(
                run_id,
                "completed",
                chart_hash=chart_hash,
                codes=assigned,
                audit=audit,
                output=report.model_dump(mode="json"),
            )

        recorder.flush(anchor=True, then=store)
        log.info(
            "audited chart=%s run=%s codes=%d findings=%d",
            chart.chart_id,
            run_id,
            len(assigned),
            len(findings),
        )
        log.debug("audit %s took %.3fs", run_id, time.perf_counter() - started)
        return report

    # -- the audit log -------------------------------------------------------------------------

    def verify_audit(self, actor: Actor, first: int = 1, last: int | None = None) -> VerifyReport:
        actor.require("audit_log")
        report = verify_log(self.records.audit, first=first, last=last)
        self._audit_read("audit.read", actor, "verify", count=report.events)
        return report

    def audit_events(
        self, actor: Actor, run_id: str | None = None, first: int = 1, limit: int = 100
    ) -> list[AuditEvent]:
        """A run's events (of the actor's org), or the log from `first` on (events of other
        organisations' runs left out)."""
        actor.require("audit_log")
        audit = self.records.audit
        limit = max(0, min(limit, 10_000))
        if run_id is not None:
            self.records.runs.run(run_id, org=actor.org)
            events = audit.events(run_id)[:limit]
        else:
            mine = self._org_runs(actor.org)
            events = []
            for event in audit.range(max(first, 1)):
                if event.run_id is None or event.run_id in mine:
                    events.append(event)
                if len(events) >= limit:
                    break
        self._audit_read("audit.read", actor, "events", count=len(events))
        return events

    def _org_runs(self, org: str) -> set[str]:
        rows = self.records.db.query("SELECT run_id FROM runs WHERE org = ?", (org,))
        return {str(r[0]) for r in rows}

    # -- rules -----------------------------------------------------------------------------------

    def lookup_rules(self, actor: Actor, request: RuleLookupInput) -> RuleLookupOutput:
        """Which guideline rules apply to a code, a situation in words, or both."""
        actor.require("rules")
        return lookup_rules(request)

    # -- API keys --------------------------------------------------------------------------------

    def create_api_key(
        self, actor: Actor, name: str, role: Role, org: str | None = None
    ) -> tuple[ApiKeyRecord, str]:
        """A new key (record, token). The token is returned once and never stored."""
        actor.require("manage_keys")
        checked = Actor(id=name, role=role, org=org or actor.org, via="api")
        record, token = self.records.api_keys.create(
            checked.id, checked.role, checked.org, actor.audit_id
        )
        self._audit_read("apikey.create", actor, "apikey", org=checked.org)
        return record, token

    def api_keys(self, actor: Actor) -> list[ApiKeyRecord]:
        actor.require("manage_keys")
        return self.records.api_keys.list()

    def revoke_api_key(self, actor: Actor, key_id: str) -> ApiKeyRecord:
        actor.require("manage_keys")
        record = self.records.api_keys.revoke(key_id)
        self._audit_read("apikey.revoke", actor, "apikey", org=record.org)
        return record

    def authenticate(self, token: str, via: str = "api") -> Actor | None:
        """The actor an API key stands for, or None for an unknown, revoked or malformed key."""
        record = self.records.api_keys.authenticate(token)
        if record is None:
            return None
        self.records.api_keys.touch(record.key_id)
        return Actor.model_validate(
            {"id": record.name, "role": record.role, "org": record.org, "via": via}
        )

    def actor_for_key(self, key_id: str, via: str = "web") -> Actor | None:
        """The actor of an active key known by its id (a web session), or None."""
        try:
            record = self.records.api_keys.get(key_id)
        except KeyNotFound:
            return None
        if not record.active:
            return None
        return Actor.model_validate(
            {"id": record.name, "role": record.role, "org": record.org, "via": via}
        )

    # -- claims and the leaders' figures -------------------------------------------------------

    def record_outcome(self, actor: Actor, run_id: str, request: OutcomeRequest) -> Outcome:
        """What happened to a run's claim (submitted, paid, denied, adjusted), as billing says.
        Several per run over time; the latest counts. Audited (status and reason count only)."""
        actor.require("report_outcome")
        records = self.records
        run = records.runs.run(run_id, org=actor.org)
        with records.db.transaction(audit_lock=True):
            outcome = records.outcomes.add(run.run_id, run.org, request, actor.audit_id)
            records.audit.append(
                [
                    EventDraft.model_validate(
                        {
                            "action": "run.outcome",
                            "actor": actor.audit_id,
                            "org": actor.org,
                            "run_id": run.run_id,
                            "chart": run.chart_hash,
                            "codes": run.codes[:500],
                            "result": request.status,
                            "count": len(request.reasons),
                        }
                    )
                ]
            )
        return outcome

    def outcomes(self, actor: Actor, run_id: str) -> list[Outcome]:
        actor.require("read_runs")
        self.records.runs.run(run_id, org=actor.org)
        return self.records.outcomes.for_run(run_id)

    def metrics(
        self,
        actor: Actor,
        start: date | None = None,
        end: date | None = None,
        group: Group = "day",
        setting: str | None = None,
        reviewer: str | None = None,
    ) -> Metrics:
        """Throughput, rework, manual share, times to review and claim, denials (apps/metrics)."""
        actor.require("metrics")
        records = self.records
        figures = compute_metrics(
            actor.org,
            records.runs.runs_of_org(actor.org, kind="code"),
            records.runs.reviews_of_org(actor.org),
            records.outcomes.for_org(actor.org),
            start=start,
            end=end,
            group=group,
            setting=setting,
            reviewer=reviewer,
        )
        self._audit_read("metrics.read", actor, "metrics", count=figures.overall.charts_coded)
        return figures

    def feedback(
        self,
        actor: Actor,
        by: FeedbackBy = "category",
        start: date | None = None,
        end: date | None = None,
    ) -> Feedback:
        """The corrections reviewers keep making (and Audit Sentinel findings), grouped by
        reviewer or code category, with counts, the rules behind them and example runs."""
        actor.require("metrics")
        records = self.records
        rules = self.context.rules
        index = rule_index(rules)
        codeset = CodeSet.load()
        first = start.isoformat() if start else ""
        last = end.isoformat() if end else "9999"
        corrections: list[Correction] = []
        for review in records.runs.reviews_of_org(actor.org):
            if not first <= review.decided_at[:10] < last:
                continue
            rules_on: dict[str, list[str]] = {}
            if review.rejected:
                output = records.runs.output(review.run_id) or {}
                for suggestion in output.get("suggestions", []):
                    rules_on[suggestion["code"]] = [r["id"] for r in suggestion.get("rules", [])]
            for code in review.rejected:
                corrections.append(
                    Correction(
                        "rejected", code, review.reviewer, review.run_id, rules_on.get(code, [])
                    )
                )
            for code in review.added:
                naming = [rules.rules[i].id for i in index.naming(code)[:3]]
                corrections.append(
                    Correction("added", code, review.reviewer, review.run_id, naming)
                )
        corrections += self._sentinel_corrections(actor.org, first, last)

        def describe(code: str) -> str:
            return codeset.get(code).description if codeset.exists(code) else ""

        def cite(rule_id: str) -> str | None:
            rule = rules.get(rule_id)
            return rule.citation if rule is not None else CODE_SET_CITATIONS.get(rule_id)

        out = group_corrections(
            actor.org,
            corrections,
            by,
            describe,
            cite,
            start=first or None,
            end=end.isoformat() if end else None,
        )
        self._audit_read("metrics.read", actor, "feedback", count=len(corrections))
        return out

    def _sentinel_corrections(self, org: str, first: str, last: str) -> list[Correction]:
        """Audit Sentinel findings as corrections: one per finding of each stored audit of the
        organisation in the period (kind `finding:<kind>`, the code at fault, the finding's
        rules), credited to whoever ran the audit."""
        records = self.records
        corrections: list[Correction] = []
        for run in records.runs.runs_of_org(org, kind="audit"):
            if run.status != "completed" or not first <= run.created_at[:10] < last:
                continue
            output = records.runs.output(run.run_id)
            if output is None:
                continue
            report = AuditReport.model_validate(output)
            for finding in report.findings:
                corrections.append(
                    Correction(
                        f"finding:{finding.kind}",
                        finding.code,
                        run.actor,
                        run.run_id,
                        [r.id for r in finding.rules],
                    )
                )
        return corrections

    # -- exports ---------------------------------------------------------------------------------

    def export_fhir(self, actor: Actor, run_id: str) -> FhirBundle:
        """A finished run's final codes as a FHIR R4 Bundle of Conditions, principal first,
        validated by fhir.resources (R4B models, R4-compatible for these resources)."""
        from fhir.resources.R4B.bundle import Bundle

        actor.require("read_runs")
        view = self.run(actor, run_id, surface="export")
        _coding_run(view.run)
        if view.result is None or view.run.status not in ("completed", "reviewed"):
            raise Conflict(
                f"run {run_id} is {view.run.status.replace('_', ' ')}: only a finished run "
                "(completed, or reviewed) has final codes to export"
            )
        bundle: FhirBundle = Bundle.model_validate(condition_bundle(view.result))
        return bundle

    # -- the annotated PDF -----------------------------------------------------------------------

    def annotated_pdf(self, actor: Actor, run_id: str) -> bytes:
        """The run's PDF documents with every final code's evidence highlighted, and a legend.

        The final codes are the reviewed ones when a person decided (rejected codes left out,
        added codes with their evidence in). Drawn in a child process, like PDF reading."""
        actor.require("trace")
        records = self.records
        run = _coding_run(records.runs.run(run_id, org=actor.org))
        self._audit_read("run.read", actor, "annotated_pdf", run=run)
        output = records.runs.output(run_id)
        chart_data = records.runs.chart(run.chart_hash) if run.chart_hash else None
        if output is None or chart_data is None:
            raise Conflict(f"run {run_id} has no stored output to draw")
        chart = Chart.model_validate(chart_data)
        result = ReviewedChartResult.model_validate(output)
        pdfs = [d for d in chart.documents if d.kind == "pdf"]
        if not pdfs:
            raise Conflict(f"run {run_id} has no PDF document; see its trace page instead")
        spans, legend = _evidence_to_draw(result)
        documents = []
        for doc in pdfs:
            original = records.runs.original(doc.sha256)
            if original is None:
                raise Conflict(f"the original PDF of run {run_id} is not stored")
            documents.append((original, marks_for(doc, spans.get(doc.doc_id, []))))
        return annotate_pdf(
            documents,
            legend,
            f"Evidence for {run_id} ({result.setting}, route {result.route})",
            timeout_s=self.settings.pdf_timeout_s,
            memory_mb=self.settings.pdf_memory_mb,
        )

    # -- internals -------------------------------------------------------------------------------

    def _audit_read(
        self,
        action: str,
        actor: Actor,
        surface: str,
        run: RunRecord | None = None,
        count: int | None = None,
        org: str | None = None,
    ) -> None:
        self.records.audit.append(
            [
                EventDraft.model_validate(
                    {
                        "action": action,
                        "actor": actor.audit_id,
                        "org": org or actor.org,
                        "name": surface,
                        "run_id": run.run_id if run else None,
                        "chart": run.chart_hash if run else None,
                        "count": count,
                    }
                )
            ]
        )

    def _invoke(
        self,
        payload: Any,
        recorder: RunRecorder,
        run_id: str,
        on_error: Callable[[str, RunRecorder], None],
    ) -> Any:
        context = AuditedContext.around(self.context, recorder)
        try:
            # durability="exit": one checkpoint when the graph stops (paused or done), not one
            # per step; a crashed run is recoded, a paused one resumes from that checkpoint.
            workflow = self.workflow
            with self._graph_lock:
                return workflow.invoke(payload, _thread(run_id), context=context, durability="exit")
        except BaseException as err:
            recorder.add("run.end", result="error", error=type(err).__name__)
            on_error(run_id, recorder)
            raise

    def _fail_run(self, run_id: str, recorder: RunRecorder) -> None:
        recorder.flush(
            anchor=True,
            then=lambda events: self.records.runs.finish_run(
                run_id, "failed", audit=self._audit_of(run_id, events)
            ),
        )

    def _release_review(self, run_id: str, recorder: RunRecorder) -> None:
        """A resumed review that failed leaves the run paused, as it was, for another try."""
        recorder.flush(anchor=True, then=lambda _: self.records.runs.release_review(run_id))

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

        if final.chart is not None and final.sources:
            self._keep_originals(final.chart, _source_bytes(final.sources, final.chart))

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


def _coding_run(run: RunRecord) -> RunRecord:
    """The run, when it is a coding run; an audit has a report instead (`audit_report`)."""
    if run.kind == "audit":
        raise Conflict(
            f"run {run.run_id} is an Audit Sentinel audit: see its report (GET /v1/audits/"
            f"{run.run_id}, /audits/{run.run_id})"
        )
    return run


_SEVERITY_RANK: dict[Severity, int] = {"high": 0, "medium": 1, "low": 2}
# A finding's severity as an audit event's result: high fails the audit, medium warns.
_SEVERITY_RESULT: dict[Severity, Any] = {"high": "fail", "medium": "warn", "low": "pass"}


def _doc_index(chart: Chart, doc_id: str) -> int:
    return next((i for i, d in enumerate(chart.documents) if d.doc_id == doc_id), 0)


def _evidence_to_draw(
    result: ReviewedChartResult,
) -> tuple[dict[str, list[SpanToMark]], list[LegendEntry]]:
    """Spans per document and the legend, for the codes that stand after any review."""
    rejected = set(result.review.rejected) if result.review else set()
    entries: list[tuple[str, str, list[Evidence]]] = [
        (s.code, s.description, s.evidence) for s in result.suggestions if s.code not in rejected
    ]
    if result.review:
        entries += [(a.code, a.description, a.evidence) for a in result.review.added]
    spans: dict[str, list[SpanToMark]] = {}
    legend = []
    for n, (code, description, evidence) in enumerate(entries):
        color = PALETTE[n % len(PALETTE)]
        legend.append(LegendEntry(label=code, text=description, color=color))
        for e in evidence:
            spans.setdefault(e.doc_id, []).append(
                SpanToMark(start=e.start, end=e.end, label=code, color=color)
            )
    return spans, legend


def _source_bytes(sources: list[str], chart: Chart) -> list[bytes]:
    """The bytes of the chart's PDF source files that are still on disk."""
    if not any(d.kind == "pdf" for d in chart.documents):
        return []
    out = []
    for source in sources:
        try:
            out.append(Path(source).read_bytes())
        except OSError:
            continue
    return out


def _thread(run_id: str) -> dict[str, Any]:
    # One background thread a run: LangGraph opens a thread pool per run for its checkpoint
    # saves (two or three, after the last step) and, unbounded, starts a thread for each: ~0.1 ms
    # CPU and ~1 ms wall a chart. The graph runs one node a step, so nothing else runs
    # concurrently; the saves run in the order LangGraph submits them, as each waits only for
    # earlier ones.
    return {"configurable": {"thread_id": run_id}, "max_concurrency": 1}
