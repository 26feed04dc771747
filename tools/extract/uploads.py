"""Chart bytes that arrive without a file (an HTTP upload, a FHIR attachment, a Slack file).

They are written to a private temporary file and read by the same readers as a file on disk, so
an upload gets exactly the checks, offsets and refusals a file gets (the PDF is parsed in the
child process with its limits). The temporary file is removed whatever happens.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from core.errors import ChartInputError, ChartTooLarge
from tools.chart import Document
from tools.extract.intake import read_document

_MB = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str | None, default: str = "upload") -> str:
    """A base name fit for messages: no directories, no odd characters, at most 64 long."""
    base = Path((filename or "").replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip("._")[:64]
    return cleaned or default


def read_upload(
    data: bytes,
    filename: str | None,
    *,
    max_bytes: int,
    pdf_timeout_s: float = 60,
    pdf_memory_mb: int = 1024,
) -> Document:
    """A Document from bytes in memory; refusals name `filename` (its base name only)."""
    name = safe_name(filename)
    if not data:
        raise ChartInputError(f"{name}: empty file")
    if len(data) > max_bytes:
        raise ChartTooLarge(
            f"{name}: {len(data) / _MB:.1f} MB is larger than the {max_bytes / _MB:g} MB limit"
        )
    with tempfile.TemporaryDirectory(prefix="codesense-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        path.chmod(0o600)
        document = read_document(
            path, max_bytes=max_bytes, pdf_timeout_s=pdf_timeout_s, pdf_memory_mb=pdf_memory_mb
        )
    return document.model_copy(update={"source_name": name})
