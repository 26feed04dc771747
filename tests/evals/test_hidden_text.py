"""The hidden-text corpus (issue 12): every construction hides its diagnosis line from a reader
and from the coder, and its visible twin is read and coded.

Each PDF goes through the real path (the PDF child process, then the whole coding graph), so a
hidden line is refused where it matters: as a code with evidence, as a mention, as a span.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.contract import ChartResult
from evals.hidden_text import CONSTRUCTIONS, Construction, build_pdf
from tools.chart import Chart, Document
from tools.extract import structure
from tools.extract.pdf import read_pdf_document
from tools.extract.pdf_worker import HIDDEN_REASONS

# Diagnoses the offline coder reads on their own line, with the category they must code to.
DIAGNOSES = [
    ("Pulmonary embolism", "I26"),
    ("Atrial fibrillation", "I48"),
    ("Type 2 diabetes mellitus", "E11"),
    ("Hypothyroidism", "E03"),
    ("Gout", "M10"),
    ("Iron deficiency anemia", "D50"),
]


def _diagnosis(n: int) -> tuple[str, str]:
    return DIAGNOSES[n % len(DIAGNOSES)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Document]:
    """Every construction, hidden and visible, read by the PDF child (two at a time)."""
    folder = tmp_path_factory.mktemp("hidden")
    jobs: list[tuple[Construction, bool, Path]] = []
    for n, construction in enumerate(CONSTRUCTIONS):
        text, _ = _diagnosis(n)
        for hidden in (True, False):
            path = folder / f"{construction.name}-{'hidden' if hidden else 'visible'}.pdf"
            jobs.append((construction, hidden, build_pdf(construction, text, hidden, path)))

    def read(job: tuple[Construction, bool, Path]) -> tuple[tuple[str, bool], Document]:
        construction, hidden, path = job
        return (construction.name, hidden), read_pdf_document(path, "d1")

    with ThreadPoolExecutor(max_workers=2) as pool:
        read_in_children = list(pool.map(read, jobs))
    # Structured here, in one thread: the NLP pipeline is built on first use and shared.
    return {key: structure(doc) for key, doc in read_in_children}


def test_the_corpus_has_at_least_thirty_constructions_of_every_reason() -> None:
    assert len(CONSTRUCTIONS) >= 30
    assert len({c.name for c in CONSTRUCTIONS}) == len(CONSTRUCTIONS)
    assert {c.reason for c in CONSTRUCTIONS} == set(HIDDEN_REASONS)


def _line(doc: Document, text: str) -> tuple[int, int]:
    """Where the diagnosis line is. Glyphs squeezed together (`1 Tz`) may come out without
    spaces, and MuPDF drops a repeated letter drawn on the same spot ("fibrilation")."""
    letters = re.sub(r"(.)\1+", r"\1", text.replace(" ", ""))
    found = re.search(r"\s*".join(re.escape(c) + "+" for c in letters), doc.text)
    assert found, (text, doc.text)
    return found.start(), found.end()


@pytest.mark.parametrize("n", range(len(CONSTRUCTIONS)), ids=[c.name for c in CONSTRUCTIONS])
def test_hidden_line_is_hidden_for_its_reason_and_its_twin_is_visible(
    corpus: dict[tuple[str, bool], Document], n: int
) -> None:
    construction = CONSTRUCTIONS[n]
    text, _ = _diagnosis(n)
    hidden = corpus[(construction.name, True)]
    visible = corpus[(construction.name, False)]

    start, end = _line(hidden, text)
    reasons = {r.hidden_reason for r in hidden.runs if r.start < end and start < r.end}
    assert reasons == {construction.reason}
    assert visible.is_visible(*_line(visible, text))
    # The rest of the page is the same and visible on both.
    for doc in (hidden, visible):
        assert [r.hidden_reason for r in doc.runs if not r.visible and r.end <= start] == []


def _code(coder, doc: Document) -> ChartResult:
    return coder.code(Chart(chart_id="hidden-corpus", documents=[doc]), "outpatient")


@pytest.mark.parametrize("n", range(len(CONSTRUCTIONS)), ids=[c.name for c in CONSTRUCTIONS])
def test_visible_twin_is_coded_and_hidden_line_never(
    coder, corpus: dict[tuple[str, bool], Document], n: int
) -> None:
    construction = CONSTRUCTIONS[n]
    text, category = _diagnosis(n)

    shown = _code(coder, corpus[(construction.name, False)])
    concealed = _code(coder, corpus[(construction.name, True)])

    assert any(s.code.startswith(category) for s in shown.suggestions)
    assert not any(s.code.startswith(category) for s in concealed.suggestions)
    doc = corpus[(construction.name, True)]
    start, end = _line(doc, text)
    for suggestion in concealed.suggestions:
        for ev in suggestion.evidence:
            assert not (ev.start < end and start < ev.end)
    assert not any(m.start < end and start < m.end for m in concealed.mentions)
