"""Transport accidents (V00-V99) from the External Cause Index's "Accident, transport" entries.

"Restrained front-seat passenger in a sedan that was rear-ended by a pickup truck" reads
Accident > transport > car occupant > passenger > collision > pickup truck -> V43.63 with the
encounter's 7th character (V43.63XA); "driver of a motorcycle who collided with a sedan" reads
motorcycle > driver > collision > car -> V23.49XA. Traffic is the Index's default; "nontraffic"
is read only when the chart says so (a parking lot, a driveway). The deepest Index entry all of
whose terms the chart names wins (Section I.C.20: the external cause of an injury, with the
injury's 7th character), and it replaces transport codes read from bare words ("motorcycle
crash" alone is no collision partner).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from agent.guidelines.drugs import SEVENTH
from agent.guidelines.work import Work
from agent.state import TextSpan
from core.errors import CodeSenseError
from tools.index_tables import load_index_entries
from tools.rules.schema import TransportAccident
from tools.rules.text import EVENT_GUARD, TextMatch, compiled, find_text

_PATH = ("Accident", "transport")
_COLLISION = "collision"
# A place word ("pulling out of a driveway") does not make nontraffic what the chart calls a
# traffic collision in so many words.
_OVERRIDDEN = {"nontraffic": "traffic stated"}


@lru_cache(maxsize=1)
def transport_entries() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(Index terms below "Accident > transport", code without its 7th character)."""
    out = []
    for entry in load_index_entries("eindex"):
        path = entry.path
        if len(path) > 2 and tuple(path[:2]) == _PATH and entry.valid and entry.code[:1] == "V":
            out.append((tuple(path[2:]), entry.code))
    return tuple(out)


def _vehicle_words(rule: TransportAccident, term: str) -> str:
    """A vehicle term's chart words as one alternation (the term as written when the rule
    gives none: "pickup truck", "van")."""
    words = rule.vehicles.get(term) or [re.escape(term)]
    return "(?:" + "|".join(words) + ")"


def _first(chart_matches: list[TextMatch]) -> TextMatch | None:
    return min(chart_matches, key=lambda m: (m.doc_id, m.start)) if chart_matches else None


