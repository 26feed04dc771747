"""Evidence drawn onto the original PDF: the parent side of `pdf_annotate` (a child process).

Each evidence span becomes highlight boxes at the positions its text runs occupy on the page
(`Document.bbox_of`), with the code as the note; a legend page names each code and its colour.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import ChartInputError
from tools.chart import Document
from tools.extract import pdf_annotate
from tools.extract.pdf import run_pdf_child

ANNOTATE_SCRIPT = Path(pdf_annotate.__file__).resolve()
# Colours per code, in the order codes appear (soft enough to read the text through).
PALETTE = [
    (1.0, 0.85, 0.3),
    (0.55, 0.85, 1.0),
    (0.7, 0.95, 0.55),
    (1.0, 0.7, 0.8),
    (0.85, 0.75, 1.0),
    (1.0, 0.75, 0.5),
    (0.6, 0.95, 0.9),
    (0.95, 0.95, 0.45),
    (0.8, 0.8, 0.8),
    (1.0, 0.6, 0.6),
]


class Mark(BaseModel):
    """A box to highlight: the part of a text run an evidence span covers. `text` is that part
    of the run's text; the child looks for it inside the box to highlight the exact words, and
    falls back to the box (cut in proportion to the characters) when it cannot find them."""

    page: int
    bbox: tuple[float, float, float, float]
    label: str
    color: tuple[float, float, float]
    text: str = ""


class LegendEntry(BaseModel):
    label: str
    text: str
    color: tuple[float, float, float]


class SpanToMark(BaseModel):
    """One evidence span of one code, by offsets into a PDF document's text."""

    start: int
    end: int
    label: str
    color: tuple[float, float, float] = Field(default=PALETTE[0])


def marks_for(doc: Document, spans: list[SpanToMark]) -> list[Mark]:
    """The page boxes of each span: the part of every visible text run it overlaps."""
    marks = []
    for span in spans:
        for run in doc.runs:
            if not (run.bbox and run.visible and run.start < span.end and span.start < run.end):
                continue
            a, b = max(span.start, run.start), min(span.end, run.end)
            x0, y0, x1, y1 = run.bbox
            width = (x1 - x0) / max(run.end - run.start, 1)
            box = (x0 + (a - run.start) * width, y0, x0 + (b - run.start) * width, y1)
            marks.append(
                Mark(
                    page=run.page,
                    bbox=box if b - a < run.end - run.start else run.bbox,
                    label=span.label,
                    color=span.color,
                    text=doc.text[a:b].strip(),
                )
            )
    return marks


def annotate_pdf(
    documents: list[tuple[bytes, list[Mark]]],
    legend: list[LegendEntry],
    title: str,
    *,
    timeout_s: float = 60,
    memory_mb: int = 1024,
) -> bytes:
    """One PDF: the documents in order with their highlights, then the legend page."""
    request = {
        "documents": [
            {"pdf": base64.b64encode(data).decode(), "marks": [m.model_dump() for m in marks]}
            for data, marks in documents
        ],
        "legend": [e.model_dump() for e in legend],
        "title": title,
    }
    argv = [sys.executable, "-I", str(ANNOTATE_SCRIPT), "--memory-mb", str(memory_mb)]
    reply = run_pdf_child(argv, json.dumps(request).encode(), "annotated.pdf", timeout_s)
    if not reply.get("ok") or not isinstance(reply.get("pdf"), str):
        reason = " ".join(str(reply.get("reason") or "unknown error").split())[:80]
        raise ChartInputError(f"the evidence could not be drawn on the PDF ({reason})")
    return base64.b64decode(reply["pdf"])
