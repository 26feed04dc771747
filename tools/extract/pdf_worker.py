"""Reads one PDF inside a throwaway child process and writes its text, pages and runs as JSON.

MuPDF can crash the interpreter on hostile files and is not thread-safe, so `tools.extract.pdf`
never imports it: it starts this file as a script (`python -I pdf_worker.py --memory-mb N`),
sends the PDF bytes on stdin and reads one JSON object from stdout:

    {"ok": true, "result": {"text", "pages", "runs", "is_repaired", "warnings"}}
    {"ok": false, "kind": "encrypted" | "unopenable" | "memory" | "internal", "reason": "..."}

The script imports nothing from the project (only the standard library and pymupdf), so the
package `__init__` files, whatever they grow into, never load in the child.

How the document text is built (every offset in the result is exact):
- characters of a line are concatenated as MuPDF gives them (MuPDF itself inserts a space where
  the PDF leaves a small gap between words, and starts a new line at a wide one; we add nothing);
- lines, and the blocks they belong to, are joined by "\\n" (no trailing newline on a page);
- pages are joined by PAGE_SEPARATOR, "\\n\\f\\n", which belongs to no page and no run.
So `text == PAGE_SEPARATOR.join(page texts)`, each page text is its lines joined by "\\n", and
runs never contain a line break: a run is a stretch of one line with one visibility.

Hidden text stays in the text, in runs marked `visible: false` with a `hidden_reason` (one of
HIDDEN_REASONS). What a reader sees decides, so the page is rendered twice, as drawn and with its
text removed (a redaction that removes text only: images, drawings and annotations stay), and
every character is judged on the pixels under its box:
- "low_contrast": its glyph colour is within a few percent of what is drawn behind it (0.94 grey
  on white, black on a black box, yellow on yellow; white on a dark header bar is visible);
- "covered": its colour stands out from the background, yet the page looks the same with and
  without the text (a white rectangle, an image or a same-colour box painted over it);
- "tiny_font": under 1 pt, or squeezed narrower than a reader can make out.
Before rendering, MuPDF's own attributes settle the cheap cases: "invisible_render_mode" (render
mode 3, or 7: glyphs used only as a clip path), "clipped" (entirely outside its clip path),
"transparent" (fill opacity near 0) and "off_page" (outside the crop box). Span attributes are
cross-checked with `page.get_texttrace()`, matched character by character on (unicode, origin):
either source saying "hidden" hides the character. A space takes the verdict of the character
before it. OCR text is visible by construction: it was read from the rendered page.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import resource
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PAGE_SEPARATOR = "\n\f\n"
LINE_SEPARATOR = "\n"

KIND_ENCRYPTED = "encrypted"
KIND_UNOPENABLE = "unopenable"
KIND_MEMORY = "memory"
KIND_INTERNAL = "internal"

# MuPDF structured-text char flags (fz_stext_char.flags), stable since MuPDF 1.25.
_FILLED = 16
_STROKED = 32
_CLIPPED = 64

HIDDEN_REASONS = (
    "invisible_render_mode",
    "clipped",
    "transparent",
    "off_page",
    "low_contrast",
    "covered",
    "tiny_font",
)

# A colour component at or above this reads as white on paper (0.95 * 255 = 242); used only when
# the page cannot be rendered.
_WHITE_MIN = 0.95
# Fill opacity at or below this is not legible.
_TRANSPARENT_MAX = 0.05
# A glyph is seen when it changes some pixel of the page by at least this much (largest channel
# difference, of 255): 0.94 grey on white changes it by 15, mid grey by 128. Anti-aliasing at the
# render resolution keeps a legible glyph's strongest pixel near its full contrast.
_PAINTED_MIN = 26
# A glyph whose colour is closer than this to what is drawn behind it (largest channel
# difference, 0-1) is "low_contrast"; one that stands out but changed no pixel was "covered".
_CONTRAST_MIN = 0.10
# Background pixels this close together (of 255) are one colour; otherwise take their median.
_UNIFORM_SPREAD = 8
# Fonts under 1 pt, and glyphs squeezed narrower than 0.15 pt (Tz 1), are not read by anyone.
_TINY_FONT_PT = 1.0
_TINY_GLYPH_WIDTH_PT = 0.15
# Render resolution for the visibility check, capped so a poster-sized page (a "page bomb")
# stays within a bounded number of pixels.
_RENDER_DPI = 150
_RENDER_MAX_PIXELS = 12_000_000


class PdfRefused(Exception):
    """The PDF needs a password."""


class PdfUnopenable(Exception):
    """MuPDF cannot open the file as a PDF at all."""


@dataclass
class _Run:
    start: int
    end: int
    page: int
    bbox: list[float] | None
    hidden_reason: str | None
    source: str

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "bbox": self.bbox,
            "visible": self.hidden_reason is None,
            "hidden_reason": self.hidden_reason,
            "source": self.source,
        }


@dataclass
class _Char:
    text: str
    bbox: tuple[float, float, float, float] | None
    hidden_reason: str | None
    # Fill colour (sRGB, 0-1) and font size, for the rendering check; None for OCR text.
    rgb: tuple[float, float, float] | None = None
    size: float = 0.0
    opacity: float = 1.0


@dataclass
class _PageText:
    """One page's lines, each a list of characters with their own visibility."""

    lines: list[list[_Char]] = field(default_factory=list)
    source: str = "pdf"

    def has_text(self) -> bool:
        return any(not c.text.isspace() for line in self.lines for c in line)

    def has_visible_text(self) -> bool:
        return any(
            not c.text.isspace() and c.hidden_reason is None for line in self.lines for c in line
        )


