"""The audit event: an allow-list of typed fields, so chart text and patient identifiers cannot enter.

There is no free-text field. Every string is an id, a hash, an ICD-10-CM code, a name from a short
alphabet, or a version string; documents are referred to by their position in the chart and text
by offsets. A draft with anything else (an extra key, a quote, a name with a space) fails
validation before it reaches the log. Error messages are not recorded either: a file name in a
message can be a patient's name; only the exception's class name is.

An event's `hash` is SHA-256 over its canonical JSON (sorted keys, no whitespace, `hash` itself
left out, empty fields omitted), and that JSON includes `prev_hash`: the chain.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
RunId = Annotated[str, StringConstraints(pattern=r"^run-[0-9a-f]{16}$")]
DecisionId = Annotated[str, StringConstraints(pattern=r"^dec-[0-9a-f]{16}$")]
# Who acted: the system, a person at the command line (user:), a reviewer, an API key (by its
# id, never its secret) or a Slack user (by Slack's opaque id).
Actor = Annotated[
    str,
    StringConstraints(pattern=r"^(system|(user|reviewer|apikey|slack):[A-Za-z0-9._@-]{1,64})$"),
]
# An organisation id, as an API key or the command line's settings name it.
OrgId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,47}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")]
# A node, tool, model or surface name as written in code: "find_concepts", "cite", "trace".
StepName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
ErrorType = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
VersionKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^(code_set|rules|reasoner|software|langgraph|schema|prompt:[a-z0-9_.-]{1,48})$"
    ),
]
VersionValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .:_+/-]{1,100}$")]
# Each version key has its own shape, so a versions entry cannot carry a name either.
_VERSION_SHAPES = {
    "code_set": re.compile(r"^ICD-10-CM \d{4}-\d\d$"),
    "rules": re.compile(r"^sha256:[0-9a-f]{64}$"),
    "reasoner": re.compile(r"^(offline|llm:[A-Za-z0-9._:/-]{1,80})$"),
    "software": re.compile(r"^codesense (\d[0-9A-Za-z.+-]{0,39}|unknown)$"),
    "langgraph": re.compile(r"^(\d[0-9A-Za-z.+-]{0,39}|unknown)$"),
    "schema": re.compile(r"^\d{1,4}$"),
    "prompt": re.compile(r"^sha256:[0-9a-f]{64}$"),
}

Action = Literal[
    "run.start",  # a chart was handed to the graph
    "run.pause",  # the graph stopped for a person (route review or escalate)
    "run.end",  # the run finished (or failed: result "error")
    "run.read",  # someone looked at a run through a surface (show, trace, review)
    "run.list",  # someone listed runs
    "run.interrupted",  # a run's owner died; the run was marked interrupted or released
    "audit.read",  # someone verified the audit chain or listed its events
    "apikey.create",  # an admin made an API key (its id and role, never its secret)
    "apikey.revoke",
    "run.outcome",  # a billing system reported the claim's fate (result: its status)
    "metrics.read",  # someone read the leaders' figures or the education feedback
    "graph.step",  # one node of the graph ran
    "tool.call",  # a deterministic tool produced output inside a node
    "model.call",  # the reasoner (offline or an LLM) was asked to decide, or one model request
    "model.reject",  # a code a model proposed was dropped by a check (why: `reason`)
    "review.request",  # a run was handed to a person
    "review.decision",  # a person accepted, rejected or added one code
    "audit.finding",  # Audit Sentinel found a problem with assigned codes (name: its kind)
    "review.mark",  # a person marked one code (accept, reject, escalate) before submitting
]
Result = Literal[
    "ok",
    "error",
    "interrupted",
    "auto",
    "review",
    "escalate",
    "pass",
    "warn",
    "fail",
    "accepted",
    "rejected",
    "added",
    "submitted",
    "paid",
    "denied",
    "adjusted",
]

# Why a model's code was dropped, or why a model's answer as a whole was not used.
Reason = Literal[
    "invalid_code",
    "unknown_span",
    "no_span",
    "instruction_text",
    "not_grounded",
    "assertion_guard",
    "llm_unavailable",
    "llm_invalid_output",
]
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,80}$")]
RequestId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
_Count = Annotated[int, Field(ge=0, le=10**9)]

GENESIS = "sha256:" + "0" * 64


class Usage(BaseModel):
    """What a model request (or all of a chart's) cost: model, tokens, time, the endpoint's
    request id. Counts and names only; never a prompt or an answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelName
    request_id: RequestId | None = None
    requests: _Count | None = None
    prompt_tokens: _Count | None = None
    completion_tokens: _Count | None = None
    total_tokens: _Count | None = None
    tool_calls: _Count | None = None
    latency_ms: _Count | None = None


class SpanRef(BaseModel):
    """Chart text by position only: the document's index in the chart, and character offsets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    doc: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class EventDraft(BaseModel):
    """What a caller says happened; the log adds seq, time and the chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: RunId | None = None
    actor: Actor = "system"
    org: OrgId | None = None
    action: Action
    name: StepName | None = None
    chart: Digest | None = None
    decision_id: DecisionId | None = None
    input_hash: Digest | None = None
    output_hash: Digest | None = None
    codes: list[Code] = Field(default_factory=list, max_length=500)
    spans: list[SpanRef] = Field(default_factory=list, max_length=2000)
    versions: dict[VersionKey, VersionValue] = Field(default_factory=dict)
    result: Result = "ok"
    count: int | None = Field(default=None, ge=0)
    error: ErrorType | None = None
    reason: Reason | None = None
    usage: Usage | None = None

    @field_validator("versions")
    @classmethod
    def _version_shapes(cls, versions: dict[str, str]) -> dict[str, str]:
        for key, value in versions.items():
            if not _VERSION_SHAPES[key.split(":", 1)[0]].match(value):
                raise ValueError(f"version {key} does not have the shape of one")
        return versions


class AuditEvent(EventDraft):
    """An event as stored: numbered, timed and chained."""

    seq: int = Field(ge=1)
    ts: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")]
    prev_hash: Digest
    hash: Digest


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_in(seconds: float) -> str:
    """The time `seconds` from now, in the same sortable form as `utc_now()`."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_json(value: Any) -> str:
    """Hash of a value's canonical JSON; pydantic models are dumped in JSON mode first."""
    return digest(canonical(value))


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, default=_dump_model, option=orjson.OPT_SORT_KEYS)


def _dump_model(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot hash {type(value).__name__}")


def seal_event(draft: EventDraft, seq: int, ts: str, prev_hash: str) -> tuple[bytes, str]:
    """The stored body (canonical JSON without `hash`) and the hash over exactly those bytes."""
    fields = draft.model_dump(mode="json", exclude_none=True)
    body = {k: v for k, v in fields.items() if v not in ([], {})}
    body.update(seq=seq, ts=ts, prev_hash=prev_hash)
    raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return raw, digest(raw)


def open_event(body: bytes, hash_: str) -> AuditEvent:
    """A stored event back as a model (validated again, so a tampered body is also caught here)."""
    return AuditEvent.model_validate({**orjson.loads(body), "hash": hash_})
