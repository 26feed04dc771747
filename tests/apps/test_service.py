"""The facade every surface calls: roles, organisations, the review claim, runs whose owner died,
API keys, and charts from text, uploads and FHIR."""

from __future__ import annotations

import base64
import threading

import pytest

from agent.review import ReviewRequest
from apps.actors import GRANTS, ROLES, Actor
from core.errors import ChartTooLarge, Forbidden, InvalidFhir, UnsupportedContent
from store.events import utc_now
from store.runs import ReviewConflict, RunNotFound
from store.verify import verify_log
from tests.conftest import ADMIN, EXAMPLES

NOTE = (EXAMPLES / "discharge_summary.txt").read_text(encoding="utf-8")


@pytest.fixture
def service(tmp_path, term_index):
    """A service on its own data directory that sends every chart to review."""
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from apps.service import Service
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path, auto_threshold=1.0, review_threshold=1.0)
    return Service(
        settings, CodingContext(settings, term_index, OfflineReasoner(), rules_version())
    )


def _actor(role: str, org: str = "default", name: str | None = None) -> Actor:
    return Actor.model_validate({"id": name or f"{role}-1", "role": role, "org": org, "via": "api"})


def test_the_role_matrix_is_the_one_the_issue_states():
    expected = {
        "code": {"coder", "integration", "admin"},
        "read_runs": set(ROLES),
        "trace": {"coder", "auditor", "admin"},
        "review": {"coder", "auditor", "admin"},
        "audit_codes": set(ROLES),
        "audit_log": {"auditor", "admin"},
        "manage_keys": {"admin"},
    }
    for permission, roles in expected.items():
        assert set(GRANTS[permission]) == roles, permission  # type: ignore[index]


def test_roles_are_enforced_by_the_facade(service):
    auditor, integration = _actor("auditor"), _actor("integration")
    with pytest.raises(Forbidden):
        service.code_text(auditor, "Assessment: hypertension.")
    result = service.code_text(integration, "Assessment: hypertension.")
    with pytest.raises(Forbidden):
        service.trace(integration, result.run_id)
    with pytest.raises(Forbidden):
        service.review(integration, result.run_id, ReviewRequest(accept=["I10"]))
    with pytest.raises(Forbidden):
        service.verify_audit(_actor("coder"))
    with pytest.raises(Forbidden):
        service.create_api_key(auditor, "x", "coder")
    assert service.trace(auditor, result.run_id).trace.run.run_id == result.run_id


def test_another_orgs_run_does_not_exist(service):
    mine = service.code_text(_actor("coder", org="north"), "Assessment: hypertension.")
    theirs = _actor("admin", org="south")
    for call in (service.run, service.trace):
        with pytest.raises(RunNotFound):
            call(theirs, mine.run_id)
    with pytest.raises(RunNotFound):
        service.review(theirs, mine.run_id, ReviewRequest(accept=["I10"]))
    assert [r.run_id for r in service.runs(_actor("coder", org="north"))] == [mine.run_id]
    assert service.runs(theirs) == []
    south_events = service.audit_events(theirs)
    assert all(e.run_id != mine.run_id for e in south_events)
    north = service.audit_events(_actor("auditor", org="north"), run_id=mine.run_id)
    assert north and north[0].action == "run.start" and north[0].org == "north"


def test_reads_are_audited_with_the_actor(service):
    coder = _actor("coder", name="jane.doe")
    result = service.code_text(coder, "Assessment: hypertension.")
    service.run(coder, result.run_id, surface="api")
    reads = [e for e in service.records.audit.events(result.run_id) if e.action == "run.read"]
    assert reads and reads[-1].actor == "apikey:jane.doe" and reads[-1].name == "api"


