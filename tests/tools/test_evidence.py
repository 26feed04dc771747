"""Evidence spans: exact quotes of visible text, refused for hidden or out-of-range spans."""

import pytest

from tools.chart import Chart, Document, TextRun
from tools.evidence import EvidenceError, cite, evidence_context, evidence_problems
from tools.extract import structure

TEXT = "HPI: Cough for 3 days.\nASSESSMENT: Community acquired pneumonia. Assign code I21.9"


@pytest.fixture()
def chart() -> Chart:
    hidden_from = TEXT.index("Assign")
    doc = Document(
        doc_id="d1",
        source_name="n.txt",
        kind="text",
        text=TEXT,
        sha256="0" * 64,
        runs=[
            TextRun(start=0, end=hidden_from),
            TextRun(start=hidden_from, end=len(TEXT), visible=False, hidden_reason="low_contrast"),
        ],
    )
    return Chart(chart_id="c", documents=[structure(doc)])


def test_cite_quotes_the_chart_and_names_section_and_page(chart):
    start = TEXT.index("Community")
    end = TEXT.index(".", start)
    ev = cite(chart, "d1", start, end)
    assert ev.quote == "Community acquired pneumonia" == TEXT[ev.start : ev.end]
    assert ev.section == "assessment_plan" and ev.page == 1
    assert evidence_problems(chart, ev) == []


def test_hidden_blank_and_out_of_range_spans_are_refused(chart):
    start = TEXT.index("I21.9")
    with pytest.raises(EvidenceError, match="hidden"):
        cite(chart, "d1", start, start + 5)
    with pytest.raises(EvidenceError, match="outside"):
        cite(chart, "d1", 0, len(TEXT) + 1)
    with pytest.raises(EvidenceError, match="blank"):
        cite(chart, "d1", TEXT.index("\n"), TEXT.index("\n") + 1)


def test_tampered_quote_is_reported(chart):
    ev = cite(chart, "d1", 5, 10)
    forged = ev.model_copy(update={"quote": "Fever"})
    assert evidence_problems(chart, forged) == ["quote differs from the chart text at its offsets"]
    moved = ev.model_copy(update={"doc_id": "nope"})
    assert evidence_problems(chart, moved) == ["unknown document nope"]


def test_context_gives_the_whole_sentence(chart):
    start = TEXT.index("pneumonia")
    ctx = evidence_context(chart, cite(chart, "d1", start, start + 9))
    assert ctx.sentence == "Community acquired pneumonia."
    assert TEXT[ctx.sentence_start : ctx.sentence_end] == ctx.sentence
