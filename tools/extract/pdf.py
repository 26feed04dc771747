"""Turns a PDF into a Document by parsing it in a memory-capped, time-limited child process.

MuPDF segfaults on some hostile files, can exhaust memory, and is not thread-safe, so this process
never imports it: `tools/extract/pdf_worker.py` runs as a separate Python (`-I`, isolated mode),
gets the bytes on stdin, caps its own address space with RLIMIT_AS and answers with one JSON
object on stdout. Whatever goes wrong there (crash, timeout, garbage output) comes back here as a
one-line `ChartInputError`, never as a traceback or a hung request.

The document text convention (lines joined by "\\n", pages by "\\n\\f\\n") is described in
`pdf_worker`; `Document.sha256` is the SHA-256 of exactly the bytes the child parsed.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import ChartInputError, DocumentRefused
from tools.chart import Document, Page, TextRun
from tools.extract import pdf_worker

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(pdf_worker.__file__).resolve()


def read_pdf_document(
    path: Path,
    doc_id: str,
    *,
    timeout_s: float = 60,
    memory_mb: int = 1024,
    ocr: bool = True,
) -> Document:
    """Read a PDF into a Document; raise ChartInputError (or DocumentRefused) naming the file.

    `timeout_s` bounds the whole document, OCR included; `memory_mb` caps the child's address
    space. `ocr=False` marks image-only pages unreadable instead of running Tesseract. A PDF whose
    pages are all unreadable is still returned, with warnings, for the caller to escalate.
    """
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ChartInputError(f"{name}: cannot be read ({err.strerror or 'I/O error'})") from None
    sha256 = hashlib.sha256(data).hexdigest()

    started = time.monotonic()
    reply = run_pdf_child(_worker_argv(memory_mb=memory_mb, ocr=ocr), data, name, timeout_s)
    if not reply.get("ok"):
        kind = reply.get("kind")
        if kind == pdf_worker.KIND_ENCRYPTED:
            raise DocumentRefused(
                f"{name}: the PDF is encrypted; remove the password and try again"
            )
        reason = " ".join(str(reply.get("reason") or "unknown error").split())[:80]
        log.info("pdf worker refused kind=%s", kind)
        raise ChartInputError(f"{name}: could not be read as a PDF ({reason})")

    document = _document_from_result(reply.get("result"), name, doc_id, sha256)
    log.debug(
        "pdf read doc_id=%s sha256=%s pages=%d runs=%d hidden_runs=%d ocr_pages=%d "
        "unreadable_pages=%d repaired=%s ms=%d",
        doc_id,
        sha256[:12],
        len(document.pages),
        len(document.runs),
        sum(1 for r in document.runs if not r.visible),
        sum(1 for p in document.pages if p.ocr),
        sum(1 for p in document.pages if p.unreadable),
        document.is_repaired,
        (time.monotonic() - started) * 1000,
    )
    return document


def _worker_argv(*, memory_mb: int, ocr: bool) -> list[str]:
    """The child's command line; tests replace it to simulate hangs, crashes and bad output."""
    argv = [sys.executable, "-I", str(WORKER_SCRIPT), "--memory-mb", str(memory_mb)]
    if not ocr:
        argv.append("--no-ocr")
    return argv


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # Tesseract's OpenMP threads each reserve stack under the child's RLIMIT_AS and buy little
    # for one page at a time.
    env["OMP_THREAD_LIMIT"] = "1"
    # numpy (the rendering check) would otherwise reserve a buffer per core for OpenBLAS.
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


class _SpareWorkers:
    """One worker started ahead per command line, so the next PDF finds the library loaded.

    Every document still gets a fresh process (a hostile PDF cannot affect the next one); only
    the start-up is moved earlier. A spare whose environment no longer matches is discarded, and
    a spare whose parent dies reads end-of-input and exits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spares: dict[tuple[str, ...], tuple[subprocess.Popen[bytes], dict[str, str]]] = {}
        atexit.register(self.close)

    def take(self, argv: list[str]) -> subprocess.Popen[bytes]:
        env = _worker_env()
        if str(WORKER_SCRIPT) not in argv:
            # Only our worker loads its library before reading input; a spare of any other
            # command (the stand-ins tests use) would just run ahead with nothing to gain.
            return _start_worker(argv, env)
        key = tuple(argv)
        with self._lock:
            spare = self._spares.pop(key, None)
            self._spares[key] = (_start_worker(argv, env), env)
        if spare is not None:
            proc, spare_env = spare
            if proc.poll() is None and spare_env == env:
                return proc
            _kill_group(proc)
            proc.wait()
        return _start_worker(argv, env)

    def close(self) -> None:
        with self._lock:
            spares, self._spares = list(self._spares.values()), {}
        for proc, _ in spares:
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait()


def _start_worker(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # The rlimit is set by the child itself, not through preexec_fn, which is unsafe in a
    # threaded parent (FastAPI's thread pool). A new session lets us kill grandchildren too.
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


_SPARES = _SpareWorkers()


def run_pdf_child(argv: list[str], data: bytes, name: str, timeout_s: float) -> dict[str, Any]:
    """Run a PDF child (the reader, the annotator) to completion or kill its whole process
    group; return its JSON reply. Refusals name the file as `name`."""
    proc = _SPARES.take(argv)
    try:
        out, _ = proc.communicate(data, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        log.info("pdf worker timed out after %.1f s", timeout_s)
        raise ChartInputError(
            f"{name}: could not be read as a PDF (timed out after {timeout_s:g} s)"
        ) from None
    finally:
        if proc.poll() is None:  # an exception other than the timeout, e.g. KeyboardInterrupt
            _kill_group(proc)
            proc.wait()

    if proc.returncode != 0:
        log.info("pdf worker failed returncode=%d", proc.returncode)
        raise ChartInputError(
            f"{name}: could not be read as a PDF ({_describe_exit(proc.returncode)})"
        )
    try:
        reply = json.loads(out)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        log.info("pdf worker gave malformed output bytes=%d", len(out))
        raise ChartInputError(
            f"{name}: could not be read as a PDF (the reader's output was invalid)"
        )
    return reply


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"the reader crashed with {signal.Signals(-returncode).name}"
        except ValueError:
            return f"the reader crashed with signal {-returncode}"
    return f"the reader exited with status {returncode}"


def _document_from_result(result: Any, name: str, doc_id: str, sha256: str) -> Document:
    """Build the Document, refusing any reply whose offsets do not fit its own text."""
    invalid = ChartInputError(
        f"{name}: could not be read as a PDF (the reader's output was invalid)"
    )
    if not isinstance(result, dict) or not isinstance(result.get("text"), str):
        raise invalid
    text: str = result["text"]
    try:
        pages = [Page.model_validate(p) for p in result.get("pages", [])]
        runs = [TextRun.model_validate(r) for r in result.get("runs", [])]
        warnings = [str(w) for w in result.get("warnings", [])]
    except (ValidationError, TypeError):
        raise invalid from None
    spans = [(p.start, p.end) for p in pages] + [(r.start, r.end) for r in runs]
    if not pages or any(not 0 <= s <= e <= len(text) for s, e in spans):
        raise invalid
    return Document(
        doc_id=doc_id,
        source_name=name,
        kind="pdf",
        text=text,
        sha256=sha256,
        pages=pages,
        runs=runs,
        is_repaired=bool(result.get("is_repaired", False)),
        warnings=warnings,
    )
