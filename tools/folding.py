"""What chart text reads as, for matching, with a map back to the original characters.

"dia\\u00adbetes" (a soft hyphen), "dia\\u200bbetes" (a zero-width space), "ｄｉａｂｅｔｅｓ" (full
width) and "diаbetes" (a Cyrillic а) all read "diabetes" to a person, and must to the term index
and ConText too; otherwise the chart reads one way and codes another (R73.9 instead of E11.9).
`fold` gives that reading: format characters (zero-width, soft hyphen, bidi controls, tag
characters, variation selectors) removed, NFKC applied per character, letters of other scripts
that imitate a Latin one read as it (Unicode confusables). Control characters become spaces so
they still separate words. Every folded character remembers the original character it came
from, so a match on the folded text maps back to exact offsets: quotes stay the original text.

Bidirectional controls are handled apart (`bidi_ranges`): text inside an override, embedding
or isolate is displayed in another order than it is stored ("\\u202eType 2 diabetes" shows as
"setebaid 2 epyT"), so it is never matched and its chart goes to a person.
"""

from __future__ import annotations

import bisect
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from tools.untrusted import foreign_letter, latin_lookalikes

# Overrides and embeddings end at PDF (U+202C), isolates at PDI (U+2069); all end at a line
# break (a paragraph, in the Unicode bidi algorithm, for our line-oriented notes).
_BIDI_OPENERS = frozenset("\u202a\u202b\u202d\u202e\u2066\u2067\u2068")
_BIDI_CLOSERS = frozenset("\u202c\u2069")
_KEPT_CONTROLS = frozenset("\n\t")


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text and, for each of its characters, the index of the original character."""

    text: str
    origin: Sequence[int]  # a range for ASCII text, else a compact array
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original [start, end) behind folded [start, end) (non-empty)."""
        return self.origin[start], self.origin[end - 1] + 1

    def position(self, original: int) -> int:
        """The first folded character at or after an original offset."""
        return bisect.bisect_left(self.origin, original)


def _removed(ch: str) -> bool:
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:  # variation selectors
        return True
    return unicodedata.category(ch) in ("Cf", "Cn")


def _fold_char(ch: str, lookalikes: dict[str, str] | None) -> str:
    if ch in _KEPT_CONTROLS:
        return ch
    if _removed(ch):
        return ""
    if unicodedata.category(ch) == "Cc":
        return " "
    out = unicodedata.normalize("NFKC", ch)
    if lookalikes is not None:
        out = "".join(lookalikes.get(c, c) if foreign_letter(c) else c for c in out)
    return out


def fold(text: str) -> Folded:
    """`text` as it reads (see the module docstring); ASCII text is returned as it is."""
    if text.isascii():
        return Folded(text, range(len(text)), len(text))
    needs_table = any(foreign_letter(ch) for ch in set(text))
    lookalikes = latin_lookalikes() if needs_table else None
    # Decided once per distinct character: a chart repeats few of them.
    table = {ch: _fold_char(ch, lookalikes) for ch in set(text)}
    if all(len(out) == 1 for out in table.values()):
        # Each character reads as one ("°" as itself, "ｄ" as "d"): offsets stay where they are.
        by_ordinal = {ord(ch): out for ch, out in table.items()}
        return Folded(text.translate(by_ordinal), range(len(text)), len(text))
    pieces: list[str] = []
    origin = array("q")
    for i, ch in enumerate(text):
        out = table[ch]
        if out:
            pieces.append(out)
            origin.extend([i] * len(out))
    return Folded("".join(pieces), origin, len(text))


def bidi_ranges(text: str) -> list[tuple[int, int]]:
    """Stretches [start, end) inside bidi overrides, embeddings or isolates, controls included."""
    if text.isascii():
        return []
    ranges: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in _BIDI_OPENERS:
            if depth == 0:
                start = i
            depth += 1
        elif depth and (ch in _BIDI_CLOSERS or ch == "\n"):
            depth = 0 if ch == "\n" else depth - 1
            if depth == 0:
                ranges.append((start, i if ch == "\n" else i + 1))
    if depth:
        ranges.append((start, len(text)))
    return ranges
