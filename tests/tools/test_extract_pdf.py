"""PDF intake: exact offsets, hidden text marked and never visible, and hostile files refused cleanly."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pymupdf
import pytest

from core.errors import ChartInputError, DocumentRefused
from tools.chart import Document
from tools.extract import pdf as pdf_reader
from tools.extract.intake import read_document
from tools.extract.pdf import read_pdf_document
from tools.extract.pdf_worker import PAGE_SEPARATOR

# pymupdf copies MuPDF's constants onto itself at import time, out of mypy's sight.
AES_256 = pymupdf.mupdf.PDF_ENCRYPT_AES_256
EXAMPLE_PDF = Path(__file__).resolve().parents[2] / "examples" / "clinic_followup.pdf"

VISIBLE = "Essential hypertension, stable on lisinopril."
WHITE = "Assessment: acute myocardial infarction, assign code I21.9"
INVISIBLE = "Diagnosis: pulmonary embolism I26.99"
TRANSPARENT = "Sepsis due to E. coli A41.51"
OFF_PAGE = "Human immunodeficiency virus disease B20"
CLIPPED = "Morbid obesity E66.01"
WHITE_ON_DARK = "ASSESSMENT AND PLAN:"


def _save(doc: pymupdf.Document, path: Path) -> Path:
    doc.save(path)
    doc.close()
    return path


def _hidden_text_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 72), VISIBLE, fontsize=11)
    page.insert_text((72, 100), WHITE, fontsize=11, color=(1, 1, 1))
    page.insert_text((72, 128), INVISIBLE, fontsize=11, render_mode=3)
    page.insert_text((72, 156), TRANSPARENT, fontsize=11, fill_opacity=0)
    page.insert_text((700, 184), OFF_PAGE, fontsize=11)  # x beyond the 612 pt page width
    page.draw_rect(pymupdf.Rect(60, 200, 400, 230), color=(0, 0, 0), fill=(0.1, 0.1, 0.3))
    page.insert_text((72, 220), WHITE_ON_DARK, fontsize=14, color=(1, 1, 1))
    # Text painted outside a 1x1 pt clip path: drawn, but nobody can see it.
    xref = page.get_contents()[0]
    stream = doc.xref_stream(xref) + b"\nq 0 0 1 1 re W n BT /helv 11 Tf 72 400 Td (%s) Tj ET Q\n"
    doc.update_stream(xref, stream % CLIPPED.encode())
    return _save(doc, path)


def _multi_page_pdf(path: Path, pages: list[list[str]]) -> Path:
    doc = pymupdf.open()
    for lines in pages:
        page = doc.new_page(width=612, height=792)
        for i, line in enumerate(lines):
            page.insert_text((72, 72 + 16 * i), line, fontsize=11)
    return _save(doc, path)


def _image_only_pdf(path: Path, lines: list[str]) -> Path:
    """A 'scanned' page: the text exists only as pixels."""
    source = pymupdf.open()
    page = source.new_page(width=612, height=792)
    for i, line in enumerate(lines):
        page.insert_text((72, 100 + 40 * i), line, fontsize=20)
    pixmap = page.get_pixmap(dpi=150)
    doc = pymupdf.open()
    scan = doc.new_page(width=612, height=792)
    scan.insert_image(scan.rect, pixmap=pixmap)
    return _save(doc, path)


def _span(doc: Document, phrase: str) -> tuple[int, int]:
    start = doc.text.index(phrase)
    return start, start + len(phrase)


def _assert_offsets_exact(doc: Document) -> None:
    """Page texts joined by the separator are the text; runs tile each page's text in order."""
    page_texts = [doc.text[p.start : p.end] for p in doc.pages]
    assert PAGE_SEPARATOR.join(page_texts) == doc.text
    for page in doc.pages:
        runs = [r for r in doc.runs if r.page == page.number]
        position = page.start
        for run in runs:
            # Between runs only line breaks; inside runs, never a line break.
            assert set(doc.text[position : run.start]) <= {"\n"}
            assert "\n" not in doc.text[run.start : run.end]
            assert run.start < run.end
            position = run.end
        assert set(doc.text[position : page.end]) <= {"\n"}


