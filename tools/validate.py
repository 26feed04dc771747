"""Validation of proposed ICD-10-CM codes: existence, code-set version, billability, 7th characters,
Excludes1 conflicts, manifestation sequencing and the tabular's code-first / use-additional notes.

Each code comes back with the checks it went through (the `rules` of the output contract), the
final code after safe fixes (E11 -> E11.9 when nothing more specific is documented; S72.001 ->
S72.001A for an initial encounter), or None when it cannot stand, and whether a coder must look.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from core.contract import CheckResult, RuleCheck, Setting
from core.errors import UnknownCode
from tools.codeset import (
    APRIL_UPDATE_START,
    CODE_SET_VERSION,
    FY2026_END,
    FY2026_START,
    CodeInfo,
    CodeSet,
    NoteKind,
    TabularNote,
)
from tools.rules.checks import check_code_list

if TYPE_CHECKING:
    from tools.rules.load import RuleSet

Encounter = Literal["initial", "subsequent", "sequela"]


_ENCOUNTER_LETTER: dict[Encounter, str] = {"initial": "A", "subsequent": "D", "sequela": "S"}
# Notes that only apply when the condition is present: unmet, they are reminders, not warnings.
_CONDITIONAL = re.compile(
    r"\bif (?:applicable|known|present|any)\b|\bwhere applicable\b|"
    r"\b(?:code first|code also|identify) any\b",
    re.I,
)
_NOTE_LABEL: dict[NoteKind, str] = {
    "code_first": "Code first",
    "use_additional_code": "Use additional",
    "code_also": "Code also",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
}


class ProposedCode(BaseModel):
    code: str
    role: Literal["principal", "secondary"] = "secondary"
    encounter: Encounter | None = None


class ValidateInput(BaseModel):
    codes: list[ProposedCode]
    setting: Setting
    date_of_service: date | None = None


class CodeValidation(BaseModel):
    proposed: str
    code: str | None = Field(description="Final code after fixes; None if it cannot stand.")
    description: str
    checks: list[RuleCheck]
    needs_review: bool
    reasons: list[str]


class ValidateOutput(BaseModel):
    codes: list[CodeValidation]
    conflicts: list[RuleCheck]


@dataclass
class _Draft:
    """A code's validation while it is being built."""

    proposed: ProposedCode
    info: CodeInfo | None = None
    checks: list[RuleCheck] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def code(self) -> str | None:
        return self.info.code if self.info else None

    def add(self, check_id: str, result: CheckResult, message: str, reason: bool = True) -> None:
        """Record a check; a failure is also a reason for review unless another check already
        gives the cause (an unknown code also fails `code.billable`)."""
        self.checks.append(RuleCheck(id=check_id, result=result, message=message))
        if result == "fail" and reason and message not in self.reasons:
            self.reasons.append(message)

    def drop(self) -> None:
        """The code cannot stand as proposed."""
        self.info = None


def validate_codes(
    inp: ValidateInput, codeset: CodeSet | None = None, rules: RuleSet | None = None
) -> ValidateOutput:
    """Check every proposed code, fix what is safe to fix, and flag the rest for review.
    With `rules`, the rule packs' checks on the code list run too (sequencing, combination
    codes coded as parts, missing "use additional" codes)."""
    codes = codeset or CodeSet.load()
    version = _version_check(inp.date_of_service)
    drafts = [_check_code(p, codes, version) for p in inp.codes]
    final = [d.code for d in drafts if d.code]
    for draft in drafts:
        if draft.info is not None:
            _check_sequencing(draft, codes, inp.setting)
            _check_notes(draft, final, codes)
    conflicts = _check_excludes1(drafts, codes)
    conflicts.extend(_check_chart(drafts, inp.setting))
    if rules is not None:
        _check_rule_packs(drafts, inp, rules, codes)
    return ValidateOutput(
        codes=[
            CodeValidation(
                proposed=d.proposed.code,
                code=d.code,
                description=d.info.description if d.info else "",
                checks=d.checks,
                needs_review=bool(d.reasons),
                reasons=d.reasons,
            )
            for d in drafts
        ],
        conflicts=conflicts,
    )


