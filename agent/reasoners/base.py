"""The reasoner interface: given a chart's mentions and candidates, choose codes and say why.

The offline reasoner implements it deterministically; an LLM reasoner implements the same
protocol and its choices go through the same validation and evidence checks.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from agent.schema import Setting
from agent.state import CodeCandidate, CodeDecision, Rejection
from tools.mentions import Mention


class DecisionRequest(BaseModel):
    setting: Setting
    mentions: list[Mention]
    candidates: list[CodeCandidate]
    # Words from the chart that set a 7th character ("initial encounter", "sequela").
    encounter: str | None = None


class DecisionResult(BaseModel):
    decisions: list[CodeDecision] = Field(default_factory=list)
    rejections: list[Rejection] = Field(default_factory=list)


class Reasoner(Protocol):
    @property
    def name(self) -> str:
        """As recorded in the output's `reasoner` field: "offline" or "llm:<model>"."""
        ...

    def decide(self, request: DecisionRequest) -> DecisionResult: ...