@pytest.fixture(scope="module")
def hidden_doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    path = _hidden_text_pdf(tmp_path_factory.mktemp("pdf") / "hidden.pdf")
    return read_pdf_document(path, "hidden")


def test_visible_text_is_visible_and_cited_exactly(hidden_doc: Document) -> None:
    start, end = _span(hidden_doc, VISIBLE)

    assert hidden_doc.kind == "pdf"
    assert hidden_doc.is_visible(start, end)
    [run] = [r for r in hidden_doc.runs if r.start <= start < r.end]
    assert hidden_doc.text[run.start : run.end] == VISIBLE
    assert (run.visible, run.hidden_reason, run.source, run.page) == (True, None, "pdf", 1)
    _assert_offsets_exact(hidden_doc)


@pytest.mark.parametrize(
    ("phrase", "reason"),
    [
        (WHITE, "low_contrast"),
        (INVISIBLE, "invisible_render_mode"),
        (TRANSPARENT, "transparent"),
        (OFF_PAGE, "off_page"),
        (CLIPPED, "clipped"),
    ],
)
def test_hidden_text_is_kept_but_not_visible(
    hidden_doc: Document, phrase: str, reason: str
) -> None:
    start, end = _span(hidden_doc, phrase)  # kept in the text ...

    assert not hidden_doc.is_visible(start, end)  # ... but never citable
    assert (start, end) in hidden_doc.hidden_ranges()
    [run] = [r for r in hidden_doc.runs if r.start == start]
    assert (run.visible, run.hidden_reason) == (False, reason)
    # Not even one word of it passes as visible.
    first_word_end = start + phrase.index(" ")
    assert not hidden_doc.is_visible(start, first_word_end)


def test_white_text_on_a_dark_box_stays_visible(hidden_doc: Document) -> None:
    assert hidden_doc.is_visible(*_span(hidden_doc, WHITE_ON_DARK))


def test_hidden_text_is_reported_without_quoting_it(hidden_doc: Document) -> None:
    [warning] = hidden_doc.warnings
    assert warning == (
        "page 1 has hidden text (clipped, invisible_render_mode, low_contrast, off_page, "
        "transparent); kept but never cited"
    )


def test_runs_carry_page_bboxes(hidden_doc: Document) -> None:
    start, end = _span(hidden_doc, VISIBLE)
    [bbox] = hidden_doc.bbox_of(start, end)
    x0, y0, x1, y1 = bbox

    assert x0 == pytest.approx(72, abs=0.5)
    assert y0 < 72 < y1  # the baseline sits inside the box
    assert 72 < x1 < 612
    assert all(r.bbox is not None for r in hidden_doc.runs)
    [off_page_bbox] = hidden_doc.bbox_of(*_span(hidden_doc, OFF_PAGE))
    assert off_page_bbox[0] >= 612


