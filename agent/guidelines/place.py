"""Place of occurrence (Y92) from the External Cause Index's "Place of occurrence" entries.

"Slipped on the kitchen floor" with "lives in a single-family home" reads Place of occurrence >
residence > house, single family > kitchen -> Y92.010; "stepped into a pothole in the grocery store
parking lot" reads parking garage > lot -> Y92.481, deeper than "grocery" (Y92.512). The deepest
Index entry all of whose terms the chart names wins (Section I.C.20.b: one place code, at the
initial encounter, with an external cause).
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.guidelines.work import Work
from agent.state import TextSpan
from tools.index_tables import load_index_entries
from tools.rules.schema import PlaceOfOccurrence
from tools.rules.text import EVENT_GUARD, find_text

_PLACE_TERM = "Place of occurrence"
_PLACES = ("Y92",)


@lru_cache(maxsize=1)
def place_entries() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(Index terms below "Place of occurrence", code) for every billable place entry."""
    out = []
    for entry in load_index_entries("eindex"):
        if entry.path[0].startswith(_PLACE_TERM) and len(entry.path) > 1 and entry.billable:
            out.append((tuple(entry.path[1:]), entry.code))
    return tuple(out)


def _term_pattern(term: str, words: dict[str, list[str]]) -> str:
    """The chart's words for one Index term: the rule's words, else the term's own readings
    ("interstate", "bus, station" -> bus / station), each a whole word, plural allowed."""
    readings = words.get(term)
    if readings is None:
        readings = [re.escape(p.strip()) for p in term.split(",") if p.strip()]
    return r"\b(?:" + "|".join(readings) + r")(?:e?s)?\b"


def _named(work: Work, rule: PlaceOfOccurrence, term: str) -> TextSpan | None:
    """Where the chart first names an Index term, in the rule's sections."""
    chart = work.request.chart
    if chart is None:
        return None
    pattern = _term_pattern(term, rule.words)
    matches = find_text(chart, pattern, rule.sections, guard=EVENT_GUARD)
    if not matches and term in rule.type_terms and rule.type_sections:
        # "Lives with her daughter in a single-family home": a statement of fact, read
        # without the guard (social history lines run "Never smoker" into it).
        matches = find_text(chart, pattern, rule.type_sections, guard=None)
    if not matches:
        return None
    return TextSpan(doc_id=matches[0].doc_id, start=matches[0].start, end=matches[0].end)


# A place word the chart puts after a preposition of place names where the event happened ("at
# the baseball field"); one used as a modifier names something else ("a high-school game").
_AT_PLACE = re.compile(
    r"\b(?:at|in|on|inside|outside|near|behind)\s+(?:(?:the|a|an|his|her|their|its|[\w-]+'s)\s+)?"
    r"(?:[\w-]+\s+){0,2}$",
    re.IGNORECASE,
)


def _said_as_place(work: Work, span: TextSpan) -> bool:
    chart = work.request.chart
    if chart is None:
        return False
    text = chart.document(span.doc_id).text
    return bool(_AT_PLACE.search(text[max(0, span.start - 40) : span.start]))


def _best_place(work: Work, rule: PlaceOfOccurrence) -> tuple[str, list[TextSpan]] | None:
    """The deepest entry all of whose terms are named; among equals, fewer "specified NEC"
    terms, then one the chart names after a preposition of place ("at the baseball field"
    over "a high-school game"), then the one whose last term the chart names first."""
    named: dict[str, TextSpan | None] = {}
    best: tuple[tuple[int, int, bool, int], str, list[TextSpan]] | None = None
    for terms, code in place_entries():
        if any(t in rule.never for t in terms):
            continue
        spans = []
        for term in terms:
            if term not in named:
                named[term] = _named(work, rule, term)
            span = named[term]
            if span is None:
                break
            spans.append(span)
        else:
            key = (
                len(terms),
                -sum("NEC" in t for t in terms),
                _said_as_place(work, spans[-1]),
                -spans[-1].start,
            )
            if best is None or key > best[0]:
                best = (key, code, spans)
    return None if best is None else (best[1], best[2])


def place_of_occurrence(work: Work) -> None:
    chart = work.request.chart
    if chart is None:
        return
    for rule in work.in_force(PlaceOfOccurrence)[:1]:
        if not work.coded(rule.when_coded):
            return
        if rule.encounters and work.encounter not in rule.encounters:
            return
        found = _best_place(work, rule)
        if found is None:
            return
        code, spans = found
        known = work.known(code)
        if known is None:
            return
        # One place code: the most specific reading replaces "at home" (Y92.009) and the like.
        for other in work.coded(list(_PLACES)):
            if other.code != known:
                work.remove(other)
        decision = work.add(known, f"place of occurrence -> {known} ({rule.title})", spans=spans)
        quotes = ", ".join(
            dict.fromkeys(f"'{chart.document(s.doc_id).text[s.start : s.end]}'" for s in spans)
        )
        work.note(decision, rule, f"{quotes} documented: {known}")
