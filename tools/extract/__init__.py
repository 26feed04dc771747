"""Chart intake and structure: files become offset-preserving documents."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from core.errors import ChartInputError
from tools.chart import Chart, Document, Page, TextRun
from tools.extract.intake import read_document
from tools.extract.sections import segment

__all__ = [
    "ExtractInput",
    "extract_chart",
    "read_document",
    "segment",
    "structure",
    "text_document",
]


class ExtractInput(BaseModel):
    chart_id: str
    sources: list[str] = Field(min_length=1)
    max_bytes: int = 50 * 1024 * 1024
    pdf_timeout_s: float = 60
    pdf_memory_mb: int = 1024


def text_document(text: str, doc_id: str, source_name: str = "text") -> Document:
    """A document from text already in memory (an API body, an eval record), structured."""
    if not text.strip():
        raise ChartInputError(f"{source_name}: empty text")
    return structure(
        Document(
            doc_id=doc_id,
            source_name=source_name,
            kind="text",
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            pages=[Page(number=1, start=0, end=len(text))],
            runs=[TextRun(start=0, end=len(text))],
        )
    )


def structure(document: Document) -> Document:
    """The document with its sections and sentences filled in (offsets into its text)."""
    sections, sentences = segment(document.text, document.hidden_ranges())
    return document.model_copy(update={"sections": sections, "sentences": sentences})


def extract_chart(inp: ExtractInput) -> Chart:
    """Read every source file of one chart and give each its structure.

    Two files with the same content get distinct document ids, so offsets stay unambiguous.
    """
    documents: list[Document] = []
    for n, source in enumerate(inp.sources, start=1):
        doc = read_document(
            source,
            max_bytes=inp.max_bytes,
            pdf_timeout_s=inp.pdf_timeout_s,
            pdf_memory_mb=inp.pdf_memory_mb,
        )
        if any(d.doc_id == doc.doc_id for d in documents):
            doc = doc.model_copy(update={"doc_id": f"{doc.doc_id}-{n}"})
        documents.append(structure(doc))
    return Chart(chart_id=inp.chart_id, documents=documents)
