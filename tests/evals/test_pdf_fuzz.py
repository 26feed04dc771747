"""The PDF fuzz corpus (issue 12): every generated file through the real reader (the child
process with its limits) gives a document or its own one-line error; never a traceback, never a
hang. 500 files in the normal run; `make fuzz` runs 5,000 (marker `fuzz`)."""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.errors import ChartInputError
from evals.pdf_fuzz import MUTATIONS, corpus
from tools.extract.intake import read_document

# Generous for a 2,000-page bomb on a loaded machine; a file that needs longer is cut off by the
# reader's own timeout and must say so in its one line.
TIMEOUT_S = 60
# A reader that outlives its own timeout by this much has hung the caller.
HANG_S = TIMEOUT_S + 30


def _read_one(path: Path) -> tuple[str, str, float]:
    started = time.monotonic()
    try:
        doc = read_document(path, pdf_timeout_s=TIMEOUT_S)
    except ChartInputError as err:
        message = str(err)
        ok = "\n" not in message and message.startswith(f"{path.name}: ")
        outcome = "error" if ok else f"BAD MESSAGE {message!r}"
    except Exception as err:  # noqa: BLE001 - the point is to catch anything
        outcome = f"TRACEBACK {type(err).__name__}"
    else:
        spans = [(p.start, p.end) for p in doc.pages] + [(r.start, r.end) for r in doc.runs]
        fits = all(0 <= s <= e <= len(doc.text) for s, e in spans)
        outcome = "document" if fits and doc.pages else "BAD DOCUMENT"
    return path.name, outcome, time.monotonic() - started


def _run_corpus(tmp_path: Path, count: int) -> None:
    paths = []
    for name, data in corpus(count):
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    workers = (os.cpu_count() or 2) + 1
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_read_one, paths))
    elapsed = time.monotonic() - started

    outcomes = Counter(outcome for _, outcome, _ in results)
    slowest = max(seconds for _, _, seconds in results)
    print(
        f"\nfuzz: {count} files in {elapsed:.1f} s ({workers} at a time): {dict(outcomes)}; "
        f"slowest {slowest:.1f} s"
    )
    bad = [(name, outcome) for name, outcome, _ in results if outcome not in ("document", "error")]
    assert bad == []
    hung = [(name, round(s, 1)) for name, _, s in results if s > HANG_S]
    assert hung == []
    assert len(results) == count


def test_every_mutation_is_in_the_corpus() -> None:
    names = [name for name, _ in corpus(len(MUTATIONS))]
    for mutation in MUTATIONS:
        assert any(f"-{mutation}" in name for name in names)


def test_five_hundred_fuzzed_pdfs_each_give_a_document_or_one_line(tmp_path: Path) -> None:
    _run_corpus(tmp_path, 500)


@pytest.mark.fuzz
def test_five_thousand_fuzzed_pdfs_each_give_a_document_or_one_line(tmp_path: Path) -> None:
    _run_corpus(tmp_path, 5000)
