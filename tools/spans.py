"""The chart as a model sees it: its visible text cut into numbered spans a model can cite.

A span is a sentence, or the visible part of one (hidden PDF text splits a sentence and is left
out). Its text is what a reader sees, without invisible characters; its offsets stay those of the
document, so a span id a model cites maps back to exact chart text. Spans in a paragraph with
instruction-like text (`tools/untrusted.py`) are marked: a model sees them as data but they are
never evidence.
"""

from __future__ import annotations

from pydantic import BaseModel

from tools.chart import Chart, Document
from tools.untrusted import TaintedRange, strip_hidden, tainted_ranges

# A sentence longer than this is cut at line breaks first, then every MAX_SPAN_CHARS, so a
# cited span points at a few lines, not at a whole case report.
MAX_SPAN_CHARS = 600


class NumberedSpan(BaseModel):
    id: int
    doc_id: str
    start: int
    end: int
    section: str
    page: int
    text: str
    instruction_like: bool = False


class ChartView(BaseModel):
    """A chart's numbered spans and its instruction-like paragraphs."""

    spans: list[NumberedSpan]
    tainted: list[TaintedRange]

    def span(self, span_id: int) -> NumberedSpan | None:
        if 1 <= span_id <= len(self.spans):
            return self.spans[span_id - 1]
        return None

    def spans_over(self, doc_id: str, start: int, end: int) -> list[NumberedSpan]:
        return [s for s in self.spans if s.doc_id == doc_id and s.start < end and start < s.end]

    def is_tainted(self, doc_id: str, start: int, end: int) -> bool:
        return any(t.doc_id == doc_id and t.start < end and start < t.end for t in self.tainted)


def chart_view(chart: Chart) -> ChartView:
    spans: list[NumberedSpan] = []
    tainted: list[TaintedRange] = []
    for doc in chart.documents:
        marks = tainted_ranges(doc)
        tainted.extend(marks)
        for start, end in _pieces(doc):
            text = strip_hidden(doc.text[start:end]).strip()
            if not text:
                continue
            spans.append(
                NumberedSpan(
                    id=len(spans) + 1,
                    doc_id=doc.doc_id,
                    start=start,
                    end=end,
                    section=doc.section_at(start),
                    page=doc.page_at(start),
                    text=text,
                    instruction_like=any(t.start < end and start < t.end for t in marks),
                )
            )
    return ChartView(spans=spans, tainted=tainted)


def _pieces(doc: Document) -> list[tuple[int, int]]:
    """Visible stretches of each sentence (or of the whole text when it has no sentences),
    cut to at most MAX_SPAN_CHARS."""
    units = [(s.start, s.end) for s in doc.sentences] or [(0, len(doc.text))]
    hidden = sorted(doc.hidden_ranges())
    out: list[tuple[int, int]] = []
    for start, end in units:
        at = start
        for h0, h1 in hidden:
            if h1 <= at or h0 >= end:
                continue
            if h0 > at:
                out.extend(_cut(doc.text, at, h0))
            at = max(at, h1)
        if at < end:
            out.extend(_cut(doc.text, at, end))
    return out


def _cut(text: str, start: int, end: int) -> list[tuple[int, int]]:
    if end - start <= MAX_SPAN_CHARS:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    at = start
    while at < end:
        stop = min(end, at + MAX_SPAN_CHARS)
        if stop < end:
            brk = text.rfind("\n", at + 1, stop)
            if brk == -1:
                brk = text.rfind(" ", at + 1, stop)
            stop = brk if brk > at else stop
        out.append((at, stop))
        at = stop
    return out
