"""What every node may use besides the state: settings, the term index, the reasoner, versions.

Built once per process and handed to the graph as LangGraph's runtime context, so a batch of
charts shares one loaded term index and tests can inject their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.reasoners import Reasoner, get_reasoner
from core.settings import Settings
from tools.codeset import CodeSet
from tools.lookup import TermIndex
from tools.rulefiles import RULES_DIR, file_digest
from tools.rules import RuleSet, rule_set
from tools.semantic import SemanticRetriever


def rules_version() -> str:
    """Content hash of every data file in rules/: part of every output."""
    return file_digest(sorted(RULES_DIR.glob("**/*.yaml")))


@dataclass
class CodingContext:
    settings: Settings
    index: TermIndex
    reasoner: Reasoner
    rules_version: str
    # The rule packs (guidelines, edits, CDI queries, payer rules), loaded and checked at start.
    rules: RuleSet = field(default_factory=rule_set)
    # The semantic index, opened on first use; None when it is off or not built.
    semantic: SemanticRetriever | None = None

    @classmethod
    def create(cls, settings: Settings | None = None) -> CodingContext:
        settings = settings or Settings()
        # The code set's snapshot lives beside the term index in this data directory's cache.
        CodeSet.load(settings.cache_dir)
        rules = rule_set()
        index = TermIndex.load_or_build(settings.cache_dir)
        return cls(
            settings=settings,
            index=index,
            reasoner=get_reasoner(settings.reasoner, rules, settings, index),
            rules_version=rules.version,
            rules=rules,
            semantic=semantic_retriever(settings),
        )


def semantic_retriever(settings: Settings) -> SemanticRetriever | None:
    """A lazy handle on the semantic index when it is on and built (nothing heavy loads here)."""
    if settings.semantic_retrieval and SemanticRetriever.available(settings.data_dir):
        return SemanticRetriever(settings.data_dir)
    return None