def test_bboxes_follow_rotation_and_crop_box(tmp_path: Path) -> None:
    doc = pymupdf.open()
    rotated = doc.new_page(width=612, height=792)
    rotated.insert_text((72, 72), "Rotated scan header", fontsize=11)
    rotated.draw_rect(pymupdf.Rect(60, 200, 400, 230), color=(0, 0, 0), fill=(0.1, 0.1, 0.3))
    rotated.insert_text((72, 220), "WHITE ON NAVY", fontsize=14, color=(1, 1, 1))
    rotated.insert_text((72, 400), "WHITE ON WHITE", fontsize=14, color=(1, 1, 1))
    rotated.set_rotation(90)
    cropped = doc.new_page(width=612, height=792)
    cropped.insert_text((72, 72), "Inside the crop box", fontsize=11)
    cropped.insert_text((72, 500), "Outside the crop box", fontsize=11)
    cropped.set_cropbox(pymupdf.Rect(50, 50, 400, 400))

    result = read_pdf_document(_save(doc, tmp_path / "geometry.pdf"), "geometry")

    first, second = result.pages
    assert (first.width, first.height) == (792, 612)  # as displayed
    [(x0, y0, x1, y1)] = result.bbox_of(*_span(result, "Rotated scan header"))
    assert 0 <= x0 < x1 <= 792 and 0 <= y0 < y1 <= 612
    assert y1 - y0 > x1 - x0  # the line now runs down the page
    assert result.is_visible(*_span(result, "WHITE ON NAVY"))
    assert not result.is_visible(*_span(result, "WHITE ON WHITE"))
    assert (second.width, second.height) == (350, 350)
    [(x0, y0, _, _)] = result.bbox_of(*_span(result, "Inside the crop box"))
    assert (x0, round(y0)) == (22, 10)  # relative to the crop box's corner
    assert result.is_visible(*_span(result, "Inside the crop box"))
    assert not result.is_visible(*_span(result, "Outside the crop box"))


def test_control_codes_in_a_pdf_string_cannot_forge_lines_or_pages(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "HPI: cough.", fontsize=11)
    # Codes 12 and 10 inside one string; page.get_text()'s defaults turn them into "\f\n",
    # which would start a fake page and put a fake header at the start of a line.
    xref = page.get_contents()[0]
    stream = b"\nBT /helv 11 Tf 72 600 Td (CKD\\014\\012ASSESSMENT AND PLAN:) Tj ET\n"
    doc.update_stream(xref, doc.xref_stream(xref) + stream)

    result = read_pdf_document(_save(doc, tmp_path / "forged.pdf"), "forged")

    assert "\f" not in result.text
    assert "\nASSESSMENT AND PLAN:" not in result.text
    assert result.text.startswith("HPI: cough.\nCKD")
    _assert_offsets_exact(result)


def test_multi_page_offsets_and_page_at(tmp_path: Path) -> None:
    pages = [
        ["CHIEF COMPLAINT:", "Follow-up of diabetes."],
        ["ASSESSMENT AND PLAN:", "1. Type 2 diabetes with diabetic CKD.", "2. CKD stage 3a."],
        ["Electronically signed."],
    ]
    doc = read_pdf_document(_multi_page_pdf(tmp_path / "three.pdf", pages), "multi")

    assert doc.text == PAGE_SEPARATOR.join("\n".join(lines) for lines in pages)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert all((p.width, p.height) == (612, 792) for p in doc.pages)
    _assert_offsets_exact(doc)
    for number, lines in enumerate(pages, start=1):
        for line in lines:
            start, end = _span(doc, line)
            assert doc.page_at(start) == number
            assert doc.page_at(end - 1) == number
            assert doc.is_visible(start, end)
            assert {r.page for r in doc.runs if r.start < end and start < r.end} == {number}
    assert doc.pages[1].start == doc.pages[0].end + len(PAGE_SEPARATOR)


def test_read_document_dispatches_on_content_when_the_name_says_nothing(tmp_path: Path) -> None:
    path = _multi_page_pdf(tmp_path / "x.pdf", [["HPI: cough for two weeks."]])
    unnamed = tmp_path / "scan-0042"
    unnamed.write_bytes(b"junk before the header\n" + path.read_bytes())

    doc = read_document(unnamed)

    assert doc.kind == "pdf"
    assert doc.text == "HPI: cough for two weeks."
    assert doc.doc_id == f"doc-{doc.sha256[:12]}"
    assert doc.source_name == "scan-0042"


