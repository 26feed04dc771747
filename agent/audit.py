"""Audit hooks: one event for every graph step, tool call, model call and review decision of a run.

`audited(name, node)` wraps a node when the graph is built. When the runtime context is an
`AuditedContext` the wrapper records the step (and the tool calls its output shows, see
`agent/audit_steps.py`); with a plain `CodingContext` (evals, most tests) it only calls the node.
The reasoner is wrapped in `AuditedReasoner`, so each model call is an event of its own.

Events are buffered in a `RunRecorder` and written in one transaction when the run starts,
pauses, ends or fails (one fsync each, not one per event); `flush()` returning is the
acknowledgement. A run that crashes midway keeps its durable `run.start` and no `run.end`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.errors import GraphInterrupt
from langgraph.runtime import Runtime

from agent.audit_steps import describe_step
from agent.context import CodingContext
from agent.reasoners import DecisionRequest, DecisionResult, Reasoner
from agent.state import CodingState
from agent.usage import ReasonerActivity
from core.codes import is_code
from store.audit_log import AuditLog
from store.events import AuditEvent, EventDraft, Usage, digest, digest_json

Node = Callable[..., dict[str, Any]]


class RunRecorder:
    """The events of one run (or one resumption of it), waiting for the next group commit."""

    def __init__(
        self,
        log: AuditLog,
        run_id: str,
        chart: str | None,
        actor: str = "system",
        lineage: str | None = None,
    ) -> None:
        self.log = log
        self.run_id = run_id
        self.chart = chart
        self.actor = actor
        self.pending: list[EventDraft] = []
        self.written: list[AuditEvent] = []
        # Each step's input hash chains the run's input through every earlier step's output.
        self.lineage = lineage or digest(run_id.encode())

    def add(self, action: str, **fields: Any) -> None:
        fields.setdefault("actor", self.actor)
        self.pending.append(
            EventDraft.model_validate(
                {"run_id": self.run_id, "chart": self.chart, "action": action, **fields}
            )
        )

    def step(
        self,
        name: str,
        state: CodingState,
        update: dict[str, Any] | None,
        result: str = "ok",
        error: str | None = None,
    ) -> None:
        fields: dict[str, Any] = {}
        if update is not None:
            extra, fields = describe_step(name, state, update)
            self.pending.extend(
                EventDraft.model_validate(
                    {"run_id": self.run_id, "chart": self.chart, "actor": self.actor, **e}
                )
                for e in extra
            )
        output_hash = digest_json(update) if update is not None else None
        self.add(
            "graph.step",
            name=name,
            input_hash=self.lineage,
            output_hash=output_hash,
            result=fields.pop("result", result),
            error=error,
            **fields,
        )
        if output_hash is not None:
            self.lineage = digest((self.lineage + output_hash).encode())

    def flush(
        self,
        once_key: str | None = None,
        anchor: bool = False,
        then: Callable[[list[AuditEvent]], None] | None = None,
    ) -> list[AuditEvent]:
        """Write what is pending in one transaction (with `then`'s writes); returning is the ack."""
        drafts, self.pending = self.pending, []
        events = self.log.append(drafts, once_key=once_key, anchor=anchor, then=then)
        self.written.extend(events)
        return events


@dataclass
class AuditedContext(CodingContext):
    """The coding context plus the recorder of the run in progress."""

    # Keyword-only: CodingContext's own fields may have defaults, and this one has none.
    audit: RunRecorder = dataclasses.field(kw_only=True)

    @classmethod
    def around(cls, context: CodingContext, recorder: RunRecorder) -> AuditedContext:
        fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
        fields["reasoner"] = AuditedReasoner(context.reasoner, recorder)
        fields.pop("audit", None)
        return cls(**fields, audit=recorder)


class AuditedReasoner:
    """A reasoner whose every call is logged: which reasoner and prompts, input and output hashes.

    A model-backed reasoner also reports its activity: each request to the model is a
    `model.call` event with its usage (model, tokens, latency, request id), each tool the model
    called a `tool.call`, each code a check dropped a `model.reject` with the reason. The
    summary `model.call` carries the chart's totals. No prompt or chart text is ever logged.
    """

    def __init__(self, inner: Reasoner, recorder: RunRecorder) -> None:
        self.inner = inner
        self.recorder = recorder

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def prompt_hashes(self) -> dict[str, str]:
        return dict(getattr(self.inner, "prompt_hashes", {}))

    def decide(self, request: DecisionRequest) -> DecisionResult:
        versions = {"reasoner": self.inner.name}
        for prompt, sha in self.prompt_hashes.items():
            versions[f"prompt:{prompt}"] = sha
        try:
            out = self.inner.decide(request)
        except Exception as err:
            self.recorder.add(
                "model.call",
                name="reasoner",
                versions=versions,
                input_hash=digest_json(request),
                result="error",
                error=type(err).__name__,
            )
            raise
        usage = None
        if out.activity is not None:
            self._activity(out.activity, request)
            totals = out.activity.usage()
            usage = Usage(
                model=totals.model,
                requests=totals.requests,
                prompt_tokens=totals.prompt_tokens,
                completion_tokens=totals.completion_tokens,
                total_tokens=totals.total_tokens,
                tool_calls=totals.tool_calls,
                latency_ms=totals.latency_ms,
            )
        codes = [d.code for d in out.decisions]
        failure = out.activity.failure if out.activity else None
        self.recorder.add(
            "model.call",
            name="reasoner",
            versions=versions,
            input_hash=digest_json(request),
            output_hash=digest_json(out),
            # A model may answer with something that is not a code; it is counted, not logged.
            codes=sorted({c for c in codes if is_code(c)}),
            count=len(codes),
            result="warn" if failure else "ok",
            reason=failure,
            error=out.activity.failure_type if out.activity and failure else None,
            usage=usage,
        )
        return out

    def _activity(self, activity: ReasonerActivity, request: DecisionRequest) -> None:
        docs = {d.doc_id: i for i, d in enumerate(request.chart.documents)} if request.chart else {}
        for call in activity.requests:
            self.recorder.add(
                "model.call",
                name="chat_completion",
                result="ok" if call.ok else "error",
                error=call.error,
                usage=Usage(
                    model=call.model,
                    request_id=call.request_id,
                    prompt_tokens=call.prompt_tokens,
                    completion_tokens=call.completion_tokens,
                    total_tokens=(call.prompt_tokens or 0) + (call.completion_tokens or 0)
                    if call.prompt_tokens is not None or call.completion_tokens is not None
                    else None,
                    latency_ms=call.latency_ms,
                ),
            )
        for tool in activity.tool_calls:
            self.recorder.add(
                "tool.call",
                name=tool.name,
                input_hash=tool.arguments_sha256,
                output_hash=tool.output_sha256,
                codes=[c for c in tool.codes if is_code(c)],
                result="ok" if tool.ok else "error",
            )
        for dropped in activity.dropped:
            self.recorder.add(
                "model.reject",
                name="check_model_code",
                codes=[dropped.code] if is_code(dropped.code) else [],
                spans=[
                    {"doc": docs.get(s.doc_id, 0), "start": s.start, "end": s.end}
                    for s in dropped.spans
                ],
                result="fail",
                reason=dropped.reason,
            )


def recorder_of(runtime: Runtime[CodingContext]) -> RunRecorder | None:
    context = runtime.context
    return context.audit if isinstance(context, AuditedContext) else None


def audited(name: str, node: Node) -> Node:
    """`node` as a graph step that records itself when the run is audited."""
    takes_runtime = "runtime" in inspect.signature(node).parameters

    def step(state: CodingState, runtime: Runtime[CodingContext]) -> dict[str, Any]:
        recorder = recorder_of(runtime)
        if recorder is None:
            return node(state, runtime) if takes_runtime else node(state)
        try:
            update = node(state, runtime) if takes_runtime else node(state)
        except GraphInterrupt:
            recorder.step(name, state, None, result="interrupted")
            raise
        except Exception as err:
            recorder.step(name, state, None, result="error", error=type(err).__name__)
            raise
        recorder.step(name, state, update)
        return update

    # Not functools.wraps: LangGraph reads the signature to decide what to pass, and must see
    # this wrapper's (state, runtime), not the wrapped node's.
    step.__name__ = step.__qualname__ = name
    step.__doc__ = node.__doc__
    return step
