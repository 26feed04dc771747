"""The front door for chart files: check the path, then read it as a PDF or as UTF-8 text.

Every refusal is a one-line `ChartInputError` naming the file by its base name, and the size
limit is checked with `stat` before a single byte is read, so a 200 MB upload costs nothing.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from core.errors import ChartInputError, ChartTooLarge
from tools.chart import Document
from tools.extract.pdf import read_pdf_document
from tools.extract.text import read_text_document

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# PDF readers accept junk before the header; MuPDF looks for it within the first kilobyte.
_PDF_MAGIC = b"%PDF"
_SNIFF_BYTES = 1024
_MB = 1024 * 1024


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
    empty and is not larger than `max_bytes`. A file with "%PDF" in its first 1024 bytes is read
    as a PDF, anything else as UTF-8 text. `doc_id` defaults to "doc-" + the first 12 hex digits
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
    if _PDF_MAGIC in head:
        document = read_pdf_document(
            path, placeholder, timeout_s=pdf_timeout_s, memory_mb=pdf_memory_mb
        )
    else:
        document = read_text_document(path, placeholder)
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