def read_pdf_bytes(data: bytes, *, ocr: bool = True) -> dict[str, Any]:
    """Extract text, pages and visibility-marked runs from PDF bytes (runs in the child only)."""
    pymupdf = _load_pymupdf()
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as err:
        raise PdfUnopenable("the file is damaged or is not a PDF") from err
    # `is_encrypted` is False for files with only an owner password (MuPDF opens those with the
    # empty user password); `needs_pass` is the one that says we cannot read it.
    if doc.needs_pass or doc.is_encrypted:
        raise PdfRefused("the PDF is encrypted")
    if doc.page_count == 0:
        raise PdfUnopenable("the file has no pages")

    warnings: list[str] = []

    parts: list[str] = []
    offset = 0
    pages: list[dict[str, Any]] = []
    runs: list[_Run] = []
    for index in range(doc.page_count):
        number = index + 1
        if index:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        page_info: dict[str, Any] = {"number": number, "ocr": False, "unreadable": False}
        page_text = _PageText()
        scanned_with_hidden_layer = False
        try:
            page = doc.load_page(index)
            page_info["width"] = round(page.rect.width, 2)
            page_info["height"] = round(page.rect.height, 2)
            page_text = _read_page(page)
            if not page_text.has_text() and _has_graphics(page):
                page_text = _read_page_without_text_layer(page, number, ocr, page_info, warnings)
            scanned_with_hidden_layer = (
                page_text.source == "pdf"
                and page_text.has_text()
                and not page_text.has_visible_text()
                and bool(page.get_image_info())
            )
        except MemoryError:
            raise
        except Exception as err:  # a damaged page must not sink the other pages
            page_info["unreadable"] = True
            warnings.append(f"page {number} could not be read ({type(err).__name__})")
            page_text = _PageText()

        page_info["start"] = offset
        page_runs, page_str = _layout_page(page_text, number, offset)
        parts.append(page_str)
        offset += len(page_str)
        page_info["end"] = offset
        pages.append(page_info)
        runs.extend(page_runs)
        hidden = sorted({r.hidden_reason for r in page_runs if r.hidden_reason})
        if hidden:
            warnings.append(
                f"page {number} has hidden text ({', '.join(hidden)}); kept but never cited"
            )
        if scanned_with_hidden_layer:
            # Scanners' "searchable PDF" output looks exactly like this; so does a planted layer.
            warnings.append(
                f"page {number} shows an image and all its text is hidden (a scan with an OCR "
                "layer?); nothing on it can be cited"
            )

    # Read only now: MuPDF may first repair the file while loading a damaged page.
    repaired = bool(doc.is_repaired)
    if repaired:
        warnings.insert(0, "pdf repaired by MuPDF")
    return {
        "text": "".join(parts),
        "pages": pages,
        "runs": [r.as_json() for r in runs],
        "is_repaired": repaired,
        "warnings": warnings,
    }


