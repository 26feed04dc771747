"""Axes that a category's code titles name: two codes whose titles differ only in "with" /
"without" a word (E11.3211 / E11.3291, "macular"; G43.119 / G43.019, "aura")."""

from __future__ import annotations

from functools import lru_cache

from core.errors import CodeSenseError
from tools.codeset import CodeSet


@lru_cache(maxsize=2048)
def with_without_axis(code: str, word: str) -> bool:
    """The code's category has two codes whose titles differ only in "with" / "without"
    `word` (E11.3211 / E11.3291 for "macular"; G43.119 / G43.019 for "aura")."""
    codes = CodeSet.load()
    titles = {c: codes.title(c).lower().split() for c in _leaves(codes, code[:3])}
    withs = {
        tuple(t[:k]) + tuple(t[k + 1 :])
        for t in titles.values()
        for k in range(len(t) - 1)
        if t[k] == "with" and t[k + 1].strip(",") == word
    }
    return any(
        tuple(t[:k]) + tuple(t[k + 1 :]) in withs
        for t in titles.values()
        for k in range(len(t) - 1)
        if t[k] == "without" and t[k + 1].strip(",") == word
    )


def _leaves(codes: CodeSet, category: str) -> list[str]:
    try:
        return codes.leaves_under(category)
    except CodeSenseError:
        return []
