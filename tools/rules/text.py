"""Finding a rule's pattern in chart text, and the chart facts rules read (encounter, weeks of
gestation, trimester, age, sex, handedness).

Only visible text counts, never a family-history, allergy or instruction section, and a match
whose sentence says "no", "denies", "stopped", "if", "mother" ... before it is dropped:
"insulin" in "no longer on insulin" adds no Z79.4, "s/p CABG" in "father s/p CABG" no Z95.1.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from pydantic import BaseModel, Field

from tools.chart import Chart, Document
from tools.rulefiles import RULES_DIR, load_yaml_model
from tools.rules.literals import lowered, may_match
from tools.rules.load import RuleSet
from tools.rules.patterns import compiled
from tools.rules.schema import ChartFact


class PatternGuard(BaseModel):
    """rules/context.yaml `pattern_guard`: the negation, family, uncertainty and stop cues that
    cancel a rule pattern's match (the ConText rules' cues, for text read without ConText)."""

    before: list[str] = Field(min_length=1)
    after: list[str] = Field(min_length=1)
    never_sections: list[str] = Field(default_factory=list)


class _ContextFile(BaseModel):
    pattern_guard: PatternGuard


def _alternation(words: list[str]) -> str:
    # Regular-expression fragments are allowed ("d/c'?d"); plain words are escaped.
    return "|".join(w if "?" in w else re.escape(w).replace(r"\ ", " ") for w in words)


_GUARD = load_yaml_model(RULES_DIR / "context.yaml", _ContextFile).pattern_guard
# Sections whose text is never the patient's own current condition.
NEVER_SECTIONS = frozenset(_GUARD.never_sections)
# Cues that, earlier in the same sentence, cancel a pattern match.
# A cue word joined by a hyphen to the next word is part of a compound ("off-leash dog",
# "off-duty"), not a cue.
DEFAULT_GUARD = rf"\b(?:{_alternation(_GUARD.before)})\b(?!-\w)"
# The same cues without the ones about a drug or an order ("stopped", "held", "off",
# "allergic"), for an event read from the text, such as the place or vehicle of an injury:
# "rear-ended while stopped in traffic" happened.
_DRUG_CUES = frozenset(
    {"stopped", "discontinued", "discontinue", "held", "hold", "off", "allergic", "allergy"}
)
EVENT_GUARD = rf"\b(?:{_alternation([w for w in _GUARD.before if w not in _DRUG_CUES])})\b(?!-\w)"
# Cues right after a match, in its sentence, that cancel it: "metformin discontinued".
AFTER_GUARD = re.compile(
    rf"^[^.;\n]{{0,25}}?\b(?:{_alternation(_GUARD.after)})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TextMatch:
    doc_id: str
    start: int
    end: int
    section: str
    sentence_start: int
    sentence_end: int
    groups: dict[str, str] = field(default_factory=dict)


class ChartFacts(BaseModel):
    """What the chart says about the encounter and the patient, as rules read it."""

    encounter: str | None = None
    gestation_weeks: int | None = None
    trimester: int | None = None
    # primigravida or multigravida: the high-risk supervision codes split on it (O09.51-, O09.52-).
    gravidity: str | None = None
    age: int | None = None
    sex: str | None = None
    # left, right or ambidextrous, wherever the chart says it (Section I.C.6.a dominance).
    handedness: str | None = None
    # left, right or bilateral: the side a diagnostic report's exam title names ("MRI LEFT
    # KNEE"), the side of what it finds when a finding's own clause names none.
    exam_side: str | None = None
    # kept or lost: whether the patient lost consciousness with a head injury, wherever the
    # chart says it ("denies loss of consciousness" in the history of a CT head report).
    consciousness: str | None = None
    sources: dict[str, str] = {}

    def values(self) -> dict[str, str]:
        """Template values: {weeks}, {trimester} ..."""
        out: dict[str, str] = {}
        if self.gestation_weeks is not None:
            out["weeks"] = f"{self.gestation_weeks:02d}"
        if self.trimester is not None:
            out["trimester"] = str(self.trimester)
        if self.gravidity is not None:
            out["gravidity"] = "1" if self.gravidity == "primigravida" else "2"
        if self.encounter:
            out["encounter"] = self.encounter
        return out


@lru_cache(maxsize=8)
def _lowered(text: str) -> str:
    # One lowered copy per document, for the ~100 patterns each chart is searched for.
    return lowered(text)


def _sentence_bounds(doc: Document, offset: int) -> tuple[int, int]:
    sentence = doc.sentence_at(offset)
    if sentence is not None:
        return sentence.start, sentence.end
    start = doc.text.rfind("\n", 0, offset) + 1
    end = doc.text.find("\n", offset)
    return start, len(doc.text) if end < 0 else end


def find_text(
    chart: Chart,
    pattern: str,
    sections: Collection[str] = (),
    guard: str | None = DEFAULT_GUARD,
    within: list[tuple[str, int, int]] | None = None,
    after: str | None = None,
) -> list[TextMatch]:
    """Every visible match of `pattern` (case-insensitive) in the allowed sections, without a
    cancelling cue before it in its sentence (nor `after` it, when given). `within` limits the
    search to (doc_id, start, end) ranges, such as the sentences of a diagnosis."""
    found: list[TextMatch] = []
    for doc in chart.documents:
        ranges = [(s, e) for d, s, e in within if d == doc.doc_id] if within is not None else None
        if ranges is not None and not ranges:
            continue
        if not may_match(pattern, _lowered(doc.text)):
            continue
        # Compiled only for a chart that may hold a match: most patterns never are.
        cue = compiled(guard) if guard else None
        cue_after = compiled(after) if after else None
        for m in compiled(pattern).finditer(doc.text):
            start, end = m.span()
            if start == end:
                continue
            if ranges is not None and not any(s <= start and end <= e for s, e in ranges):
                continue
            section = doc.section_at(start)
            if section in NEVER_SECTIONS or (sections and section not in sections):
                continue
            if not doc.is_visible(start, end):
                continue
            s0, s1 = _sentence_bounds(doc, start)
            if cue is not None and (
                cue.search(doc.text[s0:start])
                or (guard == DEFAULT_GUARD and AFTER_GUARD.search(doc.text[end:s1]))
            ):
                continue
            if cue_after is not None and cue_after.search(doc.text[end:s1]):
                continue
            groups = {k: v for k, v in m.groupdict().items() if v}
            found.append(TextMatch(doc.doc_id, start, end, section, s0, max(s1, end), groups))
    return found


def sentence_ranges(chart: Chart, spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The sentences holding each span, as (doc_id, start, end)."""
    out = []
    for doc_id, start, end in spans:
        doc = chart.document(doc_id)
        s0, s1 = _sentence_bounds(doc, start)
        out.append((doc_id, s0, max(s1, end)))
    return out