# --- one code ----------------------------------------------------------------------------------


def _version_check(dos: date | None) -> RuleCheck:
    if dos is None:
        return RuleCheck(
            id="code.version",
            result="pass",
            message=(
                f"No date of service given: checked against {CODE_SET_VERSION} "
                f"(in effect {APRIL_UPDATE_START} to {FY2026_END})."
            ),
        )
    if dos < FY2026_START:
        message = (
            f"Date of service {dos} is before FY2026 ICD-10-CM ({FY2026_START}): an earlier "
            f"release applies, and codes were checked against {CODE_SET_VERSION}."
        )
    elif dos < APRIL_UPDATE_START:
        message = (
            f"Date of service {dos} is in FY2026 but before the April 1, 2026 update: the "
            f"October 1, 2025 code set applies, so codes added on {APRIL_UPDATE_START} are not "
            f"valid for it; checked against {CODE_SET_VERSION}."
        )
    elif dos > FY2026_END:
        message = (
            f"Date of service {dos} is after FY2026 ICD-10-CM ({FY2026_END}): the FY2027 release "
            f"applies, and codes were checked against {CODE_SET_VERSION}."
        )
    else:
        return RuleCheck(
            id="code.version",
            result="pass",
            message=f"Date of service {dos} is within {CODE_SET_VERSION} "
            f"({APRIL_UPDATE_START} to {FY2026_END}).",
        )
    return RuleCheck(id="code.version", result="warn", message=message)


def _check_code(proposed: ProposedCode, codes: CodeSet, version: RuleCheck) -> _Draft:
    draft = _Draft(proposed=proposed)
    shown = proposed.code.strip()[:24]
    try:
        info = codes.get(proposed.code)
    except UnknownCode:
        draft.add("code.exists", "fail", f"{shown!r} is not a code in {CODE_SET_VERSION}.")
        draft.checks.append(version)
        draft.add(
            "code.billable", "fail", f"{shown!r} cannot be billed: it is not a code.", reason=False
        )
        return draft
    if info.kind in ("chapter", "block"):
        draft.add(
            "code.exists",
            "fail",
            f"{info.code} is a {info.kind} heading of the tabular list, not a code.",
        )
        draft.checks.append(version)
        draft.add(
            "code.billable", "fail", f"{info.code} cannot be billed: it is a heading.", reason=False
        )
        return draft
    draft.info = info
    draft.add("code.exists", "pass", f"{info.code} ({info.description}) is in {CODE_SET_VERSION}.")
    draft.checks.append(version)
    _check_billable_and_seventh(draft, codes)
    return draft


def _check_billable_and_seventh(draft: _Draft, codes: CodeSet) -> None:
    info = draft.info
    assert info is not None
    billable: RuleCheck | None = None
    if info.billable:
        billable = RuleCheck(id="code.billable", result="pass", message=f"{info.code} is billable.")
    elif not codes.lacks_only_seventh(info.code):
        child = codes.unspecified_child(info.code)
        if child is None:
            options = ", ".join(info.children[:6]) + (", ..." if len(info.children) > 6 else "")
            draft.add(
                "code.billable",
                "fail",
                f"{info.code} is not billable and has no single unspecified code below it: "
                f"the documentation must say which applies ({options}).",
            )
            draft.drop()
            return
        picked = codes.get(child)
        billable = RuleCheck(
            id="code.billable",
            result="warn",
            message=(
                f"{info.code} is not billable; made specific to {picked.code} ({picked.description}), "
                f"the unspecified code, because the documentation names no more detail."
            ),
        )
        info = draft.info = picked
    if not info.needs_seventh:
        assert billable is not None
        draft.checks.append(billable)
        if info.seventh_character:
            _check_existing_seventh(draft, info)
        return
    # `info` lacks only its 7th character; the encounter decides it.
    seventh = _add_seventh(draft, info, codes)
    if billable is not None:
        draft.checks.append(billable)
    elif draft.info is not None:
        draft.add(
            "code.billable",
            "pass",
            f"{info.code} lacks only its 7th character; {draft.info.code} is billable.",
        )
    else:
        draft.add(
            "code.billable",
            "fail",
            f"{info.code} is not billable without its 7th character.",
            reason=False,
        )
    draft.checks.append(seventh)
    if seventh.result == "fail" and seventh.message not in draft.reasons:
        draft.reasons.append(seventh.message)


