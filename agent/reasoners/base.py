"""The reasoner interface: given a chart's mentions and candidates, choose codes and say why.

The offline reasoner implements it deterministically; an LLM reasoner implements the same
protocol and its choices go through the same validation and evidence checks.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from pydantic import BaseModel, Field

from agent.state import CodeCandidate, CodeDecision, Rejection
from agent.usage import ReasonerActivity
from core.contract import Escalation, Setting
from tools.chart import Chart
from tools.mentions import Mention
from tools.rules.text import ChartFacts


class DecisionRequest(BaseModel):
    setting: Setting
    mentions: list[Mention]
    candidates: list[CodeCandidate]
    # Words from the chart that set a 7th character ("initial encounter", "sequela").
    encounter: str | None = None
    # The chart itself, for rules that read text beyond the mentions (a medication list for
    # Z79.4, "s/p CABG" for Z95.1, "32 weeks" for Z3A.32).
    chart: Chart | None = None
    # Facts the chart-fact rules read: encounter, weeks of gestation, trimester, age, sex.
    facts: ChartFacts = Field(default_factory=ChartFacts)
    # The date rules are in force for (the date of service, or the code set's date).
    on: date | None = None


class DecisionResult(BaseModel):
    decisions: list[CodeDecision] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)
    # Why a person must look at the chart whatever its codes ("llm_unavailable").
    escalations: list[Escalation] = Field(default_factory=list)
    # What a model-backed reasoner did (requests, tool calls, dropped codes); None offline.
    activity: ReasonerActivity | None = None


class Reasoner(Protocol):
    @property
    def name(self) -> str:
        """As recorded in the output's `reasoner` field: "offline" or "llm:<model>"."""
        ...

    def decide(self, request: DecisionRequest) -> DecisionResult: ...
