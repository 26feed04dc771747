"""The coding graph's typed state: its input, the work in progress, and the contract output."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from agent.usage import ModelUsage
from core.contract import (
    ChartResult,
    DrgSummary,
    Escalation,
    HccFlag,
    ReviewOutcome,
    RuleCheck,
    Setting,
)
from tools.chart import Chart
from tools.lookup import Candidate
from tools.mentions import Mention
from tools.rules.text import ChartFacts


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


class TextSpan(BaseModel):
    """Chart text a rule read a code from ("insulin glargine" for Z79.4), by offsets."""

    doc_id: str
    start: int
    end: int


class CodeDecision(BaseModel):
    """A code the reasoner chose, the mentions (or rule-matched spans) it rests on, and why."""

    code: str
    mention_ids: list[int] = Field(default_factory=list)
    role: Literal["principal", "secondary"] = "secondary"
    rationale: str
    match_score: float = 1.0
    encounter: str | None = None
    # Text a rule pattern matched (a medication, "s/p CABG", "32 weeks"): evidence too.
    spans: list[TextSpan] = Field(default_factory=list)
    # The guideline rules applied to this code ("E11.9 + N18.31 -> E11.22").
    rules: list[RuleCheck] = Field(default_factory=list)
    # Why a coder must look at this code whatever its confidence (the model and the offline
    # draft disagree on it).
    review_reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rests_on_the_chart(self) -> CodeDecision:
        if not self.mention_ids and not self.spans:
            raise ValueError(f"{self.code}: a decision needs a mention or a span of chart text")
        return self


class Rejection(BaseModel):
    """A mention the reasoner chose not to code, and the reason a coder would give."""

    mention_id: int
    reason: str
    rule_id: str | None = None


class DraftSuggestion(BaseModel):
    """A decision after validation: final code, checks, and (after the evidence step) spans."""

    decision: CodeDecision
    code: str
    description: str
    checks: list[RuleCheck] = Field(default_factory=list)
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    evidence: list[dict[str, object]] = Field(default_factory=list)
    hcc: HccFlag | None = None


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
    # Written by decide_codes when a model took part: tokens, requests, latency.
    usage: ModelUsage | None = None
    # Read by decide_codes from the chart-fact rules (encounter, weeks of gestation, age, sex).
    facts: ChartFacts = Field(default_factory=ChartFacts)
    # Written by validate_decisions for inpatient charts.
    drg: DrgSummary | None = None
    result: ChartResult | None = None
    # Written by the review step once a person has decided (None for runs routed auto).
    review: ReviewOutcome | None = None
