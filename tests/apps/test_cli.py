"""The command line as a user meets it: JSON Lines output, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.cli import main
from tests.conftest import EXAMPLES, ROOT


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_json_lines_follow_the_contract():
    proc = _run(
        "code",
        "--format",
        "json",
        str(EXAMPLES / "clinic_progress_note.txt"),
        str(EXAMPLES / "radiology_report.txt"),
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        out = json.loads(line)
        assert out["schema_version"] == 1
        assert set(out) >= {
            "chart_id",
            "run_id",
            "setting",
            "code_set",
            "rules_version",
            "reasoner",
            "route",
            "escalations",
            "suggestions",
            "mentions",
            "queries",
            "audit",
        }
        for s in out["suggestions"]:
            assert s["system"] == "ICD-10-CM" and s["evidence"]
            assert s["status"] in {"auto", "review", "escalate"}
            assert 0.0 <= s["confidence"] <= 1.0
        assert {m["assertion"] for m in out["mentions"]} <= {
            "present",
            "negated",
            "possible",
            "historical",
            "family",
            "hypothetical",
        }


def test_table_output_is_readable():
    proc = _run("code", str(EXAMPLES / "clinic_progress_note.txt"))
    assert proc.returncode == 0, proc.stderr
    assert "E11.21" in proc.stdout and "Not coded" in proc.stdout


def test_table_lists_as_not_coded_only_mentions_no_code_cites():
    # Inpatient, "Probable community acquired pneumonia" is coded as if established (Section
    # II.H): the table must not also list it under "Not coded"; the brother's COPD stays there.
    proc = _run("code", "--setting", "inpatient", str(EXAMPLES / "discharge_summary.txt"))
    assert proc.returncode == 0, proc.stderr
    assert "J18.9" in proc.stdout
    not_coded = proc.stdout.split("Not coded:", 1)[1].split("MS-DRG", 1)[0]
    assert '"COPD" - family' in not_coded
    assert "community acquired pneumonia" not in not_coded
    # "for probable pneumonia" in the hospital course reads J18.9, coded on the diagnosis line.
    assert '"pneumonia" - possible' not in not_coded
    assert '"Former smoker"' not in not_coded  # cited by Z87.891


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    empty = tmp / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp / "image.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    latin1 = tmp / "latin1.txt"
    latin1.write_bytes("Patient with diabète sucré".encode("latin-1"))
    corrupt = tmp / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + os.urandom(2048))
    huge = tmp / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    encrypted = tmp / "encrypted.pdf"
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Assessment: hypertension")
    doc.save(
        encrypted,
        encryption=pymupdf.mupdf.PDF_ENCRYPT_AES_256,
        user_pw="secret",
        owner_pw="owner",
    )
    return {
        "empty": empty,
        "binary": binary,
        "latin1": latin1,
        "corrupt": corrupt,
        "huge": huge,
        "encrypted": encrypted,
        "directory": tmp,
        "missing": tmp / "no-such-chart.txt",
    }


@pytest.mark.parametrize(
    "kind, says",
    [
        ("empty", "empty file"),
        ("binary", "binary"),
        ("latin1", "UTF-8"),
        ("corrupt", "PDF"),
        ("huge", "limit"),
        ("encrypted", "encrypted"),
        ("directory", "directory"),
        ("missing", "no such file"),
    ],
)
def test_bad_input_gets_one_line_and_nonzero_exit(term_index, tmp_path, kind, says):
    # `term_index` makes sure the index is built, so its one-time notice is not on stderr.
    path = _bad_inputs(tmp_path)[kind]
    proc = _run("code", str(path))
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("codesense: ") and says in err


def test_one_bad_file_does_not_lose_the_others(tmp_path):
    bad = tmp_path / "corrupt.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    proc = _run("code", "--format", "json", str(EXAMPLES / "radiology_report.txt"), str(bad))
    assert proc.returncode == 2
    assert len(proc.stdout.strip().splitlines()) == 1
    assert "corrupt.pdf" in proc.stderr


def test_usage_errors_exit_nonzero():
    proc = _run("code")
    assert proc.returncode == 2
    assert "usage" in proc.stderr


def test_every_readable_chart_is_coded_and_each_bad_one_named(term_index, tmp_path):
    bad = _bad_inputs(tmp_path)
    files = [
        EXAMPLES / "radiology_report.txt",
        bad["empty"],
        bad["huge"],
        bad["missing"],
        bad["corrupt"],
        EXAMPLES / "clinic_progress_note.txt",
    ]
    proc = _run("code", "--format", "json", *map(str, files))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 2
    errors = [line for line in proc.stderr.splitlines() if "awaits review" not in line]
    assert len(errors) == 4, proc.stderr
    for name in ("empty.txt", "huge.txt", "no-such-chart.txt", "corrupt.pdf"):
        assert sum(name in line for line in errors) == 1, name


def test_fhir_json_is_coded_from_the_command_line(tmp_path):
    import base64

    note = "ASSESSMENT:\n1. Essential hypertension.\n"
    bundle = {
        "resourceType": "DocumentReference",
        "id": "note-7",
        "status": "current",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(note.encode()).decode(),
                }
            }
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    not_fhir = tmp_path / "other.json"
    not_fhir.write_text('{"hello": 1}')
    proc = _run("code", "--format", "json", str(path), str(not_fhir))
    assert proc.returncode == 2
    out = json.loads(proc.stdout.strip().splitlines()[0])
    assert [s["code"] for s in out["suggestions"]] == ["I10"]
    assert out["suggestions"][0]["evidence"][0]["doc_id"] == "note-7"
    assert "other.json: JSON but not a FHIR resource" in proc.stderr


def test_an_api_key_is_printed_once_alone_on_the_last_line(tmp_path):
    env_dir = tmp_path / "data"
    proc = _run_env(
        {"CODESENSE_DATA_DIR": str(env_dir)},
        "apikey",
        "create",
        "--name",
        "auditor.kim",
        "--role",
        "auditor",
    )
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip().splitlines()[-1]
    assert token.startswith("csk_") and " " not in token
    listed = _run_env({"CODESENSE_DATA_DIR": str(env_dir)}, "apikey", "list")
    assert "auditor.kim" in listed.stdout and token not in listed.stdout
    key_id = token.split("_")[1]
    revoked = _run_env({"CODESENSE_DATA_DIR": str(env_dir)}, "apikey", "revoke", key_id)
    assert revoked.returncode == 0 and key_id in revoked.stdout
    again = _run_env({"CODESENSE_DATA_DIR": str(env_dir)}, "apikey", "revoke", key_id)
    assert again.returncode == 2 and "already revoked" in again.stderr
    bad_role = _run_env(
        {"CODESENSE_DATA_DIR": str(env_dir)}, "apikey", "create", "--name", "x", "--role", "root"
    )
    assert bad_role.returncode == 2 and "Traceback" not in bad_role.stderr


def _run_env(extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra}
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_verbose_logs_our_progress_and_no_library_chatter(term_index):
    """Issue 12: `-v` printed 1,575 lines of PyFastNER's '"\\." is not a eligible syntax'."""
    proc = _run("-v", "code", str(EXAMPLES / "clinic_progress_note.txt"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(" INFO tools.extract.intake: document read" in line for line in lines)
    assert not any("eligible syntax" in line for line in lines)
    assert not any(" INFO root:" in line for line in lines)
    assert len(lines) < 20, lines


def test_many_files_coded_in_worker_processes_as_in_one(term_index, tmp_path):
    """From 20 files on, `code` forks workers after a few charts: the same results in the
    files' order, a bad file in a worker's group named once, and the audit chain still whole."""
    notes = sorted(EXAMPLES.glob("*.txt"))
    files = []
    for n in range(60):
        chart = tmp_path / f"chart-{n:02d}.txt"
        chart.write_text(f"Visit {n}.\n" + notes[n % len(notes)].read_text(), encoding="utf-8")
        files.append(str(chart))
    bad = tmp_path / "chart-40-corrupt.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    files.insert(40, str(bad))

    def coded(workers: str) -> tuple[list[tuple[str, list[str]]], list[str]]:
        proc = _run("code", "--format", "json", "--workers", workers, *files)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = [json.loads(line) for line in proc.stdout.strip().splitlines()]
        errors = [line for line in proc.stderr.splitlines() if "awaits review" not in line]
        return [(o["route"], [s["code"] for s in o["suggestions"]]) for o in lines], errors

    one, one_errors = coded("1")
    two, two_errors = coded("2")
    assert len(one) == 60 and two == one
    assert len(one_errors) == len(two_errors) == 1 and "chart-40-corrupt.pdf" in two_errors[0]
    assert _run("audit", "verify").returncode == 0
    assert _run("code", "--workers", "0", str(EXAMPLES / "ed_note.txt")).returncode != 0


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "codiesp-dev", "--limit", "0"],
        ["batch", "charts", "--out", "o.jsonl", "--workers", "0"],
        ["runs", "--limit", "many"],
    ],
)
def test_a_count_below_one_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]):
    # `eval --limit 0` was a traceback (no chart to average over).
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"codesense {argv[0]}: error: argument --")
    assert "Traceback" not in err
