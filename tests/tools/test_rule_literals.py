"""The words a rule pattern cannot match without: a chart holding none of them is not scanned,
so they must be found wherever the regex matches, whatever the case and spelling."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tools.rules import rule_set
from tools.rules.literals import _WordSearch, lowered, may_match, required_words
from tools.rules.text import DEFAULT_GUARD

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"\b(?:apixaban|eliquis)\b", {"apixaban", "eliquis"}),
        (r"\bAICD\b", {"aicd"}),
        (r"\b(?:oral |OCP )?contraceptives?\b", {"contraceptive"}),
        (r"\d+\s*weeks? of gestation", {"week of gestation", "weeks of gestation"}),
        (r"[a-z]+itis", {"itis"}),
        (r"\bpacemaker\b(?!\s+placement)", {"pacemaker"}),
        (r"(?:insulin|metformin)+ (?:use)", {"insulin", "metformin"}),
        (r"\b(?:ER|PR)\s*\+", {"er", "pr"}),
        (r"\bno\b", {"no"}),
        (r"\d+\s*(?:w|wks?|weeks?)\s+(?:GA|gestation)", {"ga", "gestation"}),
        # Nothing every match must hold: always scanned.
        (r"\b(?:E|R)\s*\+", None),
        (r"(?:diabetes)?\d+", None),
        (r"[a-z]+", None),
        (r"unbalanced (", None),
    ],
)
def test_required_words(pattern, words):
    found = required_words(pattern)
    assert (set(found) if found is not None else None) == words


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _patterns() -> list[str]:
    """Every string of every shipped rule that compiles as a regex, and the default guard."""
    out = {DEFAULT_GUARD}
    for rule in rule_set().rules:
        for s in _strings(rule.model_dump()):
            try:
                re.compile(s)
            except re.error:
                continue
            out.add(s)
    return sorted(out)


TRICKY = [
    "PATIENT ON ELIQUIS 5 MG. Pacemaker in place. 34 WEEKS OF GESTATION.",
    # Characters re.IGNORECASE matches to ASCII letters: long s, Kelvin sign, dotted/dotless I.
    "On inſulin and metformin; \u212aeppra; \u0130NSUL\u0131N since 2019; hiſtory of ſmoking.",
    "Former smoker, quit 2010. Tdap given. Flu shot declined. Lives in a nursing home.",
]


def test_a_pattern_that_matches_always_has_its_words_in_the_text():
    texts = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.txt"))] + TRICKY
    patterns = _patterns()
    assert len(patterns) > 200
    checked = 0
    for pattern in patterns:
        regex = re.compile(pattern, re.IGNORECASE)
        for text in texts:
            if regex.search(text):
                checked += 1
                assert may_match(pattern, lowered(text)), pattern
    assert checked > 50


def test_folding_reaches_the_words_ignorecase_matches():
    text = "\u0130NSUL\u0131N and the \u212aelvin sign, hiſtory"
    for word in ("insulin", "kelvin", "history"):
        assert re.search(word, text, re.IGNORECASE)
        assert word in lowered(text)


def test_the_one_pass_word_search_answers_as_a_look_for_each_word():
    """Words met while a text is read join the automaton with the next text; texts read
    before and after, in any order, get the answer `w in text` gives."""
    texts = [lowered(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.txt"))]
    texts += [lowered(t) for t in TRICKY]
    word_sets = [w for w in map(required_words, _patterns()) if w is not None]
    search = _WordSearch()
    for text in texts + texts[::-1]:
        for words in word_sets:
            assert search.holds_any(text, words) == any(w in text for w in words), words
    every_word = frozenset().union(*word_sets)
    known = search._state[0]
    assert every_word <= known
    # Overlapping words and one inside another are each found.
    search = _WordSearch()
    for _ in range(2):
        for text, holds in (("x pacemakers y", True), ("other", False)):
            assert search.holds_any(text, frozenset({"pacemaker", "makers"})) is holds
            assert search.holds_any(text, frozenset({"maker", "zzz"})) is holds
            assert search.holds_any(text, frozenset({"acem"})) is holds
            assert not search.holds_any(text, frozenset({"pacemakerz"}))


def test_the_word_search_answers_alike_from_several_threads():
    """A server may read charts in several threads: more texts than are kept, words arriving
    meanwhile, and every answer still `w in text`'s."""
    import threading

    texts = [lowered(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.txt"))]
    texts += [lowered(t) for t in TRICKY] + [f"note {n}: pacemaker check {n}" for n in range(8)]
    word_sets = [w for w in map(required_words, _patterns()) if w is not None][:150]
    search = _WordSearch()
    wrong: list[frozenset[str]] = []

    def read(offset: int) -> None:
        for n in range(len(texts) * 3):
            text = texts[(n + offset) % len(texts)]
            for words in word_sets[offset::4]:
                if search.holds_any(text, words) != any(w in text for w in words):
                    wrong.append(words)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
