"""Turning chart text and code titles into the same comparable words, keeping chart offsets.

Both sides of a lookup go through here, so "HTN", "hypertensive" and "Hypertension" meet as one
word, "type II diabetic" meets "Type 2 diabetes mellitus", and "renal cysts" meets "cyst of kidney".
Every normalised word remembers the chart characters it came from, so evidence stays exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from tools.folding import fold
from tools.rulefiles import RULES_DIR, load_yaml_model
from tools.rules.codes import Selector

LEXICON_FILE = RULES_DIR / "lexicon.yaml"

_WORD = re.compile(r"[A-Za-z0-9]+(?:[/-][A-Za-z0-9]+)*")
_ALNUM = re.compile(r"[A-Za-z0-9]+")


class Abbreviation(BaseModel):
    abbr: str = Field(min_length=1)
    expansion: str = Field(min_length=1)
    # Read only when written exactly so: "AIDS" is the disease, "hearing aids" are devices.
    exact: bool = False


class Synonym(BaseModel):
    canonical: str = Field(min_length=1)
    words: list[str] = Field(min_length=1)


class LexiconTerm(BaseModel):
    term: str = Field(min_length=1)
    code: str = Field(min_length=3)


class VagueNeoplasm(BaseModel):
    codes: list[str] = Field(min_length=1)
    refers_to: list[Selector] = Field(min_length=1)


class Lexicon(BaseModel):
    version: int
    abbreviations: list[Abbreviation] = Field(default_factory=list)
    synonyms: list[Synonym] = Field(default_factory=list)
    terms: list[LexiconTerm] = Field(default_factory=list)
    stopwords: list[str] = Field(min_length=1)
    generic: list[str] = Field(min_length=1)
    not_plural: list[str] = Field(default_factory=list)
    vague_neoplasms: list[VagueNeoplasm] = Field(default_factory=list)
    neoplasm_columns: list[list[Selector]] = Field(default_factory=list)
    sequela_cues: list[str] = Field(default_factory=list)


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    return load_yaml_model(path, Lexicon)


_WORDS = load_lexicon()
# Words that carry no meaning for matching a diagnosis (rules/lexicon.yaml `stopwords`).
STOPWORDS = frozenset(_WORDS.stopwords)

# Words too general to name a diagnosis on their own (`generic`: "disease", "left").
GENERIC = frozenset(_WORDS.generic)


@dataclass(frozen=True, slots=True)
class Word:
    """A normalised word and the chart characters [start, end) it stands for."""

    norm: str
    start: int
    end: int


# Words that end in "s" without being plurals (`not_plural`).
_SINGULAR_S = frozenset(_WORDS.not_plural)


def stem(word: str) -> str:
    """A light, predictable singular form: 'cysts' -> 'cyst', 'arteries' -> 'artery'."""
    if len(word) <= 3 or not word.isalpha() or word in _SINGULAR_S:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    # 'headaches', 'backaches': an ache keeps its e ('branches' -> 'branch' below).
    if word.endswith("aches"):
        return word[:-1]
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "os", "as", "ys")):
        return word[:-1]
    # Greek and Latin plurals in -as: 'edemas', 'hematomas', 'paresthesias', 'fistulas'
    # ('pancreas', 'bias' and 'alias' keep their s).
    if len(word) > 5 and word.endswith(("mas", "ias", "ulas")):
        return word[:-1]
    return word


class Normalizer:
    """Applies the lexicon's abbreviations and synonyms, then stems each word."""

    def __init__(self, lexicon: Lexicon):
        # The normalised words of texts read lately, by text (`norms`).
        self._recent: dict[str, tuple[str, ...]] = {}
        # Keys are tuples of lower-cased raw words; values are replacement words (stemmed).
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._case_sensitive: dict[tuple[str, ...], str] = {}
        for syn in lexicon.synonyms:
            canonical = self._plain(syn.canonical)
            for w in syn.words:
                self._phrases[self._raw(w)] = canonical
        self._index_sizes()
        # An expansion reads through the synonyms too: "COPD" is "chronic obstructive pulmonary
        # disease", which the titles' side reads with "lung" for "pulmonary".
        expansions = {
            self._raw(ab.abbr): tuple(w.norm for w in self.words(ab.expansion))
            for ab in lexicon.abbreviations
        }
        for ab in lexicon.abbreviations:
            key = self._raw(ab.abbr)
            self._phrases[key] = expansions[key]
            # Two-letter abbreviations ("PE", "MI", "HA") collide with ordinary words, so they only
            # count when written exactly as the lexicon spells them.
            if ab.exact or len(ab.abbr.replace("/", "").replace("-", "")) <= 2:
                self._case_sensitive[key] = ab.abbr
        self._index_sizes()

    def _index_sizes(self) -> None:
        # Phrase lengths by first word, longest first: most words start no phrase at all.
        by_first: dict[str, set[int]] = {}
        for k in self._phrases:
            by_first.setdefault(k[0], set()).add(len(k))
        self._sizes = {w: sorted(sizes, reverse=True) for w, sizes in by_first.items()}

    @staticmethod
    def _raw(text: str) -> tuple[str, ...]:
        parts: list[str] = []
        for m in _WORD.finditer(text):
            token = m.group()
            parts.extend([token] if _keeps_whole(token) else re.findall(r"[A-Za-z0-9]+", token))
        return tuple(p.lower() for p in parts)

    def _plain(self, text: str) -> tuple[str, ...]:
        return tuple(stem(w) for w in self._raw(text))

    def words(self, text: str, offset: int = 0) -> list[Word]:
        """Normalised words of `text` (stopwords kept), offsets shifted by `offset`.

        Words are read on the folded text (`tools.folding`: zero-width characters and soft
        hyphens out, full-width and look-alike letters read as Latin) and point back at the
        original characters, so "dia\u200bbetes" is the word "diabetes" quoted as written.
        """
        folded = fold(text)
        reading = folded.text
        # (lower-cased word, original start, original end, folded start, folded end)
        raw: list[tuple[str, int, int, int, int]] = []

        def add(word: str, fs: int, fe: int) -> None:
            os_, oe = folded.span(fs, fe)
            raw.append((word.lower(), os_ + offset, oe + offset, fs, fe))

        for m in _WORD.finditer(reading):
            token = m.group()
            # A token without "/" or "-" is one run of letters and digits: one word.
            if ("/" not in token and "-" not in token) or _keeps_whole(token):
                add(token, m.start(), m.end())
                continue
            for part in _ALNUM.finditer(token):
                s = m.start() + part.start()
                add(part.group(), s, s + len(part.group()))
        out: list[Word] = []
        i = 0
        n = len(raw)
        while i < n:
            replaced = False
            for size in self._sizes.get(raw[i][0], ()):
                if i + size > n:
                    continue
                key = tuple(r[0] for r in raw[i : i + size])
                repl = self._phrases.get(key)
                if repl is None:
                    continue
                exact = self._case_sensitive.get(key)
                if exact is not None:
                    surface = reading[raw[i][3] : raw[i + size - 1][4]]
                    if surface != exact:
                        continue
                start, end = raw[i][1], raw[i + size - 1][2]
                out.extend(Word(w, start, end) for w in repl)
                i += size
                replaced = True
                break
            if not replaced:
                low, start, end, _, _ = raw[i]
                out.append(Word(_stem_cached(low), start, end))
                i += 1
        bound = _bind_grades(out)
        if len(self._recent) >= _RECENT_TEXTS:
            self._recent.clear()
        self._recent[text] = tuple(w.norm for w in bound)
        return bound

    def norms(self, text: str) -> tuple[str, ...]:
        """The normalised words of `text` (`words` without their places). A text `words` read
        lately is not read again: the reranker asks for each mention's sentence, which
        `find_mentions` has just read."""
        found = self._recent.get(text)
        return found if found is not None else tuple(w.norm for w in self.words(text))

    def key_words(self, text: str) -> tuple[str, ...]:
        """Ordered, de-duplicated content words of a term: what a match must find."""
        seen: dict[str, None] = {}
        for w in self.words(text):
            if w.norm not in STOPWORDS:
                seen.setdefault(w.norm, None)
        return tuple(seen)


