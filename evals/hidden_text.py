"""Hidden-text PDFs, each paired with a twin that shows the same text: what a reader cannot see
must never become a code, and what a reader can see must.

Each construction draws one diagnosis line in one way of hiding it ("0.94 grey on white", "under
a white rectangle", "0.3 pt font", ...) and, for its twin, the closest visible way (mid grey, the
rectangle drawn first, 11 pt). Everything else on the page is the same and visible, so a test
compares the twin's codes with the hidden page's and nothing else can explain the difference.
Used by `tests/tools/test_hidden_text_corpus.py`; the PDFs are made with PyMuPDF on the fly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymupdf

# The diagnosis line sits here; the construction decides how it is painted.
ORIGIN = (72.0, 160.0)
FONT_SIZE = 11.0
HEADER = "ASSESSMENT AND PLAN:"
FOOTER = "Return to clinic in two weeks."

Draw = Callable[[pymupdf.Page, str, bool], None]


@dataclass(frozen=True)
class Construction:
    name: str
    reason: str  # the hidden_reason the reader must give the hidden line
    draw: Draw  # draw(page, text, hidden)


def _text(page: pymupdf.Page, text: str, **kw: object) -> None:
    page.insert_text(ORIGIN, text, fontsize=kw.pop("fontsize", FONT_SIZE), **kw)  # type: ignore[arg-type]


def _line_box(text: str, fontsize: float = FONT_SIZE, pad: float = 4) -> pymupdf.Rect:
    width = pymupdf.get_text_length(text, fontsize=fontsize)
    x, y = ORIGIN
    return pymupdf.Rect(x - pad, y - fontsize - pad, x + width + pad, y + pad)


def _raw(page: pymupdf.Page, ops: str, text: str) -> None:
    """Append a content-stream text object: `ops` goes between BT and the show operator."""
    doc = page.parent
    page.insert_text((300, 700), " ", fontsize=1)  # puts /helv in the page's resources
    xref = page.get_contents()[-1]
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    x, y = ORIGIN
    y_pdf = page.rect.height - y
    stream = doc.xref_stream(xref) + (
        f"\nq BT /helv {FONT_SIZE:g} Tf {ops} 1 0 0 1 {x:g} {y_pdf:g} Tm ({escaped}) Tj ET Q\n"
    ).encode("latin-1")
    doc.update_stream(xref, stream)


def _grey(level: float, visible: float = 0.45) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        g = level if hidden else visible
        _text(page, text, color=(g, g, g))

    return draw


def _on_box(
    box: tuple[float, ...], hidden_ink: tuple[float, ...], shown_ink: tuple[float, ...]
) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        page.draw_rect(_line_box(text), color=None, fill=box)
        _text(page, text, color=hidden_ink if hidden else shown_ink)

    return draw


def _covered_by_rect(fill: tuple[float, ...], opacity: float = 1.0) -> Draw:
    """Hidden: text first, then the box over it. Twin: the box first, the text on top."""

    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        box = _line_box(text)
        if hidden:
            _text(page, text)
            page.draw_rect(box, color=None, fill=fill, fill_opacity=opacity)
        else:
            page.draw_rect(box, color=None, fill=fill, fill_opacity=opacity)
            _text(page, text, color=(1, 1, 1) if sum(fill) < 1.5 else (0, 0, 0))

    return draw


def _image(pattern: str) -> pymupdf.Pixmap:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 16), False)
    if pattern == "white":
        pix.clear_with(255)
    else:  # a busy picture: stripes of colour
        pix.clear_with(200)
        for x in range(64):
            for y in range(16):
                pix.set_pixel(x, y, ((x * 37) % 256, (y * 53) % 256, ((x + y) * 29) % 256))
    return pix


def _covered_by_image(pattern: str) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        box = _line_box(text)
        if hidden:
            _text(page, text)
            page.insert_image(box, pixmap=_image(pattern), keep_proportion=False)
        else:
            page.insert_image(box + (0, 40, 0, 40), pixmap=_image(pattern), keep_proportion=False)
            _text(page, text)

    return draw


def _font_size(hidden_size: float) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        _text(page, text, fontsize=hidden_size if hidden else 8)

    return draw


def _ops(hidden_ops: str, shown_ops: str = "") -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        _raw(page, hidden_ops if hidden else shown_ops, text)

    return draw


def _render_mode(mode: int) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        _text(page, text, render_mode=mode if hidden else 0)

    return draw


def _opacity(level: float) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        _text(page, text, fill_opacity=level if hidden else 1.0)

    return draw


def _moved(dx: float, dy: float) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        x, y = ORIGIN
        page.insert_text((x + dx, y + dy) if hidden else ORIGIN, text, fontsize=FONT_SIZE)

    return draw


def _clipped(clip: str) -> Draw:
    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        _raw(page, "", text) if not hidden else _clip_raw(page, clip, text)

    return draw


def _clip_raw(page: pymupdf.Page, clip: str, text: str) -> None:
    doc = page.parent
    page.insert_text((300, 700), " ", fontsize=1)
    xref = page.get_contents()[-1]
    x, y = ORIGIN
    stream = doc.xref_stream(xref) + (
        f"\nq {clip} re W n BT /helv {FONT_SIZE:g} Tf 1 0 0 1 {x:g} {page.rect.height - y:g} Tm "
        f"({text}) Tj ET Q\n"
    ).encode("latin-1")
    doc.update_stream(xref, stream)


def _covered_by_annotation(page: pymupdf.Page, text: str, hidden: bool) -> None:
    box = _line_box(text)
    _text(page, text)
    annot = page.add_rect_annot(box if hidden else box + (0, 40, 0, 40))
    annot.set_colors(stroke=(1, 1, 1), fill=(1, 1, 1))
    annot.update()


def _covered_form_xobject(page: pymupdf.Page, text: str, hidden: bool) -> None:
    """The line drawn by a form XObject (another page shown on this one), then covered."""
    source = pymupdf.open()
    x, y = ORIGIN
    src = source.new_page(width=page.rect.width, height=page.rect.height)
    src.insert_text(ORIGIN, text, fontsize=FONT_SIZE)
    box = _line_box(text)
    if not hidden:
        page.draw_rect(box + (0, 40, 0, 40), color=None, fill=(1, 1, 1))
    page.show_pdf_page(page.rect, source, 0)
    if hidden:
        page.draw_rect(box, color=None, fill=(1, 1, 1))


def _dark_page(ink: tuple[float, ...]) -> Draw:
    """A page painted dark blue: text in the same blue is hidden, white text is not."""

    def draw(page: pymupdf.Page, text: str, hidden: bool) -> None:
        bg = (0.05, 0.1, 0.3)
        page.draw_rect(page.rect, color=None, fill=bg, overlay=False)
        _text(page, text, color=ink if hidden else (1, 1, 1))

    return draw


def _over_other_text(page: pymupdf.Page, text: str, hidden: bool) -> None:
    """White text laid over black text: the pixels under it change, but not because of it."""
    x, y = ORIGIN
    page.insert_text((x, y) if hidden else (x, y + 30), "#" * 40, fontsize=FONT_SIZE)
    _text(page, text, color=(1, 1, 1) if hidden else (0, 0, 0))


def _rotated_page_covered(page: pymupdf.Page, text: str, hidden: bool) -> None:
    page.set_rotation(90)
    _covered_by_rect((1, 1, 1))(page, text, hidden)


def _cropped(page: pymupdf.Page, text: str, hidden: bool) -> None:
    """Hidden: the line is inside the media box but outside the crop box a viewer shows."""
    _text(page, text)
    if hidden:
        page.set_cropbox(pymupdf.Rect(0, 300, page.rect.width, page.rect.height))


def _behind_header_band(page: pymupdf.Page, text: str, hidden: bool) -> None:
    """A filled band drawn over the line in the page colour of a tinted form."""
    band = (0.85, 0.93, 1.0)
    page.draw_rect(page.rect, color=None, fill=band, overlay=False)
    _covered_by_rect(band)(page, text, hidden)


CONSTRUCTIONS: list[Construction] = [
    Construction("white-on-white", "low_contrast", _grey(1.0)),
    Construction("grey-0.94-on-white", "low_contrast", _grey(0.94)),
    Construction("grey-0.97-on-white", "low_contrast", _grey(0.97)),
    Construction("black-on-black-box", "low_contrast", _on_box((0, 0, 0), (0, 0, 0), (1, 1, 1))),
    Construction("yellow-on-yellow-box", "low_contrast", _on_box((1, 1, 0), (1, 1, 0), (0, 0, 0))),
    Construction("blue-on-blue-box", "low_contrast", _on_box((0, 0, 0.8), (0, 0, 0.78), (1, 1, 1))),
    Construction(
        "red-on-near-red-box",
        "low_contrast",
        _on_box((0.8, 0.1, 0.1), (0.83, 0.12, 0.1), (1, 1, 1)),
    ),
    Construction(
        "white-box-on-dark-page", "low_contrast", _on_box((1, 1, 1), (0.97, 0.97, 0.97), (0, 0, 0))
    ),
    Construction("dark-page-same-ink", "low_contrast", _dark_page((0.05, 0.1, 0.3))),
    Construction("white-over-black-text", "low_contrast", _over_other_text),
    Construction("cmyk-near-white", "low_contrast", _ops("0 0 0 0.03 k", "0 0 0 1 k")),
    Construction("gray-space-near-white", "low_contrast", _ops("0.96 g", "0 g")),
    Construction("half-transparent-grey", "low_contrast", _ops("/GS0 gs 0.8 g", "0 g")),
    Construction("under-white-rectangle", "covered", _covered_by_rect((1, 1, 1))),
    Construction("under-red-rectangle", "covered", _covered_by_rect((0.8, 0.1, 0.1))),
    Construction("under-same-colour-box", "covered", _behind_header_band),
    Construction("under-nearly-opaque-white", "covered", _covered_by_rect((1, 1, 1), 0.95)),
    Construction("under-white-image", "covered", _covered_by_image("white")),
    Construction("under-busy-image", "covered", _covered_by_image("busy")),
    Construction("under-white-annotation", "covered", _covered_by_annotation),
    Construction("form-xobject-covered", "covered", _covered_form_xobject),
    Construction("rotated-page-covered", "covered", _rotated_page_covered),
    Construction("font-0.3pt", "tiny_font", _font_size(0.3)),
    Construction("font-0.8pt", "tiny_font", _font_size(0.8)),
    Construction("matrix-scaled-0.05", "tiny_font", _ops("0.05 0 0 0.05 0 0 cm", "")),
    Construction("squeezed-tz-1", "tiny_font", _ops("1 Tz", "100 Tz")),
    Construction("render-mode-3", "invisible_render_mode", _render_mode(3)),
    Construction("render-mode-7", "invisible_render_mode", _ops("7 Tr", "0 Tr")),
    Construction("fill-opacity-0", "transparent", _opacity(0.0)),
    Construction("fill-opacity-0.03", "transparent", _opacity(0.03)),
    Construction("off-page-right", "off_page", _moved(700, 0)),
    Construction("off-page-above", "off_page", _moved(0, -400)),
    Construction("outside-crop-box", "off_page", _cropped),
    Construction("clip-1pt", "clipped", _clipped("0 0 1 1")),
    Construction("clip-elsewhere", "clipped", _clipped("300 700 100 50")),
]


def build_pdf(construction: Construction, diagnosis: str, hidden: bool, path: Path) -> Path:
    """One page: a visible header and footer around the diagnosis line drawn by `construction`."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    construction.draw(page, diagnosis, hidden)
    if construction.name == "half-transparent-grey":
        _add_opacity_state(page, 0.4 if hidden else 1.0)
    page.insert_text((72, 100), HEADER, fontsize=FONT_SIZE, color=_ink_for(construction))
    page.insert_text((72, 220), FOOTER, fontsize=FONT_SIZE, color=_ink_for(construction))
    doc.save(path, garbage=0)
    doc.close()
    return path


def _ink_for(construction: Construction) -> tuple[float, float, float]:
    return (1, 1, 1) if construction.name == "dark-page-same-ink" else (0, 0, 0)


def _add_opacity_state(page: pymupdf.Page, alpha: float) -> None:
    """Define /GS0 (fill opacity) in the page's resources for the raw text object using it."""
    doc = page.parent
    gs = doc.get_new_xref()
    doc.update_object(gs, f"<< /Type /ExtGState /ca {alpha:g} /CA {alpha:g} >>")
    res = doc.xref_get_key(page.xref, "Resources")
    if res[0] == "xref":
        target, key = int(res[1].split()[0]), "ExtGState"
    else:
        target, key = page.xref, "Resources/ExtGState"
    doc.xref_set_key(target, f"{key}/GS0", f"{gs} 0 R")