def _read_page_without_text_layer(
    page: Any,
    number: int,
    ocr: bool,
    page_info: dict[str, Any],
    warnings: list[str],
) -> _PageText:
    """OCR a page that shows images or drawings but has no text, or mark it unreadable."""
    if not ocr or not _ocr_available():
        page_info["unreadable"] = True
        why = "OCR is unavailable" if ocr else "OCR is turned off"
        warnings.append(f"page {number} has no text layer and {why}")
        return _PageText()
    try:
        textpage = page.get_textpage_ocr(language="eng", dpi=300, full=True)
        page_text = _page_text_from_textpage(page, textpage.extractRAWDICT(), None)
    except MemoryError:
        raise
    except Exception as err:  # Tesseract failures are a page problem, not a document problem
        page_info["unreadable"] = True
        warnings.append(f"page {number} has no text layer and OCR failed ({type(err).__name__})")
        return _PageText()
    page_info["ocr"] = True
    if not page_text.has_text():
        page_info["unreadable"] = True
        warnings.append(f"page {number} has no text layer and OCR found no text")
    return page_text


def _read_page(page: Any) -> _PageText:
    pymupdf = _load_pymupdf()
    # No MEDIABOX_CLIP and an infinite clip: MuPDF drops text outside the page by default, and
    # off-page text must stay in the document (marked hidden). No PRESERVE_LIGATURES, so "fi"
    # ligatures come out as "f" + "i" and term matching works.
    flags = pymupdf.TEXT_PRESERVE_WHITESPACE
    raw = page.get_textpage(clip=pymupdf.INFINITE_RECT(), flags=flags).extractRAWDICT()
    # Text drawn outside the current clip path is never seen; MuPDF drops it under TEXT_CLIP and
    # neither the span flags nor the texttrace say so, hence the second pass.
    clipped = page.get_textpage(clip=pymupdf.INFINITE_RECT(), flags=flags | pymupdf.TEXT_CLIP)
    painted = {
        _char_key(ord(char["c"][0]), char["origin"])
        for block in clipped.extractRAWDICT().get("blocks", ())
        for line in block.get("lines", ())
        for span in line.get("spans", ())
        for char in span.get("chars", ())
        if char.get("c")
    }
    page_text = _page_text_from_textpage(page, raw, _Ink(_trace_index(page), painted))
    _judge_by_rendering(page, page_text)
    return page_text


def _has_graphics(page: Any) -> bool:
    return bool(page.get_image_info()) or bool(page.get_cdrawings())


_TraceKey = tuple[int, float, float]


@dataclass
class _TraceChar:
    type: int
    opacity: float
    rgb: tuple[float, float, float] | None


@dataclass
class _Ink:
    """How a page's characters were painted, keyed by (unicode, origin)."""

    trace: dict[_TraceKey, _TraceChar]
    not_clipped: set[_TraceKey]


def _trace_index(page: Any) -> dict[_TraceKey, _TraceChar]:
    """Map (unicode, origin) of every painted or ignored character to how it was drawn."""
    index: dict[_TraceKey, _TraceChar] = {}
    for span in page.get_texttrace():
        info = _TraceChar(
            type=int(span.get("type", 0)),
            opacity=float(span.get("opacity", 1.0) or 0.0),
            rgb=_to_rgb(span.get("color")),
        )
        for ucs, _gid, origin, _bbox in span.get("chars", ()):
            index[_char_key(ucs, origin)] = info
    return index


