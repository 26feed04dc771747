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


@pytest.fixture(scope="session")
def contract_validator():
    """The committed chart-result schema, as an integrator would load it."""
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "schema" / "chart-result.v1.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@pytest.fixture(scope="session")
def audit_validator():
    """The committed audit-findings schema (Audit Sentinel reports)."""
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "schema" / "audit-findings.v1.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@pytest.fixture(autouse=True, scope="session")
def _every_output_follows_the_published_schema(contract_validator, audit_validator):
    """Every chart result the suite produces, through the facade or the bare graph, is checked
    against schema/chart-result.v1.json, and every Audit Sentinel report against
    schema/audit-findings.v1.json; a mismatch fails the test that produced it."""
    from agent.coder import Coder
    from apps.service import Service

    def check(result) -> None:
        errors = sorted(
            contract_validator.iter_errors(result.model_dump(mode="json")), key=lambda e: e.path
        )
        assert not errors, f"output does not follow the schema: {errors[0].message}"

    settle, code = Service._settle, Coder.code

    def checked_settle(self, state, result, *args, **kwargs):
        out = settle(self, state, result, *args, **kwargs)
        check(out)
        return out

    def checked_code(self, chart, setting):
        out = code(self, chart, setting)
        check(out)
        return out

    audit_chart = Service._audit_chart

    def checked_audit(self, *args, **kwargs):
        out = audit_chart(self, *args, **kwargs)
        errors = list(audit_validator.iter_errors(out.model_dump(mode="json")))
        assert not errors, f"audit report does not follow the schema: {errors[0].message}"
        return out

    Service._settle = checked_settle  # type: ignore[method-assign]
    Coder.code = checked_code  # type: ignore[method-assign]
    Service._audit_chart = checked_audit  # type: ignore[method-assign]
    yield
    Service._settle, Coder.code = settle, code  # type: ignore[method-assign]
    Service._audit_chart = audit_chart  # type: ignore[method-assign]
