"""The literal words a rule pattern cannot match without, so a chart that holds none of them is
not scanned at all.

Rule patterns are read case-insensitively over the whole chart, and nearly all of them match
nothing in a given chart ("\\b(?:apixaban|eliquis|rivaroxaban|...)\\b" in a fracture note): one
look for the words "apixaban", "eliquis" ... in the lower-cased text answers that without the
regex engine trying every position. The words come from the pattern's parse tree; a pattern
without such a word (every part optional, classes only) is always scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# The parser `re` itself compiles with (re._parser in Python 3.11; not a public module).
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import ahocorasick

_C: Any = _parser
# Past this many alternative strings a part is not worth spelling out.
_MAX_STRINGS = 64
# Single characters filter too little to be worth a look. Two-letter words do since all are
# found in one pass (`_WordSearch`): "wk" or "ga" keep a weeks-of-gestation pattern off most charts.
_MIN_WORD = 2
_REPEATS = (_C.MAX_REPEAT, _C.MIN_REPEAT, getattr(_C, "POSSESSIVE_REPEAT", _C.MAX_REPEAT))
_GROUPS = (_C.SUBPATTERN, getattr(_C, "ATOMIC_GROUP", _C.SUBPATTERN))
_ZERO_WIDTH = (_C.AT, _C.ASSERT, _C.ASSERT_NOT)

# The only non-ASCII characters `re.IGNORECASE` matches to ASCII letters ("ſ" to "s", the
# Kelvin sign to "k", dotted and dotless I to "i"); spelt in ASCII before lower-casing, so a
# word found by the regex is always found in the lowered text.
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def lowered(text: str) -> str:
    """`text` as `required_words` are looked for in it."""
    return text.translate(_ASCII_FOLD).lower()


# Required words found by an earlier process (`tools/rules/patterns.py` keeps them per pack).
_REMEMBERED: dict[str, frozenset[str] | None] = {}


# Patterns parsed in this process that no earlier one had answered, with their answers.
_PARSED: dict[str, frozenset[str] | None] = {}
# The engine builds patterns from Index terms (places, vehicles): a few thousand at most.
_MAX_KEPT = 20_000


def remember(words: dict[str, frozenset[str] | None]) -> None:
    """Take `required_words` answers an earlier process computed for these patterns."""
    _REMEMBERED.update(words)
    # Their words join the automaton with the first text, not pattern by pattern.
    _SEARCH.expect(w for w in words.values() if w is not None)


def parsed_here() -> dict[str, frozenset[str] | None]:
    """The answers this process parsed itself (for `tools/rules/patterns.py` to keep)."""
    return dict(_PARSED)


def required_words(pattern: str) -> frozenset[str] | None:
    """Lower-case ASCII strings of which every match of `pattern` (read case-insensitively)
    contains at least one, or None when no such set is known ("\\d+ weeks" gives {" weeks"},
    "\\b(?:eliquis|xarelto)\\b" {"eliquis", "xarelto"}, "(?:a|b)?\\d" None)."""
    if pattern in _REMEMBERED:
        return _REMEMBERED[pattern]
    words = _parsed_required_words(pattern)
    if len(_PARSED) < _MAX_KEPT:
        _PARSED[pattern] = words
    return words


@lru_cache(maxsize=2048)
def _parsed_required_words(pattern: str) -> frozenset[str] | None:
    try:
        tree = _parser.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    words = _required(list(tree))
    if words is None or min(len(w) for w in words) < _MIN_WORD:
        return None
    return frozenset(words)


def may_match(pattern: str, text_lowered: str) -> bool:
    """False only when `pattern` cannot match the text whose `lowered` form is given."""
    words = required_words(pattern)
    return words is None or _SEARCH.holds_any(text_lowered, words)


class _WordSearch:
    """Every required word met so far, looked for in a text in one pass (Aho-Corasick).

    A chart is checked for ~125 patterns of ~8 words each: one substring scan of the whole
    text per word was ~1 ms a chart, one automaton pass and a set look per pattern ~0.06 ms.
    Words not met before are looked for one by one and join the automaton when the next text
    comes, so it is rebuilt at most once a text, and only while new patterns still appear.
    """

    def __init__(self) -> None:
        # (words the automaton finds, the automaton, the words found per recent text); replaced
        # whole, so a reader never pairs a text's found words with another automaton's words.
        self._state: tuple[frozenset[str], Any, dict[str, frozenset[str]]] = (
            frozenset(),
            None,
            {},
        )
        self._waiting: set[str] = set()

    def holds_any(self, text: str, words: frozenset[str]) -> bool:
        known, automaton, found = self._state
        in_text = found.get(text)
        if in_text is None:
            if self._waiting:
                self._rebuild(known | self._waiting)
                known, automaton, found = self._state
            in_text = (
                frozenset(w for _, w in automaton.iter(text))
                if automaton is not None
                else frozenset()
            )
            if len(found) >= _TEXTS_KEPT:
                # Cleared whole, in one call: safe beside a thread reading it.
                found.clear()
            found[text] = in_text
        if words <= known:
            return not words.isdisjoint(in_text)
        self._waiting |= words
        return any(w in text for w in words)

    def expect(self, word_sets: Iterable[frozenset[str]]) -> None:
        """Words patterns about to be checked require: built in with the next text."""
        for words in word_sets:
            self._waiting |= words

    def _rebuild(self, words: frozenset[str]) -> None:
        automaton = ahocorasick.Automaton()
        for w in words:
            automaton.add_word(w, w)
        automaton.make_automaton()
        self._waiting = set()
        self._state = (words, automaton, {})


# Texts whose found words are kept: the documents of the chart being coded and their variants.
_TEXTS_KEPT = 8
_SEARCH = _WordSearch()


def _exact(item: tuple[Any, Any]) -> set[str] | None:
    """Every string `item` can match (lower-cased), when they are few and ASCII; else None."""
    op, av = item
    if op is _C.LITERAL:
        ch = chr(av)
        return {ch.lower()} if ch.isascii() else None
    if op in _ZERO_WIDTH:
        return {""}
    if op is _C.IN:
        if all(o is _C.LITERAL and chr(v).isascii() for o, v in av):
            return {chr(v).lower() for _, v in av}
        return None
    if op in _GROUPS:
        return _exact_seq(list(av[-1]))
    if op is _C.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            strings = _exact_seq(list(alt))
            if strings is None:
                return None
            out |= strings
        return out if len(out) <= _MAX_STRINGS else None
    if op in _REPEATS:
        lo, hi, inner = av
        strings = _exact_seq(list(inner))
        if strings is None or hi > 2:
            return None
        out = set()
        for times in range(lo, hi + 1):
            out |= _product([strings] * times)
        return out if len(out) <= _MAX_STRINGS else None
    return None


def _exact_seq(items: list[tuple[Any, Any]]) -> set[str] | None:
    parts = []
    for item in items:
        strings = _exact(item)
        if strings is None:
            return None
        parts.append(strings)
    out = _product(parts)
    return out if len(out) <= _MAX_STRINGS else None


def _product(parts: list[set[str]]) -> set[str]:
    out = {""}
    for strings in parts:
        out = {a + b for a in out for b in strings}
        if len(out) > _MAX_STRINGS:
            break
    return out


def _required(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Strings of which a match of the sequence `items` contains one; None when unknown.

    Consecutive parts with few exact strings join into runs ("oral contraceptive" + "s?");
    each run and each other part that requires something is one candidate; the candidate
    whose shortest string is longest wins."""
    candidates: list[set[str]] = []
    run: set[str] = {""}

    def close() -> None:
        nonlocal run
        if "" not in run:
            candidates.append(run)
        run = {""}

    for item in items:
        strings = _exact(item)
        if strings is not None:
            joined = _product([run, strings])
            if len(joined) <= _MAX_STRINGS:
                run = joined
                continue
            close()
            run = strings
            continue
        close()
        inner = _required_item(item)
        if inner is not None:
            candidates.append(inner)
    close()
    candidates = [c for c in candidates if "" not in c]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (min(len(w) for w in c), -len(c)))
    # A string holding another of the set adds nothing to "contains one of".
    return {w for w in best if not any(o != w and o in w for o in best)}


def _required_item(item: tuple[Any, Any]) -> set[str] | None:
    op, av = item
    if op in _GROUPS:
        return _required(list(av[-1]))
    if op is _C.BRANCH:
        out: set[str] = set()
        for alt in av[1]:
            words = _required(list(alt))
            if words is None:
                return None
            out |= words
        return out
    if op in _REPEATS and av[0] >= 1:
        return _required(list(av[2]))
    return None
