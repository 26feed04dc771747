"""Audit Sentinel through the facade: every audit a stored run of kind `audit` with its findings
in the audit log (codes and offsets, never text), audits of a stored run's chart, every role
allowed, unknown codes refused before anything is stored, and findings in the education
feedback."""

from __future__ import annotations

import pytest

from apps.actors import ROLES, Actor
from core.errors import ChartInputError, Conflict, UnknownCode
from store.runs import RunNotFound

CANARY = "Quixotic-Canary"
NOTE = (
    f"HISTORY:\nPatient {CANARY} denies chest pain.\n\n"
    "ASSESSMENT:\n1. Type 2 diabetes mellitus with CKD stage 3a. Continue metformin.\n"
    "2. Essential hypertension.\n"
)
WRONG = ["E11.9", "N18.31", "I10", "R07.9"]


@pytest.fixture(scope="module")
def service(tmp_path_factory, term_index):
    from tests.apps.server.conftest import make_service

    return make_service(tmp_path_factory.mktemp("sentinel"), term_index)


def _actor(role: str, org: str = "north") -> Actor:
    return Actor.model_validate({"id": f"{role}-1", "role": role, "org": org, "via": "api"})


def test_every_role_may_audit_and_each_audit_is_a_stored_run(service):
    for role in ROLES:
        report = service.audit_codes(_actor(role), codes=WRONG, text=NOTE)
        run = service.records.runs.run(report.run_id, org="north")
        assert run.kind == "audit" and run.status == "completed" and run.codes == WRONG
        assert service.audit_report(_actor("integration"), report.run_id) == report
    kinds = {(f.kind, f.code) for f in report.findings}
    assert {("combination", "E11.9"), ("combination", "I10"), ("unsupported", "R07.9")} <= kinds
    assert report.audit.events > 0 and report.audit.head.startswith("sha256:")
    listed = service.runs(_actor("coder"), kind="audit", limit=100)
    assert report.run_id in {r.run_id for r in listed}


def test_findings_are_audit_events_with_codes_and_offsets_never_text(service):
    report = service.audit_codes(_actor("auditor"), codes=WRONG, text=NOTE)
    events = service.audit_events(_actor("admin"), run_id=report.run_id)
    findings = [e for e in events if e.action == "audit.finding"]
    assert len(findings) == len(report.findings)
    assert {e.name for e in findings} == {f.kind for f in report.findings}
    negated = next(e for e in findings if e.name == "unsupported")
    assert negated.codes[0] == "R07.9" and negated.result == "fail"
    span = negated.spans[0]
    assert NOTE[span.start : span.end] == "chest pain"
    end = next(e for e in events if e.action == "run.end")
    assert end.count == len(report.findings) and end.codes == sorted(WRONG)
    for event in events:
        assert CANARY not in event.model_dump_json()


def test_an_audit_of_a_stored_runs_chart(service):
    coded = service.code_text(_actor("coder"), NOTE)
    report = service.audit_run(_actor("auditor"), coded.run_id, "E11.22, N18.31, I12.9, Z79.84")
    assert report.source_run_id == coded.run_id and report.findings == []
    assert report.supported_codes == [s.code for s in coded.suggestions]
    with pytest.raises(RunNotFound):
        service.audit_run(_actor("admin", org="south"), coded.run_id, ["I10"])
    # An audit is not a coding run: its trace is refused with a pointer to the report.
    with pytest.raises(Conflict, match="/v1/audits/"):
        service.trace(_actor("auditor"), report.run_id)
    with pytest.raises(RunNotFound):
        service.audit_report(_actor("auditor"), coded.run_id)


def test_unknown_codes_are_refused_before_anything_is_stored(service):
    before = len(service.records.runs.runs_of_org("north"))
    with pytest.raises(UnknownCode, match="'E11.99X'"):
        service.audit_codes(_actor("coder"), codes=["E11.22", "E11.99X"], text=NOTE)
    with pytest.raises(ChartInputError, match="exactly one"):
        service.audit_codes(_actor("coder"), codes=["E11.22"])
    assert len(service.records.runs.runs_of_org("north")) == before


def test_findings_join_the_education_feedback(service):
    lead = _actor("admin", org="east")
    for _ in range(2):
        service.audit_codes(_actor("auditor", org="east"), codes=WRONG, text=NOTE)
    feedback = service.feedback(lead, by="category")
    items = {(i.kind, i.code): i for g in feedback.groups for i in g.items}
    combo = items[("finding:combination", "I10")]
    assert combo.count == 2 and combo.recurring and len(combo.example_runs) == 2
    assert any(c.startswith("combo.hypertension-ckd: Section I.C.9.a.2") for c in combo.citations)
    assert items[("finding:unsupported", "R07.9")].citations
