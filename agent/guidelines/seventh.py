"""What the encounter decides beyond validation's 7th character (Section I.C.19.a, c.1; I.C.20).

"Open displaced oblique fracture of the right tibial shaft, Gustilo-Anderson type II" at an
initial encounter is S82.231B (open fracture type I or II), not the closed fracture's A;
"Gustilo IIIB" is C. The Tabular's 7th-character table gives the letters and their meanings;
the rule gives the chart words for each meaning. Place, activity and status codes belong to
the initial encounter only: at a follow-up or a sequela visit they are not coded.
"""

from __future__ import annotations

from agent.guidelines.work import Work
from core.errors import CodeSenseError
from tools.rules.schema import EncounterOnly, SeventhCharacter
from tools.rules.text import compiled

_SEVENTH_POSITION = 7


def seventh_characters(work: Work) -> None:
    encounter = work.encounter or "initial"
    for rule in work.in_force(SeventhCharacter):
        codes = work.matcher(rule.codes)
        for d in list(work.decisions):
            if not codes.matches(d.code):
                continue
            statement = work.sentence_text([d])
            stem = d.code if len(d.code.replace(".", "")) < _SEVENTH_POSITION else d.code[:-1]
            try:
                table = work.codes.get(stem).seventh_character
            except CodeSenseError:
                continue
            letter = _letter(rule, statement, table, encounter)
            if letter is None:
                continue
            try:
                target = work.codes.with_seventh(stem, letter)
            except CodeSenseError:
                continue
            if target == d.code:
                continue
            old = d.code
            d = work.recode(d, target)
            work.note(d, rule, f"{old} -> {target}: {table[letter]}")


def _letter(
    rule: SeventhCharacter, statement: str, table: dict[str, str], encounter: str
) -> str | None:
    """The first value the statement says whose meaning the code's table has for this
    encounter ("Gustilo IIIB" on a humerus, whose table has no type III, reads as open)."""
    for value in rule.values:
        if not compiled(value.text).search(statement):
            continue
        wanted = compiled(value.meaning)
        for letter, meaning in table.items():
            if meaning.lower().startswith(encounter) and wanted.search(meaning):
                return letter
    return None


def encounter_only(work: Work) -> None:
    if work.encounter is None:
        return
    for rule in work.in_force(EncounterOnly):
        if work.encounter in rule.encounters:
            continue
        for d in work.coded(rule.codes):
            work.remove(d)
