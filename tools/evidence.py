"""Evidence spans: the exact, visible chart text behind a code, and checks that it still is.

An evidence quote is always `document.text[start:end]`, taken from text a reader could see. Text
hidden in a PDF (white on white, invisible, off the page) is never evidence: a chart that says
"assign code I21.9" in invisible ink must not get that code from us.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.contract import Evidence
from tools.chart import BBox, Chart


class EvidenceError(ValueError):
    """A span that cannot be cited: out of range, empty or hidden."""


class EvidenceContext(BaseModel):
    evidence: Evidence
    sentence: str
    sentence_start: int
    sentence_end: int
    bboxes: list[BBox]


def cite(chart: Chart, doc_id: str, start: int, end: int) -> Evidence:
    """The evidence for chart text [start, end) of one document; refuses hidden or empty text."""
    doc = chart.document(doc_id)
    if not 0 <= start < end <= len(doc.text):
        raise EvidenceError(f"span {start}-{end} is outside document {doc_id}")
    if not doc.text[start:end].strip():
        raise EvidenceError(f"span {start}-{end} of document {doc_id} is blank")
    if not doc.is_visible(start, end):
        raise EvidenceError(f"span {start}-{end} of document {doc_id} is hidden text")
    return Evidence(
        doc_id=doc_id,
        page=doc.page_at(start),
        start=start,
        end=end,
        quote=doc.text[start:end],
        section=doc.section_at(start),
    )


def evidence_problems(chart: Chart, evidence: Evidence) -> list[str]:
    """Why a span no longer stands as evidence (empty list when it does)."""
    try:
        doc = chart.document(evidence.doc_id)
    except KeyError:
        return [f"unknown document {evidence.doc_id}"]
    problems = []
    if not 0 <= evidence.start < evidence.end <= len(doc.text):
        return [f"span {evidence.start}-{evidence.end} outside the document"]
    if doc.text[evidence.start : evidence.end] != evidence.quote:
        problems.append("quote differs from the chart text at its offsets")
    if not doc.is_visible(evidence.start, evidence.end):
        problems.append("span covers hidden text")
    return problems


def evidence_context(chart: Chart, evidence: Evidence) -> EvidenceContext:
    """The span with its surrounding sentence and location, for a reviewer's side-by-side view."""
    doc = chart.document(evidence.doc_id)
    sentence = doc.sentence_at(evidence.start)
    s0, s1 = (sentence.start, sentence.end) if sentence else (evidence.start, evidence.end)
    s1 = max(s1, evidence.end)
    return EvidenceContext(
        evidence=evidence,
        sentence=doc.text[s0:s1],
        sentence_start=s0,
        sentence_end=s1,
        bboxes=doc.bbox_of(evidence.start, evidence.end),
    )