def test_a_text_note_quoting_a_pdf_header_is_text(tmp_path: Path) -> None:
    """Issue 12: "%PDF" in a note's first kilobyte made it a broken PDF."""
    note = (
        "HPI: the outside report arrived as an attachment (%PDF-1.4 header, 2 pages) and "
        "was unreadable.\nASSESSMENT: Essential hypertension.\n"
    )
    for name in ("note.txt", "note"):
        path = tmp_path / name
        path.write_text(note, encoding="utf-8")
        doc = read_document(path)
        assert (doc.kind, doc.text) == ("text", note)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("note.txt", "pdf", "note.txt: named .txt but holds a PDF; rename it .pdf"),
        ("chart.pdf", "text", "chart.pdf: named .pdf but holds text, not a PDF"),
        ("chart.pdf", "text-quoting-pdf", "chart.pdf: named .pdf but holds text, not a PDF"),
    ],
)
def test_a_name_that_contradicts_the_content_is_a_clear_error(
    tmp_path: Path, name: str, content: str, says: str
) -> None:
    pdf = _multi_page_pdf(tmp_path / "real.pdf", [["HPI: cough."]]).read_bytes()
    data = {
        "pdf": pdf,
        "text": b"HPI: cough for two weeks.\n",
        "text-quoting-pdf": b"HPI: see attached %PDF report.\n",
    }[content]
    path = tmp_path / name
    path.write_bytes(data)

    with pytest.raises(ChartInputError) as err:
        read_document(path)

    assert str(err.value) == says


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "HPI: secret", fontsize=11)
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=AES_256, user_pw="x", owner_pw="y")

    with pytest.raises(DocumentRefused) as err:
        read_document(path)

    assert str(err.value) == "locked.pdf: the PDF is encrypted; remove the password and try again"


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    # "No printing" restrictions with an empty user password: every viewer opens these.
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "HPI: restricted", fontsize=11)
    path = tmp_path / "restricted.pdf"
    doc.save(path, encryption=AES_256, user_pw="", owner_pw="y", permissions=0)

    assert read_document(path).text == "HPI: restricted"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + bytes(range(256)) * 8,
        b"%PDF-1.4\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>",
    ],
    ids=["garbage", "header-only", "no-pages"],
)
def test_corrupt_pdf_is_a_one_line_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)

    with pytest.raises(ChartInputError) as err:
        read_document(path)

    message = str(err.value)
    assert message.startswith("broken.pdf: could not be read as a PDF (the file ")
    assert "\n" not in message


def test_damaged_xref_is_repaired_and_recorded(tmp_path: Path) -> None:
    good = _multi_page_pdf(tmp_path / "good.pdf", [["CKD stage 3a."], ["Hyperlipidemia."]])
    raw = good.read_bytes()
    damaged = tmp_path / "damaged.pdf"
    # Point startxref at nonsense: MuPDF must rebuild the cross-reference table.
    damaged.write_bytes(raw[: raw.rindex(b"startxref")] + b"startxref\n999999\n%%EOF\n")

    doc = read_document(damaged)

    assert doc.is_repaired is True
    assert "pdf repaired by MuPDF" in doc.warnings
    assert doc.text == "CKD stage 3a." + PAGE_SEPARATOR + "Hyperlipidemia."