def _char_key(ucs: int, origin: Any) -> _TraceKey:
    return (int(ucs), round(float(origin[0]), 1), round(float(origin[1]), 1))


def _to_rgb(color: Any) -> tuple[float, float, float] | None:
    """Texttrace colours come in the fill colour space: 1 (gray), 3 (RGB) or 4 (CMYK) values."""
    if not color:
        return None
    values = [float(v) for v in color]
    if len(values) == 1:  # gray
        return (values[0], values[0], values[0])
    if len(values) == 3:
        return (values[0], values[1], values[2])
    if len(values) == 4:  # CMYK: white is no ink
        c, m, y, k = values
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return None


def _page_text_from_textpage(page: Any, raw: dict[str, Any], ink: _Ink | None) -> _PageText:
    """Characters of a text page with their display bbox and visibility (`ink` None: OCR)."""
    # Text-page coordinates are those of the unrotated page; bboxes are handed out in the
    # coordinates of the page as displayed (what `page.get_pixmap()` renders).
    pymupdf = _load_pymupdf()

    to_display = page.rotation_matrix
    area = pymupdf.Rect(page.rect) * page.derotation_matrix
    ocr = ink is None
    result = _PageText(source="ocr" if ocr else "pdf")

    for block in raw.get("blocks", ()):
        if block.get("type") != 0:
            continue
        for line in block.get("lines", ()):
            chars: list[_Char] = []
            for span in line.get("spans", ()):
                span_reason = None if ocr else _span_hidden_reason(span)
                rgb = None if ocr else _span_rgb(span)
                size = float(span.get("size") or 0.0)
                opacity = float(span.get("alpha", 255) or 0) / 255
                for char in span.get("chars", ()):
                    text = _clean(char.get("c", ""))
                    if not text:
                        continue
                    bbox = _finite_rect(char.get("bbox"))
                    if ocr:
                        # The OCR text layer is an invisible font by design; what was read is
                        # what the page image shows.
                        reason = None
                    elif bbox is None or not _on_page(bbox, area):
                        reason = "off_page"
                    else:
                        reason = span_reason or _ink_hidden_reason(ink, char)
                    shown = None if bbox is None else _rect_tuple(bbox * to_display)
                    chars.append(_Char(text, shown, reason, rgb, size, opacity))
            if chars:
                result.lines.append(chars)
    return result


def _span_hidden_reason(span: dict[str, Any]) -> str | None:
    flags = span.get("char_flags")
    alpha = span.get("alpha", 255)
    if flags is not None:
        if not flags & (_FILLED | _STROKED):
            return "invisible_render_mode"  # render mode 3
        if flags & _CLIPPED and alpha == 0:
            return "invisible_render_mode"  # render mode 7: glyphs only used as a clip path
    if alpha is not None and alpha <= 255 * _TRANSPARENT_MAX:
        return "transparent"
    return None


def _span_rgb(span: dict[str, Any]) -> tuple[float, float, float] | None:
    color = span.get("color")
    if not isinstance(color, int):
        return None
    return (((color >> 16) & 255) / 255, ((color >> 8) & 255) / 255, (color & 255) / 255)


def _ink_hidden_reason(ink: _Ink | None, char: dict[str, Any]) -> str | None:
    if ink is None or "origin" not in char:
        return None
    key = _char_key(ord(char["c"][0]), char["origin"])
    if key not in ink.not_clipped:
        return "clipped"  # entirely outside the clip path: never seen
    hit = ink.trace.get(key)
    if hit is None:
        # Unmatched characters (e.g. split ligatures) keep the span's verdict.
        return None
    if hit.type not in (0, 1):
        return "invisible_render_mode"
    if hit.opacity <= _TRANSPARENT_MAX:
        return "transparent"
    return None


def _is_white(rgb: tuple[float, float, float]) -> bool:
    return all(v >= _WHITE_MIN for v in rgb)


