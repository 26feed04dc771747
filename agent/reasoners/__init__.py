"""Reasoners decide which candidate codes a chart supports; all share one interface."""

from agent.reasoners.base import DecisionRequest, DecisionResult, Reasoner
from agent.reasoners.offline import OfflineReasoner
from tools.rules import RuleSet

__all__ = ["DecisionRequest", "DecisionResult", "OfflineReasoner", "Reasoner", "get_reasoner"]


def get_reasoner(name: str, rules: RuleSet | None = None) -> Reasoner:
    """The reasoner named in settings ("offline"; LLM reasoners plug in here), applying `rules`
    (default: the packs under rules/, reloaded when a file changes)."""
    if name == "offline":
        return OfflineReasoner(rules)
    raise ValueError(f"unknown reasoner {name!r}; available: offline")
