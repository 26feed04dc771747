"""The command line as a user meets it: JSON Lines output, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