def _judge_by_rendering(page: Any, page_text: _PageText) -> None:
    """Hide characters a reader cannot see on the rendered page (see the module docstring).

    Renders the page as drawn, removes all its text with a text-only redaction (this child's
    copy of the document is thrown away), renders again and compares, character by character.
    If the page cannot be rendered, near-white text counts as white on white paper.
    """
    pending: list[list[_Char]] = []
    for line in page_text.lines:
        inked = [
            c
            for c in line
            if c.hidden_reason is None and not c.text.isspace() and c.bbox is not None
        ]
        for char in inked:
            if _is_tiny(char):
                char.hidden_reason = "tiny_font"
        inked = [c for c in inked if c.hidden_reason is None]
        if inked:
            pending.append(inked)
    if pending:
        try:
            _compare_renders(page, pending)
        except MemoryError:
            raise
        except Exception:  # a page MuPDF cannot render or redact: judge by colour alone
            for char in (c for line in pending for c in line):
                if char.rgb is not None and _is_white(char.rgb):
                    char.hidden_reason = "low_contrast"
    for line in page_text.lines:
        _settle_whitespace(line)


def _is_tiny(char: _Char) -> bool:
    if 0 < char.size < _TINY_FONT_PT:
        return True
    assert char.bbox is not None
    x0, y0, x1, y1 = char.bbox
    # A glyph's box after the text matrix (rotation included): its shorter side.
    return min(abs(x1 - x0), abs(y1 - y0)) < _TINY_GLYPH_WIDTH_PT


def _compare_renders(page: Any, lines: list[list[_Char]]) -> None:
    import numpy as np

    pymupdf = _load_pymupdf()
    rect = page.rect
    area = max(rect.width * rect.height, 1.0)
    zoom = min(_RENDER_DPI / 72, math.sqrt(_RENDER_MAX_PIXELS / area))
    matrix = pymupdf.Matrix(zoom, zoom)

    def render() -> Any:
        pix = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csRGB, alpha=False, annots=True)
        return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)

    drawn = render()
    page.add_redact_annot(rect, fill=False)
    page.apply_redactions(
        images=pymupdf.PDF_REDACT_IMAGE_NONE,
        graphics=pymupdf.PDF_REDACT_LINE_ART_NONE,
        text=pymupdf.PDF_REDACT_TEXT_REMOVE,
    )
    bare = render()
    if drawn.shape != bare.shape:
        raise ValueError("renders differ in size")
    height, width = bare.shape[:2]

    def pixels(box: tuple[float, float, float, float]) -> tuple[slice, slice] | None:
        x0, y0, x1, y1 = box
        px0 = max(int(math.floor(min(x0, x1) * zoom)), 0)
        py0 = max(int(math.floor(min(y0, y1) * zoom)), 0)
        px1 = min(int(math.ceil(max(x0, x1) * zoom)), width)
        py1 = min(int(math.ceil(max(y0, y1) * zoom)), height)
        if px1 <= px0 or py1 <= py0:
            return None
        return slice(py0, py1), slice(px0, px1)

    for line in lines:
        _judge_line(np, line, [pixels(c.bbox) for c in line if c.bbox is not None], drawn, bare)