# How many texts' words `norms` remembers (a chart's sentences, and then some).
_RECENT_TEXTS = 4096

_GRADE = re.compile(r"^(?:\d{1,2}[a-z]?|[a-e])$")
_GRADED = frozenset({"type", "stage", "grade", "class", "degree", "hepatitis", "vitamin"})


def _bind_grades(words: list[Word]) -> list[Word]:
    """'type 2', 'stage 3a', 'grade 1' become one word each.

    Otherwise the "1" of a numbered list item ("1. Type 2 diabetes ...") completes "type 1", and
    "2. CKD stage 3a" reads as stage 2.
    """
    out: list[Word] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if w.norm in _GRADED and nxt is not None and _GRADE.match(nxt.norm):
            out.append(Word(f"{w.norm} {nxt.norm}", w.start, nxt.end))
            i += 2
            continue
        out.append(w)
        i += 1
    return out


@lru_cache(maxsize=65536)
def _stem_cached(word: str) -> str:
    return stem(word)


def _keeps_whole(token: str) -> bool:
    """'s/p', 'A-fib' and 'N/V' are one abbreviation; 'gastro-esophageal' is two words."""
    return ("/" in token or "-" in token) and len(token) <= 6


@lru_cache(maxsize=1)
def default_normalizer() -> Normalizer:
    return Normalizer(load_lexicon())
