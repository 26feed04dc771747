"""What a model-backed reasoner did for one chart: its requests (tokens, latency, request id), the
tools it called, and the codes it proposed that checks dropped, with the reason.

These records hold ids, hashes, codes, offsets and counts only, never prompt or chart text; the
audit hooks turn them into events and the eval runner into cost and latency figures.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from tools.registry import ToolRecord

# Why a code the model proposed did not stand.
DropReason = Literal[
    "invalid_code",  # not an ICD-10-CM code of the loaded code set, or one validation refused
    "unknown_span",  # it cites a span id the request did not have
    "no_span",  # it cites no span at all
    "instruction_text",  # its only evidence is instruction-like text (rules/injection.yaml)
    "not_grounded",  # no mention in the cited spans supports the code
    "assertion_guard",  # its mentions are negated, family, hypothetical or uncertain
]
# Why the model's answer as a whole was not used (the chart's escalation reason).
FailureReason = Literal["llm_unavailable", "llm_invalid_output"]


class CitedSpan(BaseModel):
    doc_id: str
    start: int
    end: int


class ModelRequest(BaseModel):
    """One HTTP request to the model endpoint."""

    model: str
    request_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int = 0
    ok: bool = True
    # The exception's class name when the request failed ("APITimeoutError").
    error: str | None = None


class DroppedCode(BaseModel):
    code: str
    reason: DropReason
    spans: list[CitedSpan] = Field(default_factory=list)


class ModelUsage(BaseModel):
    """A chart's totals: what `codesense eval` reports as cost and latency."""

    model: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0
    latency_ms: int = 0
    dropped: int = 0
    dropped_by_reason: dict[str, int] = Field(default_factory=dict)
    failure: FailureReason | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ReasonerActivity(BaseModel):
    model: str
    requests: list[ModelRequest] = Field(default_factory=list)
    tool_calls: list[ToolRecord] = Field(default_factory=list)
    dropped: list[DroppedCode] = Field(default_factory=list)
    failure: FailureReason | None = None
    # The exception behind a failure, by class name only.
    failure_type: str | None = None

    def usage(self) -> ModelUsage:
        return ModelUsage(
            model=self.model,
            requests=len(self.requests),
            prompt_tokens=sum(r.prompt_tokens or 0 for r in self.requests),
            completion_tokens=sum(r.completion_tokens or 0 for r in self.requests),
            tool_calls=len(self.tool_calls),
            latency_ms=sum(r.latency_ms for r in self.requests),
            dropped=len(self.dropped),
            dropped_by_reason=dict(Counter(d.reason for d in self.dropped)),
            failure=self.failure,
        )
