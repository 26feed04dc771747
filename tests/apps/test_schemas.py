"""The published JSON Schemas match the models, and the FHIR export of a run validates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent.review import ReviewRequest
from apps.schemas import published, render, schema_document, stale
from core.errors import Conflict
from tests.conftest import ADMIN, EXAMPLES, ROOT


def test_the_committed_schemas_match_the_models():
    assert stale() == [], "run `codesense schema write` and commit schema/"


def test_a_changed_model_makes_its_schema_stale(tmp_path, monkeypatch):
    from core.contract import ReviewOutcome

    for name in published():
        (tmp_path / f"{name}.v1.json").write_text(render(name), encoding="utf-8")
    assert stale(tmp_path) == []
    monkeypatch.setitem(
        ReviewOutcome.model_fields, "extra_field", ReviewOutcome.model_fields["reason"]
    )
    ReviewOutcome.model_rebuild(force=True)
    try:
        assert "review" in stale(tmp_path)
    finally:
        monkeypatch.undo()
        ReviewOutcome.model_rebuild(force=True)


def test_schemas_are_draft_2020_12_with_ids():
    from jsonschema import Draft202012Validator

    for name in published():
        doc = schema_document(name)
        Draft202012Validator.check_schema(doc)
        assert doc["$id"].startswith(f"urn:codesense:schema:{name}:v")


def test_cli_json_output_validates_against_the_committed_schema(contract_validator):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "apps.cli",
            "code",
            "--format",
            "json",
            str(EXAMPLES / "ed_note.txt"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = json.loads(proc.stdout.strip().splitlines()[0])
    assert not list(contract_validator.iter_errors(out))


@pytest.fixture
def reviewing(tmp_path, term_index):
    from tests.apps.server.conftest import make_service

    return make_service(tmp_path, term_index, auto_threshold=1.0, review_threshold=1.0)


def test_the_fhir_export_of_a_reviewed_run_validates(reviewing):
    from fhir.resources.R4B.bundle import Bundle

    result = reviewing.code_file(ADMIN, EXAMPLES / "clinic_progress_note.txt")
    with pytest.raises(Conflict, match="awaiting review"):
        reviewing.export_fhir(ADMIN, result.run_id)
    codes = [s.code for s in result.suggestions]
    text = (EXAMPLES / "clinic_progress_note.txt").read_text(encoding="utf-8")
    start = text.index("BMI 31.2")
    reviewing.review(
        ADMIN,
        result.run_id,
        ReviewRequest(
            accept=codes[:1],
            reject=codes[-1:],
            add=[{"code": "E66.9", "spans": [{"start": start, "end": start + 8}]}],
            reason="obesity documented by BMI and plan",
        ),
    )
    bundle = reviewing.export_fhir(ADMIN, result.run_id).model_dump(mode="json", exclude_none=True)
    Bundle.model_validate(bundle)
    conditions = [e["resource"] for e in bundle["entry"]]
    exported = [c["code"]["coding"][0]["code"] for c in conditions]
    principal = next(s.code for s in result.suggestions if s.role == "principal")
    assert exported[0] == principal
    assert codes[-1] not in exported and "E66.9" in exported
    assert all(c["verificationStatus"]["coding"][0]["code"] == "confirmed" for c in conditions)
    added = conditions[exported.index("E66.9")]
    spans = [x for x in added["extension"] if x["url"].endswith(":evidence")]
    quote = {e["url"]: e.get("valueString", e.get("valueInteger")) for e in spans[0]["extension"]}
    assert quote["quote"] == "BMI 31.2" and quote["start"] == start
    ranks = [
        next(x["valueInteger"] for x in c["extension"] if x["url"].endswith(":rank"))
        for c in conditions
    ]
    assert ranks == list(range(1, len(conditions) + 1))


def test_an_auto_run_exports_provisional_conditions(tmp_path, term_index):
    from fhir.resources.R4B.bundle import Bundle

    from tests.apps.server.conftest import make_service

    auto = make_service(tmp_path, term_index, auto_threshold=0.0, review_threshold=0.0)
    result = auto.code_file(ADMIN, EXAMPLES / "radiology_report.txt")
    bundle = auto.export_fhir(ADMIN, result.run_id).model_dump(mode="json", exclude_none=True)
    Bundle.model_validate(bundle)
    statuses = {e["resource"]["verificationStatus"]["coding"][0]["code"] for e in bundle["entry"]}
    assert statuses == {"provisional"}


def test_export_from_the_command_line(tmp_path):
    env = {
        **__import__("os").environ,
        "CODESENSE_DATA_DIR": str(tmp_path / "d"),
        "CODESENSE_AUTO_THRESHOLD": "0",
        "CODESENSE_REVIEW_THRESHOLD": "0",
    }
    cache = ROOT / ".codesense" / "cache"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "cache").symlink_to(cache, target_is_directory=True)
    coded = subprocess.run(
        [
            sys.executable,
            "-m",
            "apps.cli",
            "code",
            "--format",
            "json",
            str(EXAMPLES / "radiology_report.txt"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    run_id = json.loads(coded.stdout)["run_id"]
    exported = subprocess.run(
        [sys.executable, "-m", "apps.cli", "export", run_id, "--format", "fhir"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["resourceType"] == "Bundle"
    missing = subprocess.run(
        [sys.executable, "-m", "apps.cli", "export", "run-0000000000000000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert missing.returncode == 2 and "no run" in missing.stderr


def test_audit_codes_json_validates_against_the_committed_schema(audit_validator, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text(
        "ASSESSMENT:\n1. Type 2 diabetes mellitus with CKD stage 3a.\n2. No chest pain.\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "apps.cli",
            "audit-codes",
            str(note),
            "--codes",
            "E11.9,N18.31,R07.9",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert not list(audit_validator.iter_errors(out))
    assert {f["kind"] for f in out["findings"]} >= {"combination", "unsupported"}
