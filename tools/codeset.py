"""The ICD-10-CM April 2026 code set: titles, hierarchy and tabular instructions for every code.

Wraps `simple_icd_10_cm` 1.5.0 (the April 1, 2026 tabular XML) behind one cached `CodeSet`, so the
rest of the product never meets the library's traps:

- codes arrive as "e1121", "E11.21" or " e11.21 "; `CodeSet.normalize` makes them "E11.21";
- instructional notes live on ancestors: the Excludes1 notes of category E11 apply to E11.21, the
  7th-character table of S72 applies to S72.001; `CodeInfo` carries own and inherited notes, each
  with the code it came from;
- the library returns "use additional code", "code first" and "code also" as one newline-joined
  string (not a list) and, with `search_in_ancestors`, only the nearest ancestor's notes;
- a block that has the same name as its only category (B99, E36, ...) is shadowed by the category:
  "B99" is the category, whose parent we report as the chapter.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from core.codes import dot, undot
from core.codes import normalize as normalize_code
from core.errors import CodeSenseError, UnknownCode
from tools.codeset_snapshot import library_type, range_codes

_WORD = re.compile(r"[a-z]+")


def _with_words(title: str) -> set[str]:
    """The words of a title after its first "with": what the code combines with its disease."""
    _, sep, rest = title.lower().partition(" with ")
    return set(_WORD.findall(rest)) if sep else set()


CODE_SET_VERSION = "ICD-10-CM 2026-04"
# FY2026 ICD-10-CM runs 2025-10-01 to 2026-09-30; the April 1, 2026 update is what we ship.
FY2026_START = date(2025, 10, 1)
APRIL_UPDATE_START = date(2026, 4, 1)
FY2026_END = date(2026, 9, 30)

CodeKind = Literal["chapter", "block", "category", "subcategory", "extended"]
NoteKind = Literal["excludes1", "excludes2", "code_first", "use_additional_code", "code_also"]
TermOrigin = Literal["title", "inclusion", "includes"]

_KIND_BY_LIBRARY_TYPE: dict[str, CodeKind] = {
    "chapter": "chapter",
    "section": "block",
    "category": "category",
    "subcategory": "subcategory",
    "extended subcategory": "extended",
}
_NOTE_KINDS: tuple[NoteKind, ...] = (
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
)
# Length of a complete code without its dot; `with_seventh` pads with X to one less than this.
_SEVENTH_POSITION = 7


class TabularNote(BaseModel):
    """One instructional note that applies to a code, and the code where the tabular states it."""

    model_config = ConfigDict(frozen=True)

    kind: NoteKind
    text: str
    origin: str


class CodeInfo(BaseModel):
    """Everything the tabular list says about one code, inherited notes included.

    The note lists (excludes1, ..., code_also) hold the code's own notes first, then its ancestors'
    from the nearest up to the chapter; `notes` has the same notes with the code each came from.
    Instances are cached and shared: treat them as read-only.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    description: str
    billable: bool
    kind: CodeKind
    parent: str | None
    children: list[str]
    ancestors: list[str]
    chapter: str
    inclusion_terms: list[str]
    includes: list[str]
    excludes1: list[str]
    excludes2: list[str]
    code_first: list[str]
    use_additional_code: list[str]
    code_also: list[str]
    notes: list[TabularNote]
    general_notes: list[str]
    seventh_character: dict[str, str]
    seventh_character_origin: str | None
    needs_seventh: bool


class CodeRef(BaseModel):
    """A code reference parsed from a note, e.g. "(E08-E13 with .42)" -> lo E08, hi E13, qualifier.

    `lo`/`hi` are undotted; `qualifier` is the text after "with", lower-cased, or None.
    """

    model_config = ConfigDict(frozen=True)

    lo: str
    hi: str | None = None
    qualifier: str | None = None