def _judge_line(
    np: Any,
    line: list[_Char],
    boxes: list[tuple[slice, slice] | None],
    drawn: Any,
    bare: Any,
) -> None:
    """Judge one line's glyphs on one band of rows, every glyph at once (numpy `reduceat` over
    each glyph's columns): per-glyph array calls cost more than the arithmetic."""
    for char, box in zip(line, boxes, strict=True):
        if box is None:
            char.hidden_reason = "off_page"
    placed = [(c, b) for c, b in zip(line, boxes, strict=True) if b is not None]
    if not placed:
        return
    top = min(b[0].start for _, b in placed)
    bottom = max(b[0].stop for _, b in placed)
    left = min(b[1].start for _, b in placed)
    right = max(b[1].stop for _, b in placed)
    band_drawn, band_bare = drawn[top:bottom, left:right], bare[top:bottom, left:right]
    # Largest channel difference per pixel, without widening to a signed type; then per column.
    painted = (np.maximum(band_drawn, band_bare) - np.minimum(band_drawn, band_bare)).max(axis=2)
    pad = ((0, 1),)
    column_painted = np.pad(painted.max(axis=0), pad)
    column_low = np.pad(band_bare.min(axis=0), pad + ((0, 0),))
    column_high = np.pad(band_bare.max(axis=0), pad + ((0, 0),))
    # reduceat over [start, stop) pairs; the odd results (stop to next start) are discarded.
    edges = np.array([x - left for _, b in placed for x in (b[1].start, b[1].stop)], dtype=np.intp)
    strongest = np.maximum.reduceat(column_painted, edges)[::2]
    low = np.minimum.reduceat(column_low, edges, axis=0)[::2].astype(float)
    high = np.maximum.reduceat(column_high, edges, axis=0)[::2].astype(float)
    background = low / 255
    for i in np.flatnonzero((high - low).max(axis=1) > _UNIFORM_SPREAD).tolist():
        # A box edge or an image behind the glyph: what most of it shows.
        behind = bare[placed[i][1]]
        background[i] = np.median(behind.reshape(-1, behind.shape[-1]), axis=0) / 255
    glyphs = np.array([c.rgb or (0.0, 0.0, 0.0) for c, _ in placed], dtype=float)
    opacity = np.array([c.opacity for c, _ in placed], dtype=float)
    # A half-transparent glyph shows that share of its difference from what is behind it.
    contrast = opacity * np.abs(glyphs - background).max(axis=1)
    for (char, _), faint, unpainted in zip(
        placed,
        (contrast < _CONTRAST_MIN).tolist(),
        (strongest < _PAINTED_MIN).tolist(),
        strict=True,
    ):
        if faint:
            # Checked even where pixels changed: white text laid over black text "changes"
            # the pixels of the text beneath it.
            char.hidden_reason = "low_contrast"
        elif unpainted:
            char.hidden_reason = "covered"


def _settle_whitespace(line: list[_Char]) -> None:
    """Give spaces the verdict of the character before them (the first one for leading spaces).

    A space has no ink, so its own colour or render mode says nothing; without this, the gap
    between two visible words could count as hidden and make a quote across it uncitable.
    """
    verdict = next((c.hidden_reason for c in line if not c.text.isspace()), None)
    if all(c.text.isspace() for c in line):
        return
    for char in line:
        if char.text.isspace():
            char.hidden_reason = verdict
        else:
            verdict = char.hidden_reason


def _chunks(line: list[_Char]) -> Iterator[list[_Char]]:
    """Stretches of a line with one visibility."""
    current: list[_Char] = []
    for char in line:
        if current and char.hidden_reason != current[0].hidden_reason:
            yield current
            current = []
        current.append(char)
    if current:
        yield current


def _layout_page(page_text: _PageText, number: int, offset: int) -> tuple[list[_Run], str]:
    """Join the page's lines with LINE_SEPARATOR and cut runs at visibility changes."""
    pieces: list[str] = []
    runs: list[_Run] = []
    position = offset
    for i, line in enumerate(page_text.lines):
        if i:
            pieces.append(LINE_SEPARATOR)
            position += len(LINE_SEPARATOR)
        for chunk in _chunks(line):
            chunk_text = "".join(c.text for c in chunk)
            bbox = _union([c.bbox for c in chunk])
            runs.append(
                _Run(
                    start=position,
                    end=position + len(chunk_text),
                    page=number,
                    bbox=None if bbox is None else [round(v, 2) for v in bbox],
                    hidden_reason=chunk[0].hidden_reason,
                    source=page_text.source,
                )
            )
            pieces.append(chunk_text)
            position += len(chunk_text)
    return runs, "".join(pieces)


def _union(
    boxes: list[tuple[float, float, float, float] | None],
) -> tuple[float, float, float, float] | None:
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return (
        min(b[0] for b in real),
        min(b[1] for b in real),
        max(b[2] for b in real),
        max(b[3] for b in real),
    )


