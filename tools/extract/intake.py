"""The front door for chart files: check the path, then read it as a PDF or as UTF-8 text.

Every refusal is a one-line `ChartInputError` naming the file by its base name, and the size
limit is checked with `stat` before a single byte is read, so a 200 MB upload costs nothing.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from core.errors import ChartInputError, ChartTooLarge, DocumentRefused
from tools.chart import Document
from tools.extract.pdf import read_pdf_document
from tools.extract.text import read_text_document

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# PDF readers accept junk before the header; MuPDF looks for it within the first kilobyte.
_PDF_MAGIC = b"%PDF"
_SNIFF_BYTES = 1024
_MB = 1024 * 1024
# What a file's name claims it holds; any other suffix (or none) claims nothing.
_PDF_SUFFIXES = frozenset({".pdf"})
_TEXT_SUFFIXES = frozenset({".txt", ".text", ".note", ".md"})
_TEXT_CONTROLS = frozenset(b"\t\n\x0b\x0c\r")


def check_path(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> os.stat_result:
    """Refuse, with a one-line ChartInputError, a path that cannot be a chart file.

    Missing, a directory, not a regular file, unreadable, empty or larger than `max_bytes`;
    nothing is read, so a surface can check a whole batch before loading anything heavy.
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ChartInputError(f"{name}: no such file") from None
    except PermissionError:
        raise ChartInputError(f"{name}: not readable (permission denied)") from None
    except OSError as err:
        raise ChartInputError(f"{name}: cannot be read ({err.strerror or 'I/O error'})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ChartInputError(f"{name}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end when read.
        raise ChartInputError(f"{name}: not a regular file")

    if info.st_size == 0:
        raise ChartInputError(f"{name}: empty file")
    if info.st_size > max_bytes:
        raise ChartTooLarge(
            f"{name}: {info.st_size / _MB:.1f} MB is larger than the {max_bytes / _MB:g} MB limit"
        )

    return info


def read_document(
    path: str | Path,
    doc_id: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    pdf_timeout_s: float = 60,
    pdf_memory_mb: int = 1024,
) -> Document:
    """Read one chart file into a Document.

    Checks, in order: the path exists, is not a directory, is a regular readable file, is not
    empty and is not larger than `max_bytes`. What the file holds decides how it is read (see
    `_read_by_content`); its name is trusted only where it agrees. `doc_id` defaults to "doc-" + the first 12 hex digits
    of the file's SHA-256, so the same file always gets the same id. PDFs are parsed in a child
    process limited to `pdf_timeout_s` seconds and `pdf_memory_mb` of address space.
    """
    path = Path(path)
    name = path.name or str(path)
    info = check_path(path, max_bytes=max_bytes)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except PermissionError:
        raise ChartInputError(f"{name}: not readable (permission denied)") from None
    except OSError as err:
        raise ChartInputError(f"{name}: cannot be read ({err.strerror or 'I/O error'})") from None

    placeholder = doc_id or "pending"

    def as_pdf() -> Document:
        return read_pdf_document(
            path, placeholder, timeout_s=pdf_timeout_s, memory_mb=pdf_memory_mb
        )

    document = _read_by_content(path, name, head, as_pdf, placeholder)
    if doc_id is None:
        # The id comes from the content hash, which the reader computes from the bytes it read.
        document.doc_id = f"doc-{document.sha256[:12]}"
    log.info(
        "document read doc_id=%s sha256=%s kind=%s bytes=%d pages=%d warnings=%d",
        document.doc_id,
        document.sha256[:12],
        document.kind,
        info.st_size,
        len(document.pages),
        len(document.warnings),
    )
    return document


def _read_by_content(
    path: Path, name: str, head: bytes, as_pdf: Callable[[], Document], doc_id: str
) -> Document:
    """Read the file as what its content is, refusing a name that says otherwise.

    A file is a PDF when it parses as one. "%PDF" at the start of a binary file says so before
    parsing; in a text file (a note that quotes a PDF header, a pasted error message) it is only
    a hint: the text is read as text unless it really parses as a PDF. A ".pdf" name on text,
    or a ".txt" name on a PDF, is a clear one-line error rather than a guess; a file with
    another name or none is read as what it holds.
    """
    suffix = path.suffix.lower()
    claims = "pdf" if suffix in _PDF_SUFFIXES else "text" if suffix in _TEXT_SUFFIXES else None
    textual = _looks_like_text(head)
    if _PDF_MAGIC not in head:
        if claims == "pdf":
            what = "text" if textual else "neither a PDF nor text"
            raise ChartInputError(f"{name}: named {suffix} but holds {what}, not a PDF")
        return read_text_document(path, doc_id)
    if not textual:
        # A binary file with a PDF header: a PDF or a broken one, whatever its name says.
        if claims == "text":
            raise ChartInputError(f"{name}: named {suffix} but holds a PDF; rename it .pdf")
        return as_pdf()
    # Text that mentions "%PDF": a PDF only if it parses as one.
    misnamed = ChartInputError(f"{name}: named {suffix} but holds a PDF; rename it .pdf")
    try:
        document = as_pdf()
    except DocumentRefused:  # an encrypted PDF is still a PDF
        if claims == "text":
            raise misnamed from None
        raise
    except ChartInputError:
        if claims != "pdf":
            return read_text_document(path, doc_id)
        if head.lstrip().startswith(_PDF_MAGIC):
            raise  # name and header agree: a broken PDF, and its own error says why
        raise ChartInputError(f"{name}: named {suffix} but holds text, not a PDF") from None
    if claims == "text":
        raise misnamed
    return document


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 (or ASCII) text: no NUL, few control bytes, decodes (a cut final character aside)."""
    if not head or b"\x00" in head:
        return False
    controls = sum(1 for b in head if (b < 0x20 and b not in _TEXT_CONTROLS) or b == 0x7F)
    if controls / len(head) > 0.05:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start >= len(head) - 3 and err.reason == "unexpected end of data"
    return True
