"""Code selectors and code templates, the two ways a rule pack names ICD-10-CM codes.

A selector names a set of codes: "E11" (a category and everything below it), "E11.9" (that code
and below), "E08-E13" (a range of categories), "N18.1-N18.4" (a range at any depth), "*" (any
code) or "tabular:manifestation" (codes the tabular list titles "in diseases classified
elsewhere", which may never be sequenced first). A template produces one code: "{1}.22" is the
category of the code that matched a rule's first group with ".22" appended (E11.9 -> E11.22);
"Z3A.{weeks}" takes a value read from the chart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

from core.codes import CODE_PATTERN, undot

_CODE = CODE_PATTERN
_SELECTOR = re.compile(
    rf"^(?:\*|tabular:manifestation|tabular:poisoning|tabular:adverse-effect|tabular:underdosing|"
    rf"{_CODE}(?:-{_CODE})?)$"
)
_TEMPLATE = re.compile(r"^[A-Z0-9.]*(?:\{[a-z0-9_]+\}[A-Z0-9.]*)+$|^" + _CODE + "$")
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")
ANY = "*"
MANIFESTATION = "tabular:manifestation"
# Chapter 19's drug and chemical codes by their 6th character (tabular T36-T50: 1-4 poisoning
# accidental, intentional, assault, undetermined; 5 adverse effect; 6 underdosing) and the toxic
# effects T51-T65 (poisonings of non-medicinal substances).
# Underdosing codes are never first-listed and take a noncompliance code (Section I.C.19.e.5.c).
POISONING = "tabular:poisoning"
ADVERSE_EFFECT = "tabular:adverse-effect"
UNDERDOSING = "tabular:underdosing"
_SPECIAL = (ANY, MANIFESTATION, POISONING, ADVERSE_EFFECT, UNDERDOSING)


def is_poisoning(code: str) -> bool:
    c = undot(code)
    if "T51" <= c[:3] <= "T65":
        return True
    return "T36" <= c[:3] <= "T50" and len(c) >= 6 and c[5] in "1234"


def is_adverse_effect(code: str) -> bool:
    c = undot(code)
    return "T36" <= c[:3] <= "T50" and len(c) >= 6 and c[5] == "5"


def is_underdosing(code: str) -> bool:
    c = undot(code)
    return "T36" <= c[:3] <= "T50" and len(c) >= 6 and c[5] == "6"


def _check_selector(value: str) -> str:
    value = value.strip()
    if not _SELECTOR.match(value):
        raise ValueError(
            f"{value!r} is not a code selector (write 'E11', 'E11.9', 'E08-E13', "
            f"'N18.1-N18.4', '*', '{MANIFESTATION}', '{POISONING}', '{ADVERSE_EFFECT}' or "
            f"'{UNDERDOSING}')"
        )
    return value


def _check_code(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(_CODE, value):
        raise ValueError(f"{value!r} is not an ICD-10-CM code (write it dotted: 'E11.22')")
    return value


def _check_template(value: str) -> str:
    value = value.strip()
    if not _TEMPLATE.match(value):
        raise ValueError(
            f"{value!r} is not a code template (a code such as 'E11.22', or one with "
            "placeholders such as '{1}.22' or 'Z3A.{weeks}')"
        )
    return value


Selector = Annotated[str, AfterValidator(_check_selector)]
Code = Annotated[str, AfterValidator(_check_code)]
CodeTemplate = Annotated[str, AfterValidator(_check_template)]


def template_fields(template: str) -> list[str]:
    """The placeholders a template uses: '{1}.22' -> ['1']."""
    return _PLACEHOLDER.findall(template)


def render(template: str, values: Mapping[str, str]) -> str | None:
    """Fill a template; None when a placeholder has no value (the rule cannot produce a code)."""
    missing = [f for f in template_fields(template) if not values.get(f)]
    if missing:
        return None
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


class CodeMatcher:
    """A compiled list of selectors. `is_manifestation` answers the tabular predicate."""

    def __init__(
        self,
        selectors: Iterable[str],
        is_manifestation: Callable[[str], bool] | None = None,
    ) -> None:
        self.selectors = list(selectors)
        self._any = ANY in self.selectors
        self._manifestation = MANIFESTATION in self.selectors
        self._poisoning = POISONING in self.selectors
        self._adverse = ADVERSE_EFFECT in self.selectors
        self._underdosing = UNDERDOSING in self.selectors
        self._is_manifestation = is_manifestation
        self._seen: dict[str, bool] = {}
        prefixes: list[str] = []
        self._ranges: list[tuple[str, str]] = []
        for s in self.selectors:
            if s in _SPECIAL:
                continue
            lo, _, hi = s.partition("-")
            if hi:
                self._ranges.append((undot(lo), undot(hi)))
            else:
                prefixes.append(undot(lo))
        # A tuple: `str.startswith` tries them all in one call (every new code of every chart
        # is asked of every rule's matcher).
        self._prefixes = tuple(prefixes)

    def __bool__(self) -> bool:
        return bool(self.selectors)

    def matches(self, code: str) -> bool:
        found = self._seen.get(code)
        if found is None:
            found = self._seen[code] = self._matches(code)
        return found

    def _matches(self, code: str) -> bool:
        if self._any:
            return True
        c = undot(code)
        if c.startswith(self._prefixes):
            return True
        for lo, hi in self._ranges:
            if lo <= c[: len(lo)] and c[: len(hi)] <= hi:
                return True
        if (
            (self._poisoning and is_poisoning(c))
            or (self._adverse and is_adverse_effect(c))
            or (self._underdosing and is_underdosing(c))
        ):
            return True
        if self._manifestation and self._is_manifestation is not None:
            return self._is_manifestation(code)
        return False


@lru_cache(maxsize=4096)
def shared_matcher(
    selectors: tuple[str, ...], is_manifestation: Callable[[str], bool] | None = None
) -> CodeMatcher:
    """One matcher per selector list and manifestation predicate (a code set's), shared by every
    chart: what it learnt about a code (its answer is a fact of the code set) serves the next
    chart too. Rule checks ask ~100 selector lists of every chart's codes."""
    return CodeMatcher(selectors, is_manifestation)


def selector_codes(selectors: Iterable[str]) -> list[str]:
    """The literal codes a selector list names (range ends included), for existence checks."""
    found: list[str] = []
    for s in selectors:
        if s in _SPECIAL:
            continue
        found.extend(part for part in s.split("-") if part)
    return found
