"""Chart text as HTML for people: evidence highlighted, hidden text greyed, offsets kept.

The rendered text has exactly one character per character of `Document.text`, so a page script
can turn a reader's selection back into the document's offsets: control characters a browser
would drop or fold (a carriage return, a form feed between PDF pages, ESC) are shown as their
Unicode "control pictures" (one character each). Everything from the chart is escaped; a chart
is untrusted input.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape

from tools.chart import Document


@dataclass(frozen=True)
class Highlight:
    """One span to mark: where, the anchor id to jump to, a css class and a label (the code)."""

    doc_id: str
    start: int
    end: int
    anchor: str
    css: str
    label: str


_KEEP = {"\n", "\t"}
# A format character (bidi override or isolate, zero-width space or joiner, soft hyphen) would
# reorder or hide what a reviewer reads on the page; it is shown as this mark instead.
_FORMAT_MARK = "\ufffd"

# What each hidden reason means to a reader of the page.
HIDDEN_WORDS = {
    "low_contrast": "same colour as what is behind it",
    "covered": "painted over",
    "tiny_font": "too small to read",
    "invisible_render_mode": "drawn invisible",
    "clipped": "outside its clip path",
    "transparent": "transparent",
    "off_page": "off the page",
}
# Where spans overlap, the mark shows the most telling one: a reviewer's addition, then a
# rejection, then plain evidence.
_CSS_PRIORITY = {"added": 0, "rejected": 1, "evidence": 2, "": 3}


def visible_text(text: str) -> str:
    """`text` with each control character (but newline and tab) as its one-character picture,
    and each format character (bidi controls, zero-width characters) as a visible mark."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _KEEP:
            out.append(ch)
        elif code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0x80 <= code < 0xA0:
            out.append("\ufffd")
        elif code > 0x7F and unicodedata.category(ch) == "Cf":
            out.append(_FORMAT_MARK)
        else:
            out.append(ch)
    return "".join(out)


def document_html(doc: Document, highlights: list[Highlight]) -> str:
    """The document's text with each highlight in a <mark> (overlaps split into pieces) and each
    hidden run in a greyed <span> that says why it is hidden. Offsets are preserved."""
    mine = [
        h for h in highlights if h.doc_id == doc.doc_id and 0 <= h.start < h.end <= len(doc.text)
    ]
    hidden = [(r.start, r.end, r.hidden_reason or "hidden") for r in doc.runs if not r.visible]
    cuts = sorted(
        {0, len(doc.text)}
        | {h.start for h in mine}
        | {h.end for h in mine}
        | {s for s, _, _ in hidden}
        | {e for _, e, _ in hidden}
    )
    out: list[str] = []
    opened: set[str] = set()
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = escape(visible_text(doc.text[a:b]))
        why = next((reason for s, e, reason in hidden if s <= a and b <= e), None)
        if why is not None:
            # The reason is shown by the stylesheet (::after), so it adds no character to the
            # text a reader selects.
            words = escape(HIDDEN_WORDS.get(why, why))
            piece = (
                f'<span class="hidden-text" data-reason="hidden: {words}" '
                f'title="not visible on the page ({words}); never evidence">{piece}</span>'
            )
        covering = [h for h in mine if h.start <= a and b <= h.end]
        if covering:
            ids = [h.anchor for h in covering if h.anchor not in opened]
            opened.update(ids)
            anchor = f' id="{escape(ids[0])}"' if ids else ""
            css = min((h.css for h in covering), key=lambda c: _CSS_PRIORITY.get(c, 3), default="")
            label = escape(", ".join(dict.fromkeys(h.label for h in covering)))
            piece = f'<mark class="{escape(css)}"{anchor} title="{label}">{piece}</mark>'
        out.append(piece)
    return "".join(out)
