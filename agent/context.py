"""What every node may use besides the state: settings, the term index, the reasoner, versions.

Built once per process and handed to the graph as LangGraph's runtime context, so a batch of
charts shares one loaded term index and tests can inject their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.reasoners import Reasoner, get_reasoner
from agent.settings import Settings
from tools.lookup import TermIndex
from tools.rulefiles import RULES_DIR, file_digest


def rules_version() -> str:
    """Content hash of every data file in rules/: part of every output."""
    return file_digest(sorted(RULES_DIR.glob("**/*.yaml")))


@dataclass
class CodingContext:
    settings: Settings
    index: TermIndex
    reasoner: Reasoner
    rules_version: str

    @classmethod
    def create(cls, settings: Settings | None = None) -> CodingContext:
        settings = settings or Settings()
        return cls(
            settings=settings,
            index=TermIndex.load_or_build(settings.cache_dir),
            reasoner=get_reasoner(settings.reasoner),
            rules_version=rules_version(),
        )