def _add_seventh(draft: _Draft, info: CodeInfo, codes: CodeSet) -> RuleCheck:
    encounter = draft.proposed.encounter
    choices = ", ".join(f"{k} {v}" for k, v in info.seventh_character.items())
    if encounter is None:
        draft.drop()
        return RuleCheck(
            id="code.seventh_character",
            result="fail",
            message=(
                f"{info.code}: 7th character required: initial (A), subsequent (D) or sequela (S) "
                f"not documented."
            ),
        )
    letter = _ENCOUNTER_LETTER[encounter]
    meaning = info.seventh_character.get(letter, "")
    if not meaning.lower().startswith(encounter):
        draft.drop()
        return RuleCheck(
            id="code.seventh_character",
            result="fail",
            message=(
                f"{info.code}: its 7th character does not encode the encounter; choose from "
                f"{choices}."
            ),
        )
    try:
        final = codes.get(codes.with_seventh(info.code, letter))
    except UnknownCode as err:
        draft.drop()
        return RuleCheck(id="code.seventh_character", result="fail", message=str(err))
    draft.info = final
    return RuleCheck(
        id="code.seventh_character",
        result="warn",
        message=(
            f"7th character {letter} ({meaning}) added for the documented {encounter} encounter: "
            f"{final.code}."
        ),
    )


def _check_existing_seventh(draft: _Draft, info: CodeInfo) -> None:
    """A complete 7-character code: say what its 7th character means and whether it agrees
    with the documented encounter (S72.001D for an initial encounter does not)."""
    letter = info.code[-1]
    meaning = info.seventh_character.get(letter, "")
    encounter = draft.proposed.encounter
    if encounter is not None and not meaning.lower().startswith(encounter):
        draft.add(
            "code.seventh_character",
            "warn",
            f"{info.code}: 7th character {letter} ({meaning}) does not match the documented "
            f"{encounter} encounter.",
        )
    else:
        draft.add(
            "code.seventh_character", "pass", f"{info.code}: 7th character {letter} ({meaning})."
        )


# --- the code among the chart's codes ----------------------------------------------------------


def _check_sequencing(draft: _Draft, codes: CodeSet, setting: str) -> None:
    info = draft.info
    if info is None or draft.proposed.role != "principal":
        return
    position = "principal diagnosis" if setting == "inpatient" else "first-listed diagnosis"
    if codes.is_manifestation(info.code):
        draft.add(
            "manifestation.principal",
            "fail",
            f"{info.code} ({info.description}) is a manifestation code and cannot be the "
            f"{position}: code the underlying condition first.",
        )
    else:
        draft.add("manifestation.principal", "pass", f"{info.code} may be sequenced as {position}.")


def _note_groups(notes: list[TabularNote], kind: NoteKind) -> list[tuple[str, list[str]]]:
    """(origin, lines) for each instruction of `kind`.

    The library flattens each origin's notes into lines. A "use additional" instruction starts
    with "code ..." and may be a header with items ("code to identify control using:", "insulin
    (Z79.4)", ...); "code first" and "code also" lines of one origin read as one instruction
    ("any associated:", "diabetic chronic kidney disease (E11.22, ...)", ...).
    """
    groups: list[tuple[str, list[str]]] = []
    for note in notes:
        if note.kind != kind:
            continue
        same_origin = bool(groups) and groups[-1][0] == note.origin
        starts_new = kind == "use_additional_code" and note.text.lower().startswith("code")
        if same_origin and not starts_new:
            groups[-1][1].append(note.text)
        else:
            groups.append((note.origin, [note.text]))
    return groups