_CODE_TOKEN = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
# One reference inside a parenthesised list. Besides "E10.-", "O24.4-", "P70.2" and "I10-I16" the
# tabular writes "D29.2.-" (stray dot), "S12.0--S12.3-" and "I69." (before "with final
# characters -23"); the optional "\.?-?" after each code absorbs these shapes.
_REF_PART = re.compile(rf"^(?P<lo>{_CODE_TOKEN})\.?-?(?:\s*-\s*(?P<hi>{_CODE_TOKEN})\.?-?)?$")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_PART_SPLIT = re.compile(r",|\band\b")
_WITH = re.compile(r"\bwith\b")
_ORDINALS = {
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "six": 6,  # "fifth or six character 5" (sic, T88.7)
    "6th": 6,
    "seventh": 7,
    "7th": 7,
}
_QUAL_POSITIONAL = re.compile(r"\.([0-9a-z]+)(?:-\.([0-9a-z]+))?")
_QUAL_ORDINAL = re.compile(r"(\w+)[ -]characters?\s+\.?([0-9a-z])")
_QUAL_ORDINAL_SPAN = re.compile(r"(\w+)\s+to\s+(\w+)\s+characters?\s+([0-9a-z]+)")
_QUAL_ORDINAL_EITHER = re.compile(r"(\w+)\s+or\s+(\w+)\s+characters?\s+\.?([0-9a-z])\b")
_QUAL_FINAL = re.compile(r"final\s+characters?\s+(.+)")

# unspecified_child heuristic, tier A: the title says outright that it is the unspecified or
# uncomplicated form ("Heart failure, unspecified", "... NOS", "... without complications").
_UNSPECIFIED_TITLE = re.compile(r"(\bunspecified|\bNOS)\s*$|\bwithout complications?\b", re.I)
_UNSPECIFIED_WORD = re.compile(r"\bunspecified\b|\bNOS\b|\bnot specified\b", re.I)


def _clean(text: str) -> str:
    """Collapse the tabular's stray whitespace ("open fracture type I or II/\\tinitial ...")."""
    return " ".join(text.split())


def parse_code_refs(note: str) -> list[CodeRef]:
    """The code references in a note's parenthesised lists, e.g. "type 1 diabetes (E10.-)" -> E10.

    A "with ..." qualifier applies to every code of its list: "(E08, E09, E11, E13 with final
    characters .00 or .01)" and "(F10-F19 with .150, .250, .950)" are how the tabular writes it.
    Parenthesised text that does not start with a code ("(in)", "(with C3 glomerulopathy)") is
    skipped.
    """
    refs: list[CodeRef] = []
    for group in _PARENTHESISED.findall(note):
        bases, *rest = _WITH.split(group, maxsplit=1)
        qualifier = " ".join(rest[0].split()).lower() or None if rest else None
        for part in _PART_SPLIT.split(bases):
            match = _REF_PART.match(part.strip())
            if match is None:
                continue
            lo = undot(match["lo"])
            hi = undot(match["hi"]) if match["hi"] else None
            refs.append(CodeRef(lo=lo, hi=hi, qualifier=qualifier))
    return refs


def merge_note_headers(lines: list[str]) -> list[str]:
    """Join a list header to its items: ["polyneuropathy (in):", "diabetes (E08-E13 with .42)"]
    -> ["polyneuropathy (in): diabetes (E08-E13 with .42)"].

    The tabular stores such lists as flat notes; a header (a line ending in ':') is taken to
    govern every following line up to the next header, which is how the printed tabular reads.
    """
    merged: list[str] = []
    header: str | None = None
    for line in lines:
        if line.endswith(":"):
            header = line
            continue
        merged.append(f"{header} {line}" if header else line)
    if header is not None and not merged:
        merged.append(header)
    return merged