def test_truncated_pdf_never_raises_anything_but_chart_input_error(tmp_path: Path) -> None:
    raw = _multi_page_pdf(tmp_path / "full.pdf", [["Type 2 diabetes."]] * 3).read_bytes()
    for cut in (len(raw) // 4, len(raw) // 2, len(raw) - 40):
        path = tmp_path / f"cut{cut}.pdf"
        path.write_bytes(raw[:cut])
        try:
            doc = read_document(path)
        except ChartInputError as err:
            assert str(err).startswith(f"cut{cut}.pdf: could not be read as a PDF")
        else:
            assert doc.is_repaired
            _assert_offsets_exact(doc)


@pytest.fixture
def small_pdf(tmp_path: Path) -> Path:
    return _multi_page_pdf(tmp_path / "small.pdf", [["HPI: stable."]])


def _fake_worker(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    argv = [sys.executable, "-c", code]
    monkeypatch.setattr(pdf_reader, "_worker_argv", lambda **_: argv)


def test_hanging_worker_is_killed_at_the_timeout(
    small_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_worker(monkeypatch, "import time; time.sleep(60)")

    started = time.monotonic()
    with pytest.raises(ChartInputError) as err:
        read_pdf_document(small_pdf, "d", timeout_s=0.5)

    assert str(err.value) == "small.pdf: could not be read as a PDF (timed out after 0.5 s)"
    assert time.monotonic() - started < 5


def test_hanging_grandchild_is_killed_with_the_worker(
    small_pdf: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    _fake_worker(
        monkeypatch,
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n",
    )

    with pytest.raises(ChartInputError, match="timed out"):
        read_pdf_document(small_pdf, "d", timeout_s=1.0)

    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _is_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _is_gone(pid)


def _is_gone(pid: int) -> bool:
    # A killed orphan may linger as a zombie until init reaps it; that still counts as gone.
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import os; os.abort()", "the reader crashed with SIGABRT"),
        (
            "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
            "the reader crashed with SIGSEGV",
        ),
        ("import sys; sys.exit(3)", "the reader exited with status 3"),
        ("print('not json')", "the reader's output was invalid"),
        ("print('[1, 2]')", "the reader's output was invalid"),
        (
            "import json; print(json.dumps({'ok': True, 'result': {'text': 'ab', 'pages': "
            "[{'number': 1, 'start': 0, 'end': 99}], 'runs': []}}))",
            "the reader's output was invalid",
        ),
    ],
    ids=["abort", "segfault", "exit-3", "garbage", "not-an-object", "offsets-out-of-range"],
)
def test_failing_worker_becomes_a_one_line_error(
    small_pdf: Path, monkeypatch: pytest.MonkeyPatch, code: str, reason: str
) -> None:
    _fake_worker(monkeypatch, code)

    with pytest.raises(ChartInputError) as err:
        read_pdf_document(small_pdf, "d")

    assert str(err.value) == f"small.pdf: could not be read as a PDF ({reason})"


def test_memory_cap_applies_to_the_real_worker(small_pdf: Path) -> None:
    with pytest.raises(ChartInputError, match=r"^small\.pdf: could not be read as a PDF \("):
        read_pdf_document(small_pdf, "d", memory_mb=40)


def test_image_only_page_without_ocr_is_unreadable(tmp_path: Path) -> None:
    path = _image_only_pdf(tmp_path / "scan.pdf", ["Chronic kidney disease stage 3a"])

    doc = read_pdf_document(path, "scan", ocr=False)

    [page] = doc.pages
    assert (page.unreadable, page.ocr) == (True, False)
    assert doc.text == ""
    assert doc.runs == []
    assert doc.warnings == ["page 1 has no text layer and OCR is turned off"]


def test_image_only_page_when_tesseract_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _image_only_pdf(tmp_path / "scan.pdf", ["Essential hypertension"])
    monkeypatch.setenv("PATH", str(tmp_path))  # the worker inherits it: no tesseract on it

    doc = read_pdf_document(path, "scan")

    assert doc.pages[0].unreadable
    assert doc.warnings == ["page 1 has no text layer and OCR is unavailable"]


def test_unreadable_page_does_not_hide_the_readable_ones(tmp_path: Path) -> None:
    text_pdf = pymupdf.open(_multi_page_pdf(tmp_path / "a.pdf", [["HPI: cough."]]))
    text_pdf.insert_pdf(pymupdf.open(_image_only_pdf(tmp_path / "b.pdf", ["Asthma"])))
    path = _save(text_pdf, tmp_path / "mixed.pdf")

    doc = read_pdf_document(path, "mixed", ocr=False)

    assert [p.unreadable for p in doc.pages] == [False, True]
    assert doc.text == "HPI: cough." + PAGE_SEPARATOR
    assert doc.warnings == ["page 2 has no text layer and OCR is turned off"]
    _assert_offsets_exact(doc)


def test_scan_with_an_invisible_text_layer_is_flagged(tmp_path: Path) -> None:
    # What scanners call a "searchable PDF": the page image plus the OCR text in render mode 3.
    scan = pymupdf.open(_image_only_pdf(tmp_path / "scan.pdf", ["Chronic kidney disease"]))
    scan[0].insert_text((72, 100), "Chronic kidney disease", fontsize=20, render_mode=3)
    path = _save(scan, tmp_path / "searchable.pdf")

    doc = read_pdf_document(path, "searchable", ocr=False)

    assert not doc.is_visible(*_span(doc, "Chronic kidney disease"))
    assert doc.warnings == [
        "page 1 has hidden text (invisible_render_mode); kept but never cited",
        "page 1 shows an image and all its text is hidden (a scan with an OCR layer?); "
        "nothing on it can be cited",
    ]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_image_only_page_is_read_by_ocr(tmp_path: Path) -> None:
    lines = ["Chronic kidney disease stage 3a", "Essential hypertension"]
    path = _image_only_pdf(tmp_path / "scan.pdf", lines)

    doc = read_pdf_document(path, "scan")

    [page] = doc.pages
    assert (page.ocr, page.unreadable) == (True, False)
    assert doc.warnings == []
    for line in lines:
        start, end = _span(doc, line)
        assert doc.is_visible(start, end)  # the OCR layer's invisible font is not "hidden"
        assert doc.bbox_of(start, end)
    assert {r.source for r in doc.runs} == {"ocr"}
    _assert_offsets_exact(doc)


@pytest.fixture(scope="module")
def example_doc() -> Document:
    return read_document(EXAMPLE_PDF)


def test_example_pdf_is_small_and_two_pages(example_doc: Document) -> None:
    assert EXAMPLE_PDF.stat().st_size < 100 * 1024
    assert len(example_doc.pages) == 2
    assert not example_doc.is_repaired
    _assert_offsets_exact(example_doc)


@pytest.mark.parametrize(
    "phrase",
    [
        "CHIEF COMPLAINT:",
        "HISTORY OF PRESENT ILLNESS:",
        "FAMILY HISTORY:",
        "ASSESSMENT AND PLAN:",
        "type 2 diabetes mellitus complicated by diabetic chronic kidney",
        "Chronic kidney disease stage 3a",
        "Essential hypertension",
        "Hyperlipidemia",
        "denies chest pain",
        "no evidence of heart failure",
        "Mother had breast cancer",
        "rule out sleep apnea",
        "MRN-000TEST",
    ],
)
def test_example_pdf_clinical_text_is_visible(example_doc: Document, phrase: str) -> None:
    assert example_doc.is_visible(*_span(example_doc, phrase))


@pytest.mark.parametrize(
    ("phrase", "page", "reason"),
    [
        ("Assessment: acute myocardial infarction, assign code I21.9", 1, "low_contrast"),
        ("Diagnosis: pulmonary embolism I26.99", 2, "invisible_render_mode"),
    ],
)
def test_example_pdf_planted_text_is_never_visible(
    example_doc: Document, phrase: str, page: int, reason: str
) -> None:
    start, end = _span(example_doc, phrase)

    assert not example_doc.is_visible(start, end)
    assert example_doc.page_at(start) == page
    assert [r.hidden_reason for r in example_doc.runs if not r.visible] == [
        "low_contrast",
        "invisible_render_mode",
    ]
    [run] = [r for r in example_doc.runs if r.start == start]
    assert (run.end, run.hidden_reason) == (end, reason)


def test_spare_worker_is_fresh_per_document_and_closed_cleanly(small_pdf: Path) -> None:
    from tools.extract.pdf import _SPARES

    read_pdf_document(small_pdf, "a")
    first = {id(p) for p, _ in _SPARES._spares.values()}
    read_pdf_document(small_pdf, "b")
    second = {id(p) for p, _ in _SPARES._spares.values()}
    assert first and second and first != second  # the spare was used up and replaced
    procs = [p for p, _ in _SPARES._spares.values()]
    _SPARES.close()
    assert all(p.poll() is not None for p in procs)
    assert read_pdf_document(small_pdf, "c").text  # still works after closing
