"""Shared test fixtures: one term index and one coding service per test session.

The term index cache lives in the repository's `.codesense/` (git-ignored), so only the first
test run on a machine pays for building it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CODESENSE_DATA_DIR", str(ROOT / ".codesense"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED_DATA = ROOT.parent / "shared" / "data"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def term_index():
    from tools.lookup import TermIndex

    return TermIndex.load_or_build(Path(os.environ["CODESENSE_DATA_DIR"]) / "cache")


@pytest.fixture(scope="session")
def service(term_index):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from agent.settings import Settings
    from apps.service import CodingService

    settings = Settings()
    context = CodingContext(
        settings=settings,
        index=term_index,
        reasoner=OfflineReasoner(),
        rules_version=rules_version(),
    )
    return CodingService(settings, context)