def _clean(text: str) -> str:
    """Make one character's text safe to join: no line or page breaks of its own, valid UTF-8."""
    return "".join(_CLEAN_CHARS.get(c, c) for c in text)


# A glyph mapped to "\n" or "\f" would forge a line or page break (a fake section header at the
# start of a line); NUL and lone surrogates break UTF-8 output and downstream tools.
_CLEAN_CHARS = {
    **{chr(c): " " for c in range(1, 32) if chr(c) != "\t"},
    "\x7f": " ",
    "\x85": " ",
    "\u2028": " ",
    "\u2029": " ",
    "\x00": "\ufffd",
    **{chr(c): "\ufffd" for c in range(0xD800, 0xE000)},
}


def _finite_rect(bbox: Any) -> Any:
    pymupdf = _load_pymupdf()

    if not bbox or not all(math.isfinite(float(v)) for v in bbox):
        return None
    return pymupdf.Rect(bbox)


def _on_page(bbox: Any, area: Any) -> bool:
    # A character is on the page when its centre is; one clipped at the margin still counts.
    x = (bbox.x0 + bbox.x1) / 2
    y = (bbox.y0 + bbox.y1) / 2
    return bool(area.x0 <= x <= area.x1 and area.y0 <= y <= area.y1)


def _rect_tuple(rect: Any) -> tuple[float, float, float, float]:
    return (float(rect.x0), float(rect.y0), float(rect.x1), float(rect.y1))


@functools.cache
def _ocr_available() -> bool:
    """Tesseract's language data is what MuPDF's built-in OCR needs; the binary says it exists."""
    if shutil.which("tesseract") is None:
        return False
    pymupdf = _load_pymupdf()

    try:
        tessdata = pymupdf.get_tessdata()
    except Exception:  # pymupdf raises RuntimeError, older versions other types
        return False
    return bool(tessdata) and os.path.isfile(os.path.join(tessdata, "eng.traineddata"))


def _load_pymupdf() -> Any:
    """Import pymupdf without the optional layout and LLM add-ons it pulls in when installed.

    PyMuPDF 2.0 imports `pymupdf.layout` and `pymupdf4llm` (numpy, onnxruntime) at import time
    whenever those packages are present: 0.6 s and about 400 MB of address space, a large share
    of the child's memory cap, for features this reader never uses.
    """
    if "pymupdf" not in sys.modules:
        for optional in ("pymupdf.layout", "pymupdf4llm"):
            sys.modules.setdefault(optional, None)  # type: ignore[arg-type]
    import pymupdf

    return pymupdf


def _limit_resources(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A crash must not leave a core file of chart content behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read PDF bytes from stdin, write JSON.")
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args(argv)

    # Keep the real stdout for the result; anything a library prints goes to stderr instead.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        _limit_resources(args.memory_mb)
        # Load the library before waiting for input: the parent keeps one worker started ahead,
        # so the ~0.3 s import overlaps the previous document instead of delaying this one.
        _load_pymupdf()
        import numpy  # noqa: F401  (the rendering check's, loaded ahead like pymupdf)

        data = sys.stdin.buffer.read()
        payload: dict[str, Any] = {"ok": True, "result": read_pdf_bytes(data, ocr=not args.no_ocr)}
    except PdfRefused as err:
        payload = {"ok": False, "kind": KIND_ENCRYPTED, "reason": str(err)}
    except PdfUnopenable as err:
        payload = {"ok": False, "kind": KIND_UNOPENABLE, "reason": str(err)}
    except MemoryError:
        payload = {"ok": False, "kind": KIND_MEMORY, "reason": "out of memory"}
    except ImportError:
        # Also what a too-small memory cap looks like: the shared libraries cannot be mapped.
        payload = {"ok": False, "kind": KIND_INTERNAL, "reason": "PDF support could not be loaded"}
    except Exception as err:
        payload = {"ok": False, "kind": KIND_INTERNAL, "reason": f"unexpected {type(err).__name__}"}
    with os.fdopen(result_fd, "w", encoding="utf-8") as out:
        json.dump(payload, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