class CodeSet:
    """The loaded ICD-10-CM code set; get one with `CodeSet.load()` (process-wide, loaded once)."""

    version: ClassVar[str] = CODE_SET_VERSION
    _instance: ClassVar[CodeSet | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, library: Any) -> None:
        self._lib = library
        # Ordered as in the tabular; the library's list repeats the 39 names that are both a block
        # and a category (B99, ...), and those names resolve to the category.
        self._items: dict[str, None] = dict.fromkeys(library.get_all_codes(with_dots=True))
        self._info: dict[str, CodeInfo] = {}
        self._titles: dict[str, str] = {}
        self._leaves: dict[str, tuple[str, ...]] = {}
        self._excludes1_pairs: dict[tuple[str, str], TabularNote | None] = {}
        self._own_notes: dict[str, list[TabularNote]] = {}
        self._ref_prefixes: dict[CodeRef, list[str]] = {}
        self._note_refs: dict[str, list[str]] = {}
        self._note_undotted: dict[str, tuple[str, ...]] = {}
        self._note_condition: dict[str, frozenset[str]] = {}
        self._info_lock = threading.Lock()
        # Sorted undotted codes (categories and below) for range and prefix look-ups; the
        # snapshot stores them.
        stored = getattr(library, "range_codes", None)
        self._sorted: list[str] = stored() if stored is not None else range_codes(self._items)

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> CodeSet:
        """The process-wide code set, read from the compact snapshot in the data directory's
        cache (`tools/codeset_snapshot.py`; built once per code-set version, about 10 s), not
        from the library's XML, which every importing process would parse (about 3 s)."""
        if cls._instance is None:
            with cls._lock:
                if cls._instance is None:
                    from tools.codeset_snapshot import open_snapshot

                    where = cache_dir if cache_dir is not None else default_cache_dir()
                    cls._instance = cls(open_snapshot(where, CODE_SET_VERSION))
        return cls._instance

    # --- look-up -------------------------------------------------------------------------------

    @staticmethod
    def normalize(code: str) -> str:
        """Canonical spelling: upper case, no spaces, dot after the 3rd character ("e1121" ->
        "E11.21"). Chapters ("4") and blocks ("E08-E13") keep their shape."""
        return normalize_code(code)

    def is_manifestation(self, code: str) -> bool:
        """'In diseases classified elsewhere' codes (G63, F02.80, B95.0 ...), by own or category
        title; their convention forbids them as principal / first-listed diagnosis. False for an
        unknown code."""
        try:
            info = self.get(code)
        except UnknownCode:
            return False
        titles = [info.description]
        for ancestor in info.ancestors:
            parent = self.get(ancestor)
            if parent.kind in ("chapter", "block"):
                break
            titles.append(parent.description)
        return any("classified elsewhere" in t.lower() for t in titles)

    def exists(self, code: str) -> bool:
        """True for any item of the tabular list: chapter, block, category or code below it."""
        return self.normalize(code) in self._items

    def get(self, code: str) -> CodeInfo:
        """The tabular entry for a code; raises UnknownCode when the code set has no such item."""
        info = self._info.get(code)
        if info is not None:
            return info
        norm = self.normalize(code)
        info = self._info.get(norm)
        if info is None:
            info = self._build(self._known(code))
            with self._info_lock:
                self._info[norm] = info
        return info

    def title(self, code: str) -> str:
        """`get(code).description` without building the whole entry: the siblings of a code are
        compared by title, thousands of codes (S72 has 1,900 leaves) of which few are used."""
        title = self._titles.get(code)
        if title is not None:
            return title
        info = self._info.get(code)
        if info is not None:
            return info.description
        norm = self._known(code)
        info = self._info.get(norm)
        title = info.description if info is not None else _clean(self._lib.get_description(norm))
        with self._info_lock:
            self._titles[code] = title
        return title

    def is_billable(self, code: str) -> bool:
        """True for a leaf code. Cheap: answers without building the full `CodeInfo`."""
        norm = self._known(code)
        info = self._info.get(norm)
        if info is not None:
            return info.billable
        # Chapters ("4") and blocks ("E08-E13"; twelve are childless) are never billable.
        return not norm.isdigit() and "-" not in norm and bool(self._lib.is_leaf(norm))

    def kind(self, code: str) -> CodeKind:
        """Chapter, block, category, subcategory or extended (has its 7th character)."""
        return _KIND_BY_LIBRARY_TYPE[library_type(self._lib, self._known(code))]

    def _known(self, code: str) -> str:
        norm = self.normalize(code)
        if norm not in self._items:
            shown = code.strip()[:24]
            raise UnknownCode(f"Unknown ICD-10-CM code {shown!r} (not in {CODE_SET_VERSION}).")
        return norm

    def children(self, code: str) -> list[str]:
        return list(self.get(code).children)

    def descendants(self, code: str) -> list[str]:
        """Every item below `code`, depth first in tabular order."""
        norm = self.get(code).code
        found = self._lib.get_descendants(norm)
        return [c for c in dict.fromkeys(found) if c != norm]

    def leaves_under(self, code: str) -> list[str]:
        """The billable codes at or below `code`."""
        # Remembered: sibling choice and side look-ups each ask it of a chart's categories, and
        # S72 has 1,900 leaves to read.
        leaves = self._leaves.get(code)
        if leaves is None:
            info = self.get(code)
            if info.billable:
                leaves = (info.code,)
            else:
                # Twelve blocks (C00-C96, ...) are childless headings: leaves to the library,
                # not codes.
                leaves = tuple(
                    c for c in self.descendants(info.code) if "-" not in c and self._lib.is_leaf(c)
                )
            with self._info_lock:
                self._leaves[code] = leaves
        return list(leaves)

    def all_codes(self, include_headings: bool = False) -> list[str]:
        """Every code in tabular order; chapters and blocks only with `include_headings`."""
        if include_headings:
            return list(self._items)
        return [c for c in self._items if not c.isdigit() and "-" not in c]

    def iter_terms(self) -> Iterator[tuple[str, str, TermOrigin]]:
        """(code, text, origin) for each code's title ("title"), inclusion terms ("inclusion")
        and the category-level Includes notes ("includes": I10 includes "high blood pressure").

        Chapters and blocks are left out: their titles are not codable diagnoses.
        """
        lib = self._lib
        for code in self.all_codes():
            yield code, _clean(lib.get_description(code)), "title"
            for term in lib.get_inclusion_term(code):
                yield code, _clean(term), "inclusion"
            for term in lib.get_includes(code):
                yield code, _clean(term), "includes"

    # --- specificity ---------------------------------------------------------------------------

    def unspecified_child(self, code: str) -> str | None:
        """The code a coder picks under `code` when the documentation gives no more detail.

        Walks down one level at a time. At each level the chosen child is, in order:
        A. the only child whose title ends in "unspecified" / "NOS" or says "without
           complication(s)" (E11 -> E11.9, T81.4 -> T81.40); when several do, the one whose
           code ends in 9 (I50 -> I50.9, not I50.1 "Left ventricular failure, unspecified");
        B. else the child whose title says "unspecified" (or "NOS", "not specified") more often
           than every sibling (S72.00 -> S72.009 "... of unspecified part of neck of unspecified
           femur", O9A.41 -> O9A.419 "... unspecified trimester");
        C. else, when no child mentions "unspecified", the single child whose code ends in 9 and
           whose title has "without" and not "other" (K21 -> K21.9 "... without esophagitis").
        No clear choice at some level (a tie, or only "other" codes: E11.2 has E11.21, E11.22 and
        E11.29 "other diabetic kidney complication") gives None.

        The walk stops at a billable code, or at a code that lacks only its 7th character
        (T81.4 -> T81.40, which still `needs_seventh`): the encounter is not a detail the tabular
        can default, so `with_seventh` must add it.
        """
        info = self.get(code)
        if info.billable or self._lacks_only_seventh(info):
            return None
        while True:
            child = self._pick_unspecified(info.children)
            if child is None:
                return None
            info = self.get(child)
            if info.billable or self._lacks_only_seventh(info):
                return info.code

    def _pick_unspecified(self, children: list[str]) -> str | None:
        titles = {c: self._lib.get_description(c) for c in children}
        tier_a = [c for c, t in titles.items() if _UNSPECIFIED_TITLE.search(t.strip())]
        if len(tier_a) > 1:
            # I50: "Left ventricular failure, unspecified" (I50.1) and "Heart failure,
            # unspecified" (I50.9); the residual ".9" slot is the unspecified one.
            nines = [c for c in tier_a if c.endswith("9")]
            if len(nines) == 1:
                return nines[0]
        if len(tier_a) == 1:
            return tier_a[0]
        counts = {c: len(_UNSPECIFIED_WORD.findall(t)) for c, t in titles.items()}
        pool = tier_a or children
        best = max((counts[c] for c in pool), default=0)
        top = [c for c in pool if counts[c] == best]
        if best > 0 and len(top) == 1:
            return top[0]
        if best == 0 and not tier_a:
            nines = [
                c
                for c, t in titles.items()
                if c.endswith("9") and "without" in t.lower() and "other" not in t.lower()
            ]
            if len(nines) == 1:
                return nines[0]
        if best == 0 and not tier_a and len(children) == 2:
            # D. K80.2 "... without obstruction" (K80.20) beside "... with obstruction"
            # (K80.21): the Index reads the condition NOS as the "without" code ("Calculus,
            # gallbladder K80.20"), so of two titles that differ only there, "without".
            first, second = (titles[c].lower().split() for c in children)
            differ = (
                [(x, y) for x, y in zip(first, second, strict=False) if x != y]
                if len(first) == len(second)
                else []
            )
            if len(differ) == 1 and set(differ[0]) == {"with", "without"}:
                return children[0] if differ[0][0] == "without" else children[1]
        return None

    def lacks_only_seventh(self, code: str) -> bool:
        """True for a code whose children are all its 7th-character extensions (S72.001,
        T81.40): the encounter (or fracture healing, fetus, ...) is all that is missing."""
        return self._lacks_only_seventh(self.get(code))

    def _lacks_only_seventh(self, info: CodeInfo) -> bool:
        return (
            info.needs_seventh
            and bool(info.children)
            and all(len(undot(c)) == _SEVENTH_POSITION for c in info.children)
        )

    def with_seventh(self, code: str, char: str) -> str:
        """`code` with 7th character `char`, padded with the placeholder X (T81.40 + A ->
        T81.40XA, S72.001 + A -> S72.001A). Raises UnknownCode when the result is not a code
        (T81.4 + A: T81.4 needs a 6th character first) and CodeSenseError for a bad call."""
        info = self.get(code)
        letter = char.strip().upper()
        if len(letter) != 1:
            raise CodeSenseError(f"A 7th character is one letter or digit, not {char!r}.")
        if not info.needs_seventh:
            raise CodeSenseError(f"{info.code} takes no 7th character.")
        stem = undot(info.code).ljust(_SEVENTH_POSITION - 1, "X")
        candidate = dot(stem + letter)
        if candidate in self._items:
            return candidate
        if letter not in info.seventh_character:
            allowed = ", ".join(sorted(info.seventh_character))
            raise UnknownCode(
                f"{letter!r} is not a 7th character of {info.code} (allowed: {allowed})."
            )
        raise UnknownCode(
            f"{candidate} is not a code: {info.code} needs a more specific code before its 7th "
            f"character ({', '.join(info.children[:4])}{', ...' if len(info.children) > 4 else ''})."
        )

    # --- Excludes1 and code references --------------------------------------------------------

    def expand_ref(self, ref: CodeRef) -> list[str]:
        """The dotted code prefixes a reference names: "(I10-I16)" -> I10, I11, I12, I13, I15,
        I16; "(E08-E13 with .42)" -> E08.42, E09.42, E10.42, E11.42, E13.42. Empty when the
        reference names nothing in the code set or its qualifier cannot be read."""
        cached = self._ref_prefixes.get(ref)
        if cached is not None:
            return cached
        prefixes = self._expand(ref)
        self._ref_prefixes[ref] = prefixes
        return prefixes

    def note_prefixes(self, note: str) -> list[str]:
        """All code prefixes named in one note's parenthesised lists, in order, deduplicated."""
        cached = self._note_refs.get(note)
        if cached is None:
            found: dict[str, None] = {}
            for ref in parse_code_refs(note):
                found.update(dict.fromkeys(self.expand_ref(ref)))
            cached = list(found)
            self._note_refs[note] = cached
        return cached

    def excludes1_targets(self, code: str) -> list[tuple[str, list[str]]]:
        """Each Excludes1 note that applies to `code` (own, then inherited, nearest first) with
        the code prefixes it names; notes without a code ("(in)" lists) have an empty list."""
        return [(note.text, self.note_prefixes(note.text)) for note in self._excludes1_notes(code)]

    def excludes1_conflict(self, a: str, b: str) -> str | None:
        """The Excludes1 note of `a` (or of an ancestor of `a`) under which `b` falls, or None.

        E11.9 vs E10.9 -> "type 1 diabetes mellitus (E10.-)". Notes whose targets also cover `a`
        itself are skipped: a block-level note cannot exclude the block's own codes.
        """
        found = self.excludes1_source(a, b)
        return found.text if found else None

    def excludes1_source(self, a: str, b: str) -> TabularNote | None:
        """Like `excludes1_conflict`, with the code on which the note is written."""
        # A fact of the code set, asked of every pair of codes of every chart.
        key = (a, b)
        if key in self._excludes1_pairs:
            return self._excludes1_pairs[key]
        found = self._excludes1_source(a, b)
        with self._info_lock:
            self._excludes1_pairs[key] = found
        return found

    def _excludes1_source(self, a: str, b: str) -> TabularNote | None:
        code_a = undot(self.get(a).code)
        code_b = undot(self.get(b).code)
        if code_a == code_b:
            return None
        for note in self._excludes1_notes(a):
            prefixes = self._undotted_prefixes(note.text)
            if code_a.startswith(prefixes):
                continue
            if code_b.startswith(prefixes) and self._condition_named(note.text, prefixes, b):
                return note
        return None

    def _condition_named(self, note: str, prefixes: tuple[str, ...], code: str) -> bool:
        """Whether a note of the form "<condition> in <disease> (range)" names the condition
        `code` describes. "somnolence, stupor and coma in diabetes (E08-E13)" excludes R40.0
        beside E11.641 (hypoglycemia with coma), not beside E11.21 (diabetic nephropathy): when
        only some codes of the range are the disease "with" the condition (the condition's
        words after "with" in their titles), the note stands for those. When none or all are
        ("hallucinations in schizophrenia (F20-F29)"), or the note has another form, it applies
        as written."""
        words = self._condition_words(note, prefixes)
        return not words or bool(words & _with_words(self.title(code)))

    def _condition_words(self, note: str, prefixes: tuple[str, ...]) -> frozenset[str]:
        cached = self._note_condition.get(note)
        if cached is not None:
            return cached
        words: frozenset[str] = frozenset()
        head, sep, _ = note.partition(" in ")
        if sep and "(" not in head:
            named = frozenset(w for w in _WORD.findall(head.lower()) if len(w) > 3)
            leaves = [
                leaf
                for p in dict.fromkeys(prefixes)
                if self.exists(dot(p))
                for leaf in self.leaves_under(dot(p))
            ]
            carrying = sum(1 for leaf in leaves if named & _with_words(self.title(leaf)))
            if 0 < carrying < len(leaves):
                words = named
        self._note_condition[note] = words
        return words

    def _undotted_prefixes(self, note: str) -> tuple[str, ...]:
        cached = self._note_undotted.get(note)
        if cached is None:
            cached = tuple(undot(p) for p in self.note_prefixes(note))
            self._note_undotted[note] = cached
        return cached

    def matches_prefixes(self, code: str, prefixes: list[str]) -> bool:
        """True when `code` is one of `prefixes` or lies below one of them."""
        undotted = undot(self.normalize(code))
        return any(undotted.startswith(undot(p)) for p in prefixes)

    def _excludes1_notes(self, code: str) -> list[TabularNote]:
        return [n for n in self.get(code).notes if n.kind == "excludes1"]

    def _expand(self, ref: CodeRef) -> list[str]:
        lo, hi = ref.lo, ref.hi or ref.lo
        start = bisect.bisect_left(self._sorted, lo)
        # "~" sorts after every digit and capital, so this ends after the last code under `hi`.
        end = bisect.bisect_left(self._sorted, hi + "~")
        candidates = self._sorted[start:end]
        if ref.qualifier is not None:
            keep = self._qualifier_filter(ref.qualifier, lo)
            if keep is None:
                return []
            candidates = [c for c in candidates if keep(c)]
        # Keep only the topmost matches: in sorted order a code's descendants follow it directly.
        topmost: list[str] = []
        for code in candidates:
            if topmost and code.startswith(topmost[-1]):
                continue
            topmost.append(code)
        return [dot(c) for c in topmost]

    def _qualifier_filter(self, qualifier: str, lo: str) -> Callable[[str], bool] | None:
        """A predicate over undotted codes for a "with ..." qualifier, or None if unreadable."""
        if qualifier.startswith("."):
            # ".42", ".51-.52", ".150, .250, .950": characters right after the category.
            spans = [
                (m[1].upper(), (m[2] or m[1]).upper()) for m in _QUAL_POSITIONAL.finditer(qualifier)
            ]
            if not spans:
                return None
            return lambda c: any(
                len(c) >= 3 + len(first) and first <= c[3 : 3 + len(first)] <= last
                for first, last in spans
            )
        if "open fracture" in qualifier and ("7th" in qualifier or "seventh" in qualifier):
            # "S52.- with open fracture 7th character": the letters whose definition says so.
            table = self.get(dot(lo)).seventh_character
            letters = {k for k, v in table.items() if "open fracture" in v}
            return lambda c: len(c) == _SEVENTH_POSITION and c[-1] in letters
        span = _QUAL_ORDINAL_SPAN.search(qualifier)
        if span and span[1] in _ORDINALS and span[2] in _ORDINALS:
            begin = _ORDINALS[span[1]] - 1
            value = span[3].upper()
            return lambda c: c[begin : begin + len(value)] == value
        either = _QUAL_ORDINAL_EITHER.search(qualifier)
        if either and either[1] in _ORDINALS and either[2] in _ORDINALS:
            # "T36-T50 with fifth or sixth character 5": adverse-effect codes (T36.0X5, T36.1X5).
            positions = (_ORDINALS[either[1]] - 1, _ORDINALS[either[2]] - 1)
            value = either[3].upper()
            return lambda c: any(len(c) > p and c[p] == value for p in positions)
        final = _QUAL_FINAL.search(qualifier)
        if final:
            # "final characters -23", "final characters .00 or .01", "final character 6"
            values = re.findall(r"[0-9a-z]+", final[1])
            suffixes = tuple(v.upper() for v in values if v not in ("or", "and"))
            if not suffixes:
                return None
            # "Final" means the end of a complete code (T36.0X6, before its 7th character), so
            # subcategories that merely end the same way (T36.6, I69.23) do not count.
            return lambda c: len(c) > len(lo) and c.endswith(suffixes) and self._is_complete(c)
        ordinal = _QUAL_ORDINAL.search(qualifier)
        if ordinal and ordinal[1] in _ORDINALS:
            position = _ORDINALS[ordinal[1]] - 1
            value = ordinal[2].upper()
            return lambda c: len(c) > position and c[position] == value
        return None

    def _is_complete(self, undotted: str) -> bool:
        """A leaf, or a code that lacks only its 7th character."""
        children = self._lib.get_children(dot(undotted))
        return all(len(undot(c)) == _SEVENTH_POSITION for c in children)

    # --- building CodeInfo ---------------------------------------------------------------------

    def _own_notes_of(self, code: str) -> list[TabularNote]:
        """The instructional notes written on `code` itself (cached: ancestors are shared)."""
        own = self._own_notes.get(code)
        if own is not None:
            return own
        lib = self._lib
        lines: dict[NoteKind, list[str]] = {
            "excludes1": merge_note_headers([_clean(n) for n in lib.get_excludes1(code)]),
            "excludes2": merge_note_headers([_clean(n) for n in lib.get_excludes2(code)]),
            # These three come back as one newline-joined string, not a list.
            "code_first": _split_lines(lib.get_code_first(code)),
            "use_additional_code": _split_lines(lib.get_use_additional_code(code)),
            "code_also": _split_lines(lib.get_code_also(code)),
        }
        own = [
            TabularNote(kind=kind, text=text, origin=code)
            for kind, texts in lines.items()
            for text in texts
        ]
        self._own_notes[code] = own
        return own

    def _build(self, code: str) -> CodeInfo:
        lib = self._lib
        kind = _KIND_BY_LIBRARY_TYPE[library_type(lib, code)]
        # A same-named block (B99) shows up as the category's parent; skip it.
        ancestors = [a for a in lib.get_ancestors(code) if a != code]
        children = list(dict.fromkeys(c for c in lib.get_children(code) if c != code))
        # Inherit through the parent's cached entry, so each ancestor's notes are read once.
        parent = self.get(ancestors[0]) if ancestors else None
        own_notes = self._own_notes_of(code)
        notes = own_notes + (parent.notes if parent else [])
        by_kind: dict[NoteKind, list[str]] = {k: [] for k in _NOTE_KINDS}
        for note in own_notes:
            by_kind[note.kind].append(note.text)
        if parent is not None:
            for note_kind in _NOTE_KINDS:
                by_kind[note_kind].extend(getattr(parent, note_kind))
        # T81 and its block T80-T88 repeat some notes word for word; list each text once.
        by_kind = {k: list(dict.fromkeys(v)) for k, v in by_kind.items()}
        own_table = lib.get_seven_chr_def(code)
        if own_table:
            seventh = {k: _clean(v).replace("/ ", "; ") for k, v in own_table.items()}
            seventh_origin: str | None = code
        elif parent is not None:
            seventh, seventh_origin = parent.seventh_character, parent.seventh_character_origin
        else:
            seventh, seventh_origin = {}, None
        general = _split_lines(lib.get_notes(code)) + (parent.general_notes if parent else [])
        # Twelve blocks (C00-C96, M00-M25, ...) are empty headings in the library: not billable.
        billable = kind not in ("chapter", "block") and not children
        # Built from the library's own data, so skip pydantic validation on this hot path.
        return CodeInfo.model_construct(
            code=code,
            description=_clean(lib.get_description(code)),
            billable=billable,
            kind=kind,
            parent=ancestors[0] if ancestors else None,
            children=children,
            ancestors=ancestors,
            chapter=ancestors[-1] if ancestors else code,
            inclusion_terms=[_clean(t) for t in lib.get_inclusion_term(code)],
            includes=[_clean(t) for t in lib.get_includes(code)],
            excludes1=by_kind["excludes1"],
            excludes2=by_kind["excludes2"],
            code_first=by_kind["code_first"],
            use_additional_code=by_kind["use_additional_code"],
            code_also=by_kind["code_also"],
            notes=notes,
            general_notes=general,
            seventh_character=seventh,
            seventh_character_origin=seventh_origin,
            needs_seventh=bool(seventh) and kind != "extended",
        )


def default_cache_dir() -> Path:
    """`<data dir>/cache`, the data directory as the settings read it (`CODESENSE_DATA_DIR`)."""
    return Path(os.environ.get("CODESENSE_DATA_DIR") or ".codesense") / "cache"


def _split_lines(text: str) -> list[str]:
    lines = [_clean(line) for line in text.split("\n")]
    return [line.lstrip(", ") for line in lines if line]
