"""Plain-text intake: exact offsets, and one-line refusals for files that are not text charts."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from core.errors import ChartInputError
from tools.extract.intake import read_document
from tools.extract.text import read_text_document

NOTE = (
    "CHIEF COMPLAINT:\r\nFollow-up.\r\n\r\n"
    "ASSESSMENT AND PLAN:\r\n"
    "1. Type 2 diabetes mellitus with diabetic CKD stage 3a \u2014 continue metformin.\r\n"
    "2. Denies chest pain; no evidence of heart failure.\tCaf\u00e9 visit \U0001f600.\n"
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_text_is_kept_unchanged_with_exact_offsets(tmp_path: Path) -> None:
    raw = NOTE.encode("utf-8")
    path = _write(tmp_path, "note.txt", raw)

    doc = read_text_document(path, "d1")

    assert doc.text == NOTE  # CRLF, tab, em dash and emoji untouched
    assert doc.kind == "text"
    assert doc.doc_id == "d1"
    assert doc.source_name == "note.txt"
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert [(p.number, p.start, p.end) for p in doc.pages] == [(1, 0, len(NOTE))]
    [run] = doc.runs
    assert (run.start, run.end, run.source, run.visible) == (0, len(NOTE), "text", True)
    phrase = "no evidence of heart failure"
    start = NOTE.index(phrase)
    assert doc.text[start : start + len(phrase)] == phrase
    assert doc.text[run.start : run.end] == NOTE
    assert doc.is_visible(start, start + len(phrase))


def test_read_document_names_text_by_content_hash(tmp_path: Path) -> None:
    raw = NOTE.encode("utf-8")
    path = _write(tmp_path, "note.txt", raw)

    doc = read_document(path)

    assert doc.doc_id == "doc-" + hashlib.sha256(raw).hexdigest()[:12]
    assert doc.text == NOTE
    assert read_document(str(path), "chart-7").doc_id == "chart-7"


def test_utf8_bom_is_dropped_and_offsets_start_after_it(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbf" + "HPI: no fever (caf\u00e9).".encode()
    path = _write(tmp_path, "bom.txt", raw)

    doc = read_document(path)

    assert doc.text == "HPI: no fever (caf\u00e9)."
    assert doc.text.index("no fever") == 5
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()  # hash of the bytes, BOM included


def test_latin1_file_gets_a_clear_one_line_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "legacy.txt", "Patient: Jos\u00e9, caf\u00e9 au lait spots".encode("latin-1")
    )

    with pytest.raises(ChartInputError) as err:
        read_document(path)

    assert str(err.value) == (
        "legacy.txt: not UTF-8 text (byte 0xe9 at offset 12); save it as UTF-8 and try again"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
        bytes(range(1, 32)) * 20,  # control characters, no NUL
    ],
    ids=["nul-bytes", "control-chars"],
)
def test_binary_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "scan.bin", data)

    with pytest.raises(ChartInputError, match=r"^scan\.bin: binary file"):
        read_document(path)


def test_utf16_file_is_refused_with_advice(tmp_path: Path) -> None:
    path = _write(tmp_path, "export.txt", "HPI: cough".encode("utf-16"))

    with pytest.raises(ChartInputError, match=r"^export\.txt: UTF-16 .*save it as UTF-8"):
        read_document(path)


@pytest.mark.parametrize("data", [b"", b" \r\n\t\n  "], ids=["zero-bytes", "whitespace"])
def test_empty_file_is_refused(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "blank.txt", data)

    with pytest.raises(ChartInputError) as err:
        read_document(path)

    assert str(err.value) == "blank.txt: empty file"


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "charts"
    folder.mkdir()

    with pytest.raises(ChartInputError) as err:
        read_document(folder)

    assert str(err.value) == "charts: is a directory, not a file"


def test_missing_path_is_refused_by_base_name(tmp_path: Path) -> None:
    with pytest.raises(ChartInputError) as err:
        read_document(tmp_path / "sub" / "nowhere.txt")

    assert str(err.value) == "nowhere.txt: no such file"


def test_too_large_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: no disk, and reading it would be slow

    started = time.monotonic()
    with pytest.raises(ChartInputError) as err:
        read_document(path)

    assert str(err.value) == "huge.txt: 200.0 MB is larger than the 50 MB limit"
    assert time.monotonic() - started < 1.0


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024 * 1024)

    with pytest.raises(ChartInputError) as err:
        read_document(path, max_bytes=2 * 1024 * 1024)

    assert str(err.value) == "note.txt: 3.0 MB is larger than the 2 MB limit"


def test_fifo_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)

    with pytest.raises(ChartInputError) as err:
        read_document(fifo)

    assert str(err.value) == "pipe.txt: not a regular file"


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "locked.txt", b"HPI: cough")
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        # chmod 000 does not stop root (as in CI containers), so refuse the open directly.
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)

    with pytest.raises(ChartInputError) as err:
        read_document(path)

    assert str(err.value) == "locked.txt: not readable (permission denied)"