def chart_facts(chart: Chart | None, rules: RuleSet, setting: str, on: date) -> ChartFacts:
    """Apply the chart-fact rules in order; the first match for each fact wins."""
    facts = ChartFacts()
    if chart is None:
        return facts
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for rule in rules.of_kind(ChartFact, setting, on):
        if rule.fact in values:
            continue
        matches = find_text(chart, rule.pattern, guard=None)
        if not matches:
            continue
        value = rule.value or matches[0].groups.get("value")
        if value:
            values[rule.fact] = value.lower()
            sources[rule.fact] = rule.id
    facts.sources = sources
    facts.encounter = values.get("encounter")
    facts.sex = values.get("sex")
    facts.handedness = values.get("handedness")
    facts.exam_side = values.get("exam_side")
    facts.gravidity = values.get("gravidity")
    facts.consciousness = values.get("consciousness")
    if values.get("age", "").isdigit():
        facts.age = int(values["age"])
    if values.get("gestation_weeks", "").isdigit():
        facts.gestation_weeks = int(values["gestation_weeks"])
    trimester = values.get("trimester")
    if trimester and trimester[0] in "123":
        facts.trimester = int(trimester[0])
    elif facts.gestation_weeks is not None:
        # Section I.C.15.a.3: first trimester < 14 weeks 0 days, second 14 to < 28, third 28+.
        weeks = facts.gestation_weeks
        facts.trimester = 1 if weeks < 14 else 2 if weeks < 28 else 3
    return facts
