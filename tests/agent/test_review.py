"""Human review end to end in the service: code -> escalate -> pause -> decide -> resume -> trace.

The sample discharge summary names a (fictional) patient and MRN; with both thresholds at 1.0
every code is escalated, so the run pauses for review whatever the scores.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from agent.review import ReviewError, ReviewRequest
from store.checkpoints import unencrypted_rows
from store.runs import ReviewConflict
from store.verify import verify_log
from tests.conftest import ADMIN, EXAMPLES

CHART = EXAMPLES / "discharge_summary.txt"
CANARIES = [b"Calloway", b"MRN-0000DEMO3", b"Former smoker", b"orthopnea"]


@pytest.fixture
def review_service(tmp_path, term_index):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from apps.service import Service
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path, auto_threshold=1.0, review_threshold=1.0)
    context = CodingContext(settings, term_index, OfflineReasoner(), rules_version())
    return Service(settings, context)


def _events(service, run_id):
    return service.records.audit.events(run_id)


def _count(events, action, name=None, result=None):
    return sum(
        1
        for e in events
        if e.action == action
        and (name is None or e.name == name)
        and (result is None or e.result == result)
    )


def _span(text: str, phrase: str) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def test_review_round_trip(review_service, caplog):
    caplog.set_level(logging.DEBUG)
    service = review_service
    text = CHART.read_text(encoding="utf-8")
    result = service.code_file(ADMIN, CHART)
    assert result.route == "escalate"
    run = service.records.runs.run(result.run_id)
    assert run.status == "awaiting_review"
    paused = _events(service, result.run_id)
    assert result.audit.events == len(paused) and result.audit.head == paused[-1].hash
    assert _count(paused, "review.request") == 1
    assert _count(paused, "graph.step", "await_review", "interrupted") == 1
    assert paused[-1].action == "run.pause"

    suggested = [s.code for s in result.suggestions]
    keep, drop = suggested[0], suggested[-1]
    # Codes the graph did not suggest (rule packs may start suggesting some of these).
    smoker_code = next(c for c in ("Z87.891", "F17.211", "Z72.0") if c not in suggested)
    reason_code = next(c for c in ("E66.9", "E55.9", "D64.9") if c not in suggested)
    start, end = _span(text, "Former smoker, 40 pack-years")
    request = ReviewRequest(
        reviewer="coder.jane",
        accept=[keep],
        reject=[drop],
        add=[
            {"code": smoker_code, "spans": [{"start": start, "end": end}]},
            {"code": reason_code},
        ],
        reason="old MI documented in the history; BMI 34 in the nursing flowsheet",
    )
    reviewed = service.review(ADMIN, result.run_id, request)

    outcome = reviewed.review
    assert outcome is not None
    assert outcome.reviewer == "coder.jane"
    assert outcome.accepted == [keep] and outcome.rejected == [drop]
    assert drop not in outcome.codes and {smoker_code, reason_code, keep} <= set(outcome.codes)
    smoker = next(a for a in outcome.added if a.code == smoker_code)
    assert smoker.evidence[0].quote == text[start:end] == "Former smoker, 40 pack-years"
    assert service.records.runs.run(result.run_id).status == "reviewed"

    # Resuming re-ran only the interrupted node: nothing before the pause happened twice.
    events = _events(service, result.run_id)
    assert _count(events, "review.request") == 1
    assert _count(events, "graph.step", "request_review") == 1
    assert _count(events, "graph.step", "extract_document") == 1
    assert _count(events, "graph.step", "await_review", "interrupted") == 1
    assert _count(events, "graph.step", "await_review", "ok") == 1
    decisions = [e for e in events if e.action == "review.decision"]
    assert {(e.result, e.codes[0]) for e in decisions} == {
        ("accepted", keep),
        ("rejected", drop),
        ("added", smoker_code),
        ("added", reason_code),
    }
    assert all(e.actor == "reviewer:coder.jane" for e in decisions)
    assert reviewed.audit.events == len(events) and reviewed.audit.head == events[-1].hash
    assert verify_log(service.records.audit).ok

    # The trace shows who decided what and why.
    from apps.trace import trace_markdown

    view = service.trace(ADMIN, result.run_id)
    trace, chart = view.trace, view.chart
    assert chart is not None and chart.documents[0].text == text
    assert trace.reviews[0].reviewer == "coder.jane"
    assert "old MI documented" in trace.reviews[0].reason
    marks = {c.code: c.review for c in trace.codes}
    assert marks[keep] == "accepted" and marks[drop] == "rejected"
    md = trace_markdown(trace)
    assert "Review by coder.jane" in md and smoker_code in md and "old MI documented" in md

    # The checkpoint is gone once the run finished; nothing sensitive reached a log record.
    assert service.workflow.get_state({"configurable": {"thread_id": result.run_id}}).next == ()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(c.decode() in logged for c in CANARIES)


def test_a_paused_runs_checkpoint_is_encrypted_row_by_row(review_service, tmp_path):
    result = review_service.code_file(ADMIN, CHART)
    assert review_service.records.runs.run(result.run_id).status == "awaiting_review"
    conn = sqlite3.connect(tmp_path / "checkpoints.db")
    assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] >= 1
    assert conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0] >= 1
    assert unencrypted_rows(conn) == []
    for (metadata,) in conn.execute("SELECT metadata FROM checkpoints"):
        assert not any(c in bytes(metadata) for c in CANARIES)
    files = [p for p in tmp_path.iterdir() if p.name.startswith(("checkpoints.db", "codesense.db"))]
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(c in data for c in CANARIES), path.name


def test_an_auto_run_leaves_no_checkpoint(term_index, tmp_path):
    from agent.context import CodingContext, rules_version
    from agent.reasoners import OfflineReasoner
    from apps.service import Service
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path, auto_threshold=0.0, review_threshold=0.0)
    service = Service(
        settings, CodingContext(settings, term_index, OfflineReasoner(), rules_version())
    )
    result = service.code_file(ADMIN, EXAMPLES / "radiology_report.txt")
    assert result.route == "auto"
    assert service.records.runs.run(result.run_id).status == "completed"
    conn = sqlite3.connect(tmp_path / "checkpoints.db")
    assert conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0] == 0
    events = service.records.audit.events(result.run_id)
    assert events[0].action == "run.start" and events[-1].action == "run.end"
    assert not any(e.action.startswith("review") for e in events)


@pytest.mark.parametrize(
    "request_fields, says",
    [
        ({"accept": ["Q99.9"]}, "was not suggested"),
        ({"accept": ["NOT.A.CODE"]}, "not a single ICD-10-CM code"),
        ({"accept": ["Z99.999"]}, "not an ICD-10-CM code"),
        ({"add": [{"code": "E08-E13"}]}, "not a single ICD-10-CM code"),
        ({"add": [{"code": "E11", "spans": [{"start": 0, "end": 9}]}]}, "E11 is not a billable"),
        (
            {"add": [{"code": "e11.2", "spans": [{"start": 0, "end": 9}]}]},
            "E11.2 is not a billable",
        ),
        ({"add": [{"code": "E66.9"}]}, "needs evidence"),
        ({"add": [{"code": "E66.9", "spans": [{"start": 5, "end": 999999}]}]}, "outside"),
        (
            {"add": [{"code": "E66.9", "spans": [{"doc_id": "nope", "start": 0, "end": 5}]}]},
            "no document",
        ),
        ({}, "at least one"),
    ],
)
def test_bad_decisions_are_refused_and_the_run_stays_paused(review_service, request_fields, says):
    result = review_service.code_file(ADMIN, CHART)
    with pytest.raises(ReviewError, match=says):
        review_service.review(
            ADMIN, result.run_id, ReviewRequest(reviewer="coder.jane", **request_fields)
        )
    assert review_service.records.runs.run(result.run_id).status == "awaiting_review"


def test_a_run_is_reviewed_once(review_service):
    result = review_service.code_file(ADMIN, CHART)
    request = ReviewRequest(reviewer="coder.jane", accept=[result.suggestions[0].code])
    review_service.review(ADMIN, result.run_id, request)
    with pytest.raises(ReviewConflict, match="already reviewed"):
        review_service.review(ADMIN, result.run_id, request)


def test_the_reviewer_id_is_an_id(review_service):
    result = review_service.code_file(ADMIN, CHART)
    with pytest.raises(ReviewError, match="reviewer id"):
        review_service.review(
            ADMIN,
            result.run_id,
            ReviewRequest(reviewer="Edwin Calloway", accept=[result.suggestions[0].code]),
        )


def test_the_checkpointer_loads_only_allow_listed_types():
    from agent.state import CodingState
    from store.checkpoints import model_allowlist

    allowed = model_allowlist(CodingState)
    names = {name for _, name in allowed}
    assert {"CodingState", "Chart", "Document", "Mention", "Candidate", "ChartResult"} <= names
    assert all(not module.startswith(("os", "subprocess", "builtins")) for module, _ in allowed)


def test_stored_records_need_the_key(review_service, tmp_path):
    result = review_service.code_file(ADMIN, CHART)
    db = (tmp_path / "codesense.db").read_bytes()
    assert not any(c in db for c in CANARIES)
    assert Path(tmp_path / "keys" / "secret.key").exists()
    assert review_service.records.runs.output(result.run_id)["run_id"] == result.run_id
