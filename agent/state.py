"""The coding graph's typed state: its input, the work in progress, and the contract output."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from agent.schema import ChartResult, Escalation, Setting
from tools.chart import Chart
from tools.lookup import Candidate
from tools.mentions import Mention
from tools.validate import RuleCheck


class CodingInput(BaseModel):
    """What a caller hands the graph: files (or an already extracted chart) and the setting."""

    chart_id: str
    run_id: str
    setting: Setting = "outpatient"
    sources: list[str] = Field(default_factory=list)
    chart: Chart | None = None


class CodeCandidate(BaseModel):
    """A code some mentions could support, with those mentions (by index into `mentions`)."""

    code: str
    mention_ids: list[int]
    best: Candidate


class CodeDecision(BaseModel):
    """A code the reasoner chose, the mentions it rests on, and why."""

    code: str
    mention_ids: list[int] = Field(min_length=1)
    role: Literal["principal", "secondary"] = "secondary"
    rationale: str
    match_score: float = 1.0
    encounter: str | None = None


class Rejection(BaseModel):
    """A mention the reasoner chose not to code, and the reason a coder would give."""

    mention_id: int
    reason: str


class DraftSuggestion(BaseModel):
    """A decision after validation: final code, checks, and (after the evidence step) spans."""

    decision: CodeDecision
    code: str
    description: str
    checks: list[RuleCheck] = Field(default_factory=list)
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    evidence: list[dict[str, object]] = Field(default_factory=list)


class CodingState(CodingInput):
    """Everything the nodes read and write; each field is owned by one node."""

    mentions: list[Mention] = Field(default_factory=list)
    candidates: list[CodeCandidate] = Field(default_factory=list)
    decisions: list[CodeDecision] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)
    drafts: list[DraftSuggestion] = Field(default_factory=list)
    conflicts: list[RuleCheck] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    reasoner_name: str = ""
    result: ChartResult | None = None