class _Reading:
    """What the chart says about one transport accident: the victim's vehicle and role, the
    collision partner, the other terms' words, each with where it is said."""

    def __init__(self, work: Work, rule: TransportAccident) -> None:
        self.work = work
        self.rule = rule
        chart = work.request.chart
        assert chart is not None
        self.chart = chart
        self.occupant: str | None = None
        self.occupant_matches: list[TextMatch] = []
        self.role: str | None = None
        self.partner: str | None = None
        self.partner_matches: list[TextMatch] = []
        self._words: dict[str, list[TextMatch]] = {}

    def _find(self, pattern: str) -> list[TextMatch]:
        return find_text(self.chart, pattern, self.rule.sections, guard=EVENT_GUARD)

    def _earliest(
        self, terms: set[str], patterns_of: Callable[[str], list[str]]
    ) -> tuple[str, list[TextMatch]] | None:
        """The term whose chart words come first, with all their matches (on equal footing,
        the longer term: "driver of a pickup truck" is a pickup truck occupant, not a truck
        occupant). A term with no patterns is not read."""
        best: tuple[tuple[str, int, int], str, list[TextMatch]] | None = None
        for term in sorted(terms):
            matches = [m for p in patterns_of(term) for m in self._find(p)]
            first = _first(matches)
            if first is None:
                continue
            key = (first.doc_id, first.start, -len(term))
            if best is None or key < best[0]:
                best = (key, term, matches)
        return None if best is None else (best[1], best[2])

    def _occupant_patterns(self, term: str) -> list[str]:
        if term in self.rule.never:
            return []
        patterns = [f"\\b(?:{w})\\b" for w in self.rule.alone.get(term, [])]
        vehicle = term if term in self.rule.vehicles else term.removesuffix(" occupant")
        patterns.append(self.rule.occupant.replace("{vehicle}", _vehicle_words(self.rule, vehicle)))
        return patterns

    def _partner_patterns(self, term: str) -> list[str]:
        if term in self.rule.never or "NEC" in term or "NOS" in term:
            return []
        return [self.rule.partner.replace("{vehicle}", _vehicle_words(self.rule, term))]

    def read_occupant(self, terms: set[str]) -> None:
        """The occupant term the chart names first, and the victim's role in what says it."""
        found = self._earliest(terms, self._occupant_patterns)
        if found is None:
            return
        self.occupant, self.occupant_matches = found
        said = " ".join(
            self.chart.document(m.doc_id).text[m.start : m.end] for m in self.occupant_matches
        )
        for role, cue in self.rule.roles.items():
            if compiled(cue).search(said):
                self.role = role
                break

    def read_partner(self, terms: set[str]) -> None:
        """The collision partner the chart names first."""
        found = self._earliest(terms, self._partner_patterns)
        if found is not None:
            self.partner, self.partner_matches = found

    def words(self, term: str) -> list[TextMatch]:
        if term not in self._words:
            cue = self.rule.words.get(term)
            self._words[term] = self._find(cue) if cue and term not in self.rule.never else []
        return self._words[term]

    def names(self, path: tuple[str, ...]) -> list[TextMatch] | None:
        """The matches that name every term of an entry below the occupant, or None."""
        spans: list[TextMatch] = list(self.occupant_matches)
        after_collision = False
        for term in path[1:]:
            if after_collision:
                if term != self.partner:
                    return None
                spans += self.partner_matches
                after_collision = False
            elif term == _COLLISION:
                if self.partner is None:
                    return None
                after_collision = True
            elif term in self.rule.roles:
                if term != self.role:
                    return None
            else:
                found = self.words(term)
                if not found or (term in _OVERRIDDEN and self.words(_OVERRIDDEN[term])):
                    return None
                spans += found[:1]
        return spans


def _best_entry(reading: _Reading) -> tuple[str, list[TextMatch]] | None:
    entries = [(p, c) for p, c in transport_entries() if p[0] == reading.occupant]
    reading.read_partner(
        {p[i + 1] for p, _ in entries for i, t in enumerate(p[:-1]) if t == _COLLISION}
    )
    best: tuple[int, str, list[TextMatch]] | None = None
    for path, code in entries:
        if len(path) < 2:
            # "Car occupant" alone says nothing the chart's vehicle does not.
            continue
        spans = reading.names(path)
        if spans is not None and (best is None or len(path) > best[0]):
            best = (len(path), code, spans)
    return None if best is None else (best[1], best[2])


def transport_accidents(work: Work) -> None:
    chart = work.request.chart
    if chart is None:
        return
    for rule in work.in_force(TransportAccident)[:1]:
        if not work.coded(rule.when_coded):
            return
        reading = _Reading(work, rule)
        reading.read_occupant({p[0] for p, _ in transport_entries()})
        if reading.occupant is None:
            return
        found = _best_entry(reading)
        if found is None:
            return
        stem, matches = found
        try:
            code = work.codes.with_seventh(stem, SEVENTH.get(work.encounter or "initial", "A"))
        except CodeSenseError:
            return
        known = work.known(code)
        if known is None:
            return
        for other in work.coded(rule.replaces):
            if other.code != known:
                work.remove(other)
        where = dict.fromkeys((m.doc_id, m.start, m.end) for m in matches)
        spans = [TextSpan(doc_id=d, start=s, end=e) for d, s, e in where]
        decision = work.add(known, f"transport accident -> {known} ({rule.title})", spans=spans)
        said = ", ".join(
            dict.fromkeys(f"'{chart.document(s.doc_id).text[s.start : s.end]}'" for s in spans)
        )
        work.note(decision, rule, f"{said} documented: {known}")