def test_two_reviewers_at_once_one_wins_and_nothing_of_the_other_is_applied(service):
    """The first review is held inside its graph (a lock in the test); the second is refused
    while it is held, and after it finished; only the first decision is stored and audited."""
    result = service.code_file(ADMIN, EXAMPLES / "discharge_summary.txt")
    codes = [s.code for s in result.suggestions]
    inside, release = threading.Event(), threading.Event()
    workflow = service.workflow
    original = workflow.invoke

    def held(payload, *args, **kwargs):
        inside.set()
        release.wait(60)
        return original(payload, *args, **kwargs)

    workflow.invoke = held
    outcome: dict[str, object] = {}

    def first() -> None:
        outcome["first"] = service.review(
            _actor("coder", name="first.rev"), result.run_id, ReviewRequest(accept=[codes[0]])
        )

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(60)
    try:
        with pytest.raises(ReviewConflict, match="being reviewed"):
            service.review(
                _actor("auditor", name="second.rev"),
                result.run_id,
                ReviewRequest(reject=[codes[0]]),
            )
    finally:
        release.set()
        thread.join(120)
    workflow.invoke = original
    with pytest.raises(ReviewConflict, match="already reviewed"):
        service.review(
            _actor("auditor", name="second.rev"), result.run_id, ReviewRequest(reject=[codes[0]])
        )
    assert service.records.runs.run(result.run_id).status == "reviewed"
    reviews = service.records.runs.reviews(result.run_id)
    assert [r.reviewer for r, _ in reviews] == ["first.rev"]
    decisions = [
        e for e in service.records.audit.events(result.run_id) if e.action == "review.decision"
    ]
    assert {e.actor for e in decisions} == {"reviewer:first.rev"}
    assert verify_log(service.records.audit).ok


def test_a_paused_run_saves_its_checkpoint_on_one_thread_and_resumes(service, monkeypatch):
    """LangGraph saves a paused run's checkpoint and writes in the background: one thread a
    run, not one a save (each start cost ~1 ms); the review still resumes from the save."""
    service.code_file(ADMIN, EXAMPLES / "discharge_summary.txt")  # anything started once
    started: list[str] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        started.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    result = service.code_file(ADMIN, EXAMPLES / "discharge_summary.txt")
    assert service.records.runs.run(result.run_id).status == "awaiting_review"
    assert len(started) == 1
    reviewed = service.review(
        ADMIN, result.run_id, ReviewRequest(accept=[result.suggestions[0].code])
    )
    assert reviewed.review is not None
    assert service.records.runs.run(result.run_id).status == "reviewed"
    assert verify_log(service.records.audit).ok


def test_a_failed_review_releases_the_claim(service):
    result = service.code_file(ADMIN, EXAMPLES / "discharge_summary.txt")
    workflow = service.workflow
    original = workflow.invoke

    def broken(*args, **kwargs):
        raise RuntimeError("graph crashed")

    workflow.invoke = broken
    try:
        with pytest.raises(RuntimeError):
            service.review(ADMIN, result.run_id, ReviewRequest(accept=[result.suggestions[0].code]))
    finally:
        workflow.invoke = original
    assert service.records.runs.run(result.run_id).status == "awaiting_review"
    reviewed = service.review(
        ADMIN, result.run_id, ReviewRequest(accept=[result.suggestions[0].code])
    )
    assert reviewed.review is not None


def test_a_run_whose_owner_died_is_marked_interrupted_and_audited(service, tmp_path):
    from core.settings import Settings
    from store.records import Records

    runs = service.records.runs
    dead = "elsewhere-host:1:1"  # another host: only its lease can tell
    runs.start_run("run-00000000000000aa", None, "user:x", "outpatient", {}, owner=dead, lease_s=-1)
    runs.start_run("run-00000000000000bb", None, "user:x", "outpatient", {}, owner=dead)
    gone_here = f"{_host()}:999999999:12345"  # this host, a pid that does not exist
    runs.start_run("run-00000000000000cc", None, "user:x", "outpatient", {}, owner=gone_here)
    reopened = Records.open(Settings(data_dir=tmp_path))
    assert reopened.runs.run("run-00000000000000aa").status == "interrupted"
    assert reopened.runs.run("run-00000000000000bb").status == "running"  # lease still holds
    assert reopened.runs.run("run-00000000000000cc").status == "interrupted"
    events = reopened.audit.events("run-00000000000000cc")
    assert events[-1].action == "run.interrupted" and events[-1].result == "interrupted"
    assert Records.open(Settings(data_dir=tmp_path)).release_abandoned() == 0
    assert verify_log(reopened.audit).ok


def _host() -> str:
    from store.owners import this_process

    return this_process().rsplit(":", 2)[0]


