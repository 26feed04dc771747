"""The structured, offset-preserving form of a chart that every later step works on.

A chart is one or more documents. Each document keeps its extracted text unchanged, so every
offset below is a character offset into `Document.text`, and `text[start:end]` is what a coder
would read there. PDF text also keeps where it sits (page, bbox) and whether a reader could see it.
"""

from __future__ import annotations

import bisect
from typing import Literal

from pydantic import BaseModel, Field

BBox = tuple[float, float, float, float]


class TextRun(BaseModel):
    """A stretch of document text with one location and one visibility."""

    start: int
    end: int
    page: int = 1
    bbox: BBox | None = None
    visible: bool = True
    # Why a run is hidden (`tools.extract.pdf_worker.HIDDEN_REASONS`): "low_contrast", "covered",
    # "tiny_font", "invisible_render_mode", "clipped", "transparent", "off_page".
    hidden_reason: str | None = None
    source: Literal["text", "pdf", "ocr"] = "text"


class Page(BaseModel):
    """One page of the document text (plain text files are one page)."""

    number: int
    start: int
    end: int
    width: float | None = None
    height: float | None = None
    ocr: bool = False
    unreadable: bool = False


class Section(BaseModel):
    """A note section, e.g. 'ASSESSMENT AND PLAN:' -> name 'assessment_plan'."""

    name: str
    title: str = ""
    header_start: int
    header_end: int
    start: int
    end: int


class Sentence(BaseModel):
    start: int
    end: int
    section: str


class Document(BaseModel):
    """One source document: its text, pages, text runs and structure."""

    doc_id: str
    source_name: str
    kind: Literal["text", "pdf", "fhir"]
    text: str
    sha256: str
    pages: list[Page] = Field(default_factory=list)
    runs: list[TextRun] = Field(default_factory=list)
    is_repaired: bool = False
    warnings: list[str] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    sentences: list[Sentence] = Field(default_factory=list)

    def hidden_ranges(self) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in self.runs if not r.visible]

    def is_visible(self, start: int, end: int) -> bool:
        """True when no hidden run overlaps [start, end)."""
        return not any(r.start < end and start < r.end for r in self.runs if not r.visible)

    def page_at(self, offset: int) -> int:
        starts = [p.start for p in self.pages]
        if not starts:
            return 1
        i = bisect.bisect_right(starts, offset) - 1
        return self.pages[max(i, 0)].number

    def section_at(self, offset: int) -> str:
        for s in self.sections:
            if s.start <= offset < s.end:
                return s.name
        return "unknown"

    def sentence_at(self, offset: int) -> Sentence | None:
        starts = [s.start for s in self.sentences]
        i = bisect.bisect_right(starts, offset) - 1
        if i >= 0 and self.sentences[i].start <= offset < self.sentences[i].end:
            return self.sentences[i]
        return None

    def bbox_of(self, start: int, end: int) -> list[BBox]:
        return [r.bbox for r in self.runs if r.bbox and r.start < end and start < r.end]


class Chart(BaseModel):
    chart_id: str
    documents: list[Document]

    def document(self, doc_id: str) -> Document:
        for d in self.documents:
            if d.doc_id == doc_id:
                return d
        raise KeyError(doc_id)