def _note_text(kind: NoteKind, lines: list[str]) -> str:
    head, rest = lines[0], lines[1:]
    body = f"{head} {'; '.join(rest)}" if head.endswith(":") and rest else "; ".join(lines)
    label = _NOTE_LABEL[kind]
    if kind == "use_additional_code" and body.lower().startswith("code"):
        return f"{label} {body}"
    return f"{label}: {body}" if kind == "use_additional_code" else f"{label} {body}"


def _check_notes(draft: _Draft, final: list[str], codes: CodeSet) -> None:
    info = draft.info
    assert info is not None
    others = [c for c in final if c != info.code]
    seen: set[str] = set()
    for kind in ("code_first", "use_additional_code", "code_also"):
        for origin, lines in _note_groups(info.notes, kind):
            text = _note_text(kind, lines)
            # T81 and its block T80-T88 repeat the same note; report it once, nearest first.
            if text in seen:
                continue
            seen.add(text)
            where = "" if origin == info.code else f" (note at {origin})"
            prefixes = [p for line in lines for p in codes.note_prefixes(line)]
            met_by = [c for c in others if prefixes and codes.matches_prefixes(c, prefixes)]
            if met_by:
                if kind == "code_first" and draft.proposed.role == "principal":
                    draft.add(
                        kind,
                        "warn",
                        f"{text}{where}: {', '.join(met_by)} should be sequenced before "
                        f"{info.code}.",
                    )
                else:
                    draft.add(kind, "pass", f"{text}{where}: met by {', '.join(met_by)}.")
                continue
            specific = codes.get(origin).kind not in ("chapter", "block")
            if prefixes and specific and not _CONDITIONAL.search(text):
                draft.add(kind, "warn", f"{text}{where}: no such code in the chart.")
            else:
                draft.add(kind, "pass", f"Reminder, when documented: {text}{where}.")


def _check_excludes1(drafts: list[_Draft], codes: CodeSet) -> list[RuleCheck]:
    conflicts: list[RuleCheck] = []
    coded = [d for d in drafts if d.info is not None]
    for first, second in combinations(coded, 2):
        a, b = first.code, second.code
        assert a is not None and b is not None
        if a == b:
            continue
        notes = [n for n in (codes.excludes1_source(a, b), codes.excludes1_source(b, a)) if n]
        if not notes:
            continue
        cited = "; ".join(f"at {n.origin}: '{n.text}'" for n in notes)
        check = RuleCheck(
            id="excludes1",
            result="fail",
            message=f"{a} and {b} may not be coded together (Excludes1 {cited}).",
        )
        conflicts.append(check)
        for draft in (first, second):
            draft.add(check.id, check.result, check.message)
    return conflicts


def _check_rule_packs(
    drafts: list[_Draft], inp: ValidateInput, rules: RuleSet, codes: CodeSet
) -> None:
    """The rule packs' code-list checks, on the codes that stand, in their proposed order."""
    standing = [d for d in drafts if d.code is not None]
    found = check_code_list(
        [d.code for d in standing if d.code], inp.setting, rules, inp.date_of_service, codes
    )
    for draft, checks in zip(standing, found, strict=True):
        for check in checks:
            draft.add(check.id, check.result, check.message)


def _check_chart(drafts: list[_Draft], setting: str) -> list[RuleCheck]:
    """Chart-level consistency the fixes above can create: duplicates, several principals."""
    checks: list[RuleCheck] = []
    seen: dict[str, str] = {}
    for draft in drafts:
        code = draft.code
        if code is None:
            continue
        if code in seen:
            draft.add(
                "code.duplicate",
                "warn",
                f"{draft.proposed.code.strip()} becomes {code}, already proposed as {seen[code]}.",
            )
        else:
            seen[code] = draft.proposed.code.strip()
    principals = [d.code or d.proposed.code for d in drafts if d.proposed.role == "principal"]
    if len(principals) > 1:
        position = "principal diagnosis" if setting == "inpatient" else "first-listed diagnosis"
        checks.append(
            RuleCheck(
                id="principal.count",
                result="warn",
                message=f"{len(principals)} codes proposed as {position}: {', '.join(principals)}.",
            )
        )
    return checks
