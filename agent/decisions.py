"""A reviewer's decision on a paused run, and the outcome the run's output carries afterwards.

A coder reviewing an escalated chart accepts or rejects the suggested codes and may add codes the
graph missed. An added code stands on chart evidence ("obesity" at 812:819) or, when the chart
does not say it in so many words, on the reviewer's stated reason; never on nothing.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from agent.schema import ChartResult
from tools.evidence import Evidence

ReviewerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]


class AddedCode(BaseModel):
    code: str
    description: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str = ""


class ReviewDecision(BaseModel):
    """What resumes a paused graph: checked against the chart before it is sent."""

    decision_id: Annotated[str, StringConstraints(pattern=r"^dec-[0-9a-f]{16}$")]
    reviewer: ReviewerId
    decided_at: str
    accept: list[str] = Field(default_factory=list)
    reject: list[str] = Field(default_factory=list)
    add: list[AddedCode] = Field(default_factory=list)
    reason: str = ""


class ReviewOutcome(BaseModel):
    """The decision applied: what the reviewer kept, dropped and added, and the final codes."""

    decision_id: str
    reviewer: str
    decided_at: str
    accepted: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    added: list[AddedCode] = Field(default_factory=list)
    # Suggested codes the reviewer neither accepted nor rejected: they stand as suggested.
    undecided: list[str] = Field(default_factory=list)
    reason: str = ""
    codes: list[str] = Field(default_factory=list)


class ReviewedChartResult(ChartResult):
    """The output contract plus the human decision (a field added, none changed)."""

    review: ReviewOutcome | None = None
