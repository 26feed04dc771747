"""Turns a plain-text chart file into a Document whose text is the file's UTF-8 content, unchanged.

Nothing is normalised: "\\r\\n" stays "\\r\\n" and tabs stay tabs, so an offset into
`Document.text` is an offset into the decoded file and a quote is exactly what the coder sees.
The one exception is a leading UTF-8 byte-order mark (U+FEFF), which editors on Windows add and
which no coder reads: it is dropped, so offsets count from the first character after it.
`Document.sha256` is still the hash of the raw bytes, BOM included.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from core.errors import ChartInputError
from tools.chart import Document, Page, TextRun

log = logging.getLogger(__name__)

_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Control bytes that real notes contain: tab, newline, vertical tab, form feed, carriage return.
_TEXT_CONTROLS = frozenset(b"\t\n\x0b\x0c\r")
# Share of other control bytes above which a file is binary, not a chart (judged on its start).
_BINARY_CONTROL_SHARE = 0.05
_SNIFF_BYTES = 8192


def read_text_document(path: Path, doc_id: str) -> Document:
    """Read a UTF-8 text file as a one-page Document, or raise ChartInputError naming the file.

    Callers normally go through `tools.extract.intake.read_document`, which checks size first;
    this function reads the whole file.
    """
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ChartInputError(f"{name}: cannot be read ({err.strerror or 'I/O error'})") from None

    _refuse_binary(raw, name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        byte = raw[err.start]
        raise ChartInputError(
            f"{name}: not UTF-8 text (byte 0x{byte:02x} at offset {err.start}); "
            "save it as UTF-8 and try again"
        ) from None
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    if not text.strip():
        raise ChartInputError(f"{name}: empty file")

    sha256 = hashlib.sha256(raw).hexdigest()
    log.debug("text read doc_id=%s sha256=%s chars=%d", doc_id, sha256[:12], len(text))
    return Document(
        doc_id=doc_id,
        source_name=name,
        kind="text",
        text=text,
        sha256=sha256,
        pages=[Page(number=1, start=0, end=len(text))],
        runs=[TextRun(start=0, end=len(text), page=1, source="text")],
    )


def _refuse_binary(raw: bytes, name: str) -> None:
    """Refuse files that are not text at all, before a decode error blames one odd byte."""
    if raw.startswith(_UTF16_BOMS):
        raise ChartInputError(
            f"{name}: UTF-16 text is not supported; save it as UTF-8 and try again"
        )
    if b"\x00" in raw:
        raise ChartInputError(f"{name}: binary file (contains NUL bytes), not a text chart")
    head = raw[:_SNIFF_BYTES]
    controls = sum(1 for b in head if (b < 0x20 and b not in _TEXT_CONTROLS) or b == 0x7F)
    if head and controls / len(head) > _BINARY_CONTROL_SHARE:
        raise ChartInputError(f"{name}: binary file (control characters), not a text chart")
