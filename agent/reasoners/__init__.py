"""Reasoners decide which candidate codes a chart supports; all share one interface."""

from agent.reasoners.base import DecisionRequest, DecisionResult, Reasoner
from agent.reasoners.offline import OfflineReasoner

__all__ = ["DecisionRequest", "DecisionResult", "OfflineReasoner", "Reasoner", "get_reasoner"]


def get_reasoner(name: str) -> Reasoner:
    """The reasoner named in settings ("offline"; LLM reasoners plug in here)."""
    if name == "offline":
        return OfflineReasoner()
    raise ValueError(f"unknown reasoner {name!r}; available: offline")
