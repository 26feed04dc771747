"""Shared test fixtures: one term index and one coding service per test session.

Each test session gets a fresh data directory (runs, audit log, keys), so tests never read or
grow a developer's `.codesense/`; only the term index cache is shared with it, through a symlink,
so only the first test run on a machine pays for building the index.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _session_data_dir() -> Path:
    shared_cache = ROOT / ".codesense" / "cache"
    shared_cache.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="codesense-test-"))
    (data_dir / "cache").symlink_to(shared_cache, target_is_directory=True)
    return data_dir


if "CODESENSE_DATA_DIR" not in os.environ:
    os.environ["CODESENSE_DATA_DIR"] = str(_session_data_dir())
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED_DATA = ROOT.parent / "shared" / "data"
EXAMPLES = ROOT / "examples"


def _admin():
    from apps.actors import Actor

    return Actor(id="tester", role="admin", org="default", via="cli")


# The person the tests act as: a local admin of the default organisation.
ADMIN = _admin()


@pytest.fixture(scope="session")
def term_index():
    from tools.lookup import TermIndex

    return TermIndex.load_or_build(Path(os.environ["CODESENSE_DATA_DIR"]) / "cache")


@pytest.fixture(scope="session")
def service(term_index):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from apps.service import Service
    from core.settings import Settings

    settings = Settings()
    context = CodingContext(
        settings=settings,
        index=term_index,
        reasoner=OfflineReasoner(),
        rules_version=rules_version(),
    )
    return Service(settings, context)


@pytest.fixture(scope="session")
def coder(term_index):
    """The coding graph without storage: codes for tests that need no run or audit trail."""
    from agent.coder import Coder
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from core.settings import Settings

    return Coder(CodingContext(Settings(), term_index, OfflineReasoner(), rules_version()))
