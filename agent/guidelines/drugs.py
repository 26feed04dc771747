"""Poisoning, adverse effect and underdosing (T36-T50) read through the Table of Drugs and Chemicals.

"Gout flare due to hydrochlorothiazide (adverse effect, taken as prescribed)" reads the row
Hydrochlorothiazide in the "Adverse effect" column -> T50.2X5 with the encounter's 7th character;
"accidental clonidine poisoning" reads the "Poisoning, Accidental (unintentional)" column ->
T46.5X1A; "underdosing of insulin" reads the "Underdosing" column -> T38.3X6A (Section I.C.19.e).
A drug named in a statement without a cue for one of the three is not coded.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.guidelines.work import Work
from agent.state import TextSpan
from tools.index_tables import load_index_entries
from tools.rules.literals import lowered, may_match
from tools.rules.schema import DrugEffect
from tools.rules.text import compiled, find_text

SEVENTH = {"initial": "A", "subsequent": "D", "sequela": "S"}


@lru_cache(maxsize=1)
def drug_rows() -> dict[str, dict[str, str]]:
    """Table row ("Hydrochlorothiazide", "Antidepressant > selective serotonin reuptake
    inhibitor") -> column -> six-character code."""
    rows: dict[str, dict[str, str]] = {}
    for entry in load_index_entries("drug"):
        if entry.column and entry.valid:
            rows.setdefault(" > ".join(entry.path), {})[entry.column] = entry.code
    return rows


# Word starts, as the pattern's \b saw them: letters and digits, not hyphens.
_WORD = re.compile(r"(?<![a-z0-9_])[a-z][a-z0-9]*")


@lru_cache(maxsize=8)
def _name_table(
    extra: tuple[tuple[str, tuple[str, ...]], ...], never: frozenset[str]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The drug names a chart may write, by their first word (lower case, longest first), and
    each name's Table row: every main-term row as written (5 letters or more, not a common
    word the rule names) and the rule's words for rows the Table lists another way. A word
    table, not one pattern of thousands of alternatives (compiling that took 2.6 s a process,
    and running it over every chart most of a chart's time)."""
    rows: dict[str, str] = {}
    for key in drug_rows():
        if (
            " > " in key
            or key.lower() in never
            or len(key) < 5
            or not re.fullmatch(r"[A-Za-z][\w -]+", key)
        ):
            continue
        rows.setdefault(key.lower(), key)
    for row, words in extra:
        for word in words:
            rows[word.lower()] = row
    first: dict[str, list[str]] = {}
    for name in rows:
        head = _WORD.match(name)
        if head is not None:
            first.setdefault(head.group(), []).append(name)
    for names in first.values():
        names.sort(key=len, reverse=True)
    return first, rows


def _names_in(line: str, first: dict[str, list[str]]) -> set[str]:
    """The drug names `line` writes as whole words (a plural "s" allowed): at each word, the
    longest name starting there ("HCTZ-induced" names HCTZ)."""
    found: set[str] = set()
    lower = line.lower()
    for w in _WORD.finditer(lower):
        word = w.group()
        for name in first.get(word) or first.get(word.removesuffix("s")) or ():
            if not lower.startswith(name, w.start()):
                continue
            rest = lower[w.start() + len(name) :]
            if rest.startswith("s"):
                rest = rest[1:]
            if not rest[:1].isalnum() and not rest.startswith("_"):
                found.add(name)
                break
    return found


def _column(rule: DrugEffect, sentence: str) -> str | None:
    """The table column the statement's words choose, in the rule's order."""
    for column, cue in rule.columns.items():
        if compiled(cue).search(sentence):
            return column
    return None


def _cause(rule: DrugEffect, text: str, start: int) -> str | None:
    """A drug named as the cause ("gastric ulcer with hemorrhage due to ibuprofen") of the
    condition, with no word of poisoning or underdosing, is an adverse effect of a drug
    properly taken (I.C.19.e.5.a), read in the rule's `cause_column`."""
    if rule.cause_before is None or rule.cause_column is None:
        return None
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    # The cause's words end where the name begins.
    return rule.cause_column if compiled(f"(?i:{rule.cause_before})$").search(before) else None


def drug_effects(work: Work) -> None:
    chart = work.request.chart
    if chart is None:
        return
    for rule in work.in_force(DrugEffect)[:1]:
        seventh = SEVENTH.get(work.encounter or "initial", "A")
        # Only lines with a cue for a column can hold a statement to code: the names are
        # looked for there, then found (with sections, visibility and guards) as usual. The
        # Table is read only for a chart with such a line (loading it is ~0.1 s of a start).
        # A document without a cue's required words (`tools.rules.literals`) has no line with
        # that cue, so its lines are searched only for the cues it may hold.
        cue_lines: list[str] = []
        for doc in chart.documents:
            low = lowered(doc.text)
            cues = [compiled(c) for c in rule.columns.values() if may_match(c, low)]
            if rule.cause_before is not None and may_match(rule.cause_before, low):
                cues.append(compiled(rule.cause_before))
            if cues:
                cue_lines.extend(
                    line for line in doc.text.splitlines() if any(c.search(line) for c in cues)
                )
        if not cue_lines:
            continue
        extra = tuple((row, tuple(words)) for row, words in rule.words.items())
        first, row_of = _name_table(extra, frozenset(t.lower() for t in rule.never))
        rows = drug_rows()
        names: set[str] = set()
        for line in cue_lines:
            names |= _names_in(line, first)
        if not names:
            continue
        pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        added: list[str] = []
        sections = [*rule.sections, *rule.narrative_sections]
        for match in find_text(chart, rf"\b(?:{pattern})(?:s)?\b", sections):
            text = chart.document(match.doc_id).text
            sentence = _statement(text, match.start, match.end)
            if match.section not in rule.sections:
                # "admitted after running out of furosemide": the narrative says an
                # underdosing the diagnosis list may leave out; nothing else is read there.
                column = _column(rule, sentence)
                if column not in rule.narrative_columns:
                    continue
            else:
                column = _column(rule, sentence) or _cause(rule, text, match.start)
            if column is None:
                continue
            said = text[match.start : match.end].lower()
            key = row_of.get(said) or row_of.get(said.removesuffix("s"))
            if key is None:
                continue
            row = rows.get(key, {})
            code = row.get(column)
            if code is None:
                continue
            known = work.known(
                code.replace(".", "")[:3] + "." + code.replace(".", "")[3:] + seventh
            )
            if known is None:
                continue
            span = TextSpan(doc_id=match.doc_id, start=match.start, end=match.end)
            if known in added:
                # Every statement naming it is evidence: one the assertion guards block
                # ("... of grandmother's medication") does not take the others with it.
                existing = work.find(known)
                if existing is not None:
                    work.absorb(existing, spans=[span])
                continue
            added.append(known)
            decision = work.add(known, f"{column.lower()} -> {known} ({rule.title})", spans=[span])
            work.note(decision, rule, f"'{text[match.start : match.end]}' ({column}): {known}")
        if not added:
            continue
        # The table's reading replaces the unspecified drug and the other columns of its rows.
        stems = {a[:5] for a in added}
        for other in work.coded(["T36-T50"]):
            if other.code in added:
                continue
            if other.code[:5] in stems or other.code.startswith(("T50.90", "T50.99")):
                work.remove(other)


def _statement(text: str, start: int, end: int) -> str:
    """The diagnosis line or sentence around a match."""
    left = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start), text.rfind("; ", 0, start))
    right_candidates = [
        i for i in (text.find("\n", end), text.find(". ", end), text.find("; ", end)) if i != -1
    ]
    right = min(right_candidates) if right_candidates else len(text)
    return text[left + 1 : right]