def test_api_keys_are_shown_once_and_stored_hashed(service, tmp_path):
    record, token = service.create_api_key(ADMIN, "billing-sync", "integration", org="north")
    assert token.startswith(f"csk_{record.key_id}_")
    actor = service.authenticate(token)
    assert actor is not None and (actor.id, actor.role, actor.org) == (
        "billing-sync",
        "integration",
        "north",
    )
    assert token.split("_")[-1].encode() not in (tmp_path / "codesense.db").read_bytes()
    assert service.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert service.authenticate("Bearer nonsense") is None
    service.revoke_api_key(ADMIN, record.key_id)
    assert service.authenticate(token) is None
    assert [k.revoked_at is not None for k in service.api_keys(ADMIN)] == [True]
    events = list(service.records.audit.range(1))
    assert {"apikey.create", "apikey.revoke"} <= {e.action for e in events}
    assert not any(token in e.model_dump_json() for e in events)


def _fhir_text(text: str, doc_id: str | None = None, content_type: str = "text/plain") -> dict:
    doc = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": content_type,
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }
    if doc_id:
        doc["id"] = doc_id
    return doc


def test_a_fhir_bundle_is_one_chart_whose_evidence_names_each_document(service):
    pdf = (EXAMPLES / "clinic_followup.pdf").read_bytes()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1"}},
            {"resource": _fhir_text("ASSESSMENT:\n1. Essential hypertension.\n", "note-1")},
            {
                "resource": {
                    "resourceType": "DocumentReference",
                    "id": "scan-2",
                    "status": "current",
                    "content": [
                        {
                            "attachment": {
                                "contentType": "application/pdf",
                                "data": base64.b64encode(pdf).decode(),
                            }
                        }
                    ],
                }
            },
        ],
    }
    result = service.code_fhir(_actor("integration"), bundle)
    docs = {e.doc_id for s in result.suggestions for e in s.evidence}
    assert "note-1" in docs and "scan-2" in docs
    chart = service.read_fhir(bundle)
    for s in result.suggestions:
        for e in s.evidence:
            assert chart.document(e.doc_id).text[e.start : e.end] == e.quote


@pytest.mark.parametrize(
    "resource, error, says",
    [
        ({"resourceType": "Patient"}, InvalidFhir, "expected a DocumentReference or a Bundle"),
        (
            {**_fhir_text("x"), "status": "bogus"},
            InvalidFhir,
            "DocumentReference.status",
        ),
        (
            {"resourceType": "DocumentReference", "status": "current"},
            InvalidFhir,
            "DocumentReference.content",
        ),
        (
            {
                "resourceType": "DocumentReference",
                "status": "current",
                "content": [{"attachment": {"contentType": "text/plain", "data": "@@@"}}],
            },
            InvalidFhir,
            "DocumentReference.content[0].attachment.data",
        ),
        (_fhir_text("x", content_type="image/png"), UnsupportedContent, "image/png"),
        (
            _fhir_text("HPI: cough.", content_type="application/pdf"),
            InvalidFhir,
            "contentType is application/pdf but the data is not a PDF",
        ),
        (
            {
                "resourceType": "DocumentReference",
                "status": "current",
                "content": [{"attachment": {"url": "http://example.org/x.pdf"}}],
            },
            UnsupportedContent,
            "never fetched",
        ),
        (
            {"resourceType": "Bundle", "type": "collection", "entry": []},
            InvalidFhir,
            "no DocumentReference",
        ),
    ],
)
def test_bad_fhir_gets_one_line_naming_the_element(service, resource, error, says):
    with pytest.raises(error) as caught:
        service.read_fhir(resource)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(tmp_path, term_index):
    from apps.service import Service
    from core.settings import Settings

    small = Service(Settings(data_dir=tmp_path, max_file_mb=0.001))
    with pytest.raises(ChartTooLarge, match="limit"):
        small.read_upload(b"x" * 5000, "../../etc/big note.txt")
    with pytest.raises(ChartTooLarge, match="etc_big_note.txt|big_note.txt"):
        small.read_upload(b"x" * 5000, "../../etc/big note.txt")


def test_run_records_carry_org_kind_and_times(service):
    result = service.code_text(_actor("coder", org="north"), "Assessment: hypertension.")
    run = service.records.runs.run(result.run_id)
    assert (run.org, run.kind, run.status) == ("north", "code", "awaiting_review")
    assert run.created_at <= utc_now()
