"""Sibling codes along one axis of a title (side, site, trimester ...): the word look-up that
skips most of a category's leaves finds exactly the siblings the full title comparison finds."""

from __future__ import annotations

from agent.guidelines import siblings
from tools.codeset import CodeSet
from tools.rules import rule_set
from tools.rules.schema import ChooseByWords


def _every_sibling(codes: CodeSet, code: str, axis: str) -> tuple[str, ...]:
    """Every leaf of the category compared by its whole key, as before the word look-up."""
    key = siblings._key(codes.title(code), axis)
    leaves = siblings._leaves(codes, code[:3])
    if siblings._encounter_seventh(codes, code):
        leaves = list(dict.fromkeys(siblings.without_seventh(c) for c in leaves))
    return tuple(c for c in leaves if c != code and siblings._key(codes.title(c), axis) == key)


def test_word_look_up_finds_the_same_siblings():
    codes = CodeSet.load()
    axes = [r.axis for r in rule_set().of_kind(ChooseByWords) if r.axis]
    assert axes
    sample = ["S72.001A", "S82.51XA", "S93.411A", "O24.410", "E11.9", "H81.09", "M17.11"]
    sample += ["T81.40XA", "I63.511", "H40.1131", "S52.501A", "L89.152", "C50.911"]
    checked = 0
    for axis in axes:
        for code in sample:
            siblings._sibling_codes.cache_clear()
            assert siblings._sibling_codes(codes, code, axis) == _every_sibling(codes, code, axis)
            checked += 1
    assert checked > 50
