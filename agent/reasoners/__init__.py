"""Reasoners decide which candidate codes a chart supports; all share one interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.reasoners.base import DecisionRequest, DecisionResult, Reasoner
from agent.reasoners.offline import OfflineReasoner
from tools.rules import RuleSet

if TYPE_CHECKING:
    from core.settings import Settings
    from tools.lookup import TermIndex

__all__ = ["DecisionRequest", "DecisionResult", "OfflineReasoner", "Reasoner", "get_reasoner"]


def get_reasoner(
    name: str,
    rules: RuleSet | None = None,
    settings: Settings | None = None,
    index: TermIndex | None = None,
) -> Reasoner:
    """The reasoner named in settings: "offline", or "llm" (an OpenAI-compatible model over the
    offline draft, configured by `settings`), applying `rules` (default: the packs under rules/,
    reloaded when a file changes)."""
    if name == "offline":
        return OfflineReasoner(rules)
    if name == "llm":
        # Imported here: the offline path never loads the LLM reasoner's modules.
        from agent.reasoners.llm import LlmReasoner
        from core.settings import Settings

        return LlmReasoner(settings or Settings(), rules, index)
    raise ValueError(f"unknown reasoner {name!r}; available: offline, llm")
