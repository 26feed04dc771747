"""Tests for validation of proposed codes: every rule, on its pass and its fail or warn path."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tools.codeset import CodeSet
from tools.validate import (
    CodeValidation,
    ProposedCode,
    RuleCheck,
    ValidateInput,
    ValidateOutput,
    validate_codes,
)


@pytest.fixture(scope="module")
def codes() -> CodeSet:
    return CodeSet.load()


def run(
    codes: CodeSet,
    *proposed: dict[str, Any],
    setting: str = "outpatient",
    dos: date | None = date(2026, 5, 4),
) -> ValidateOutput:
    inp = ValidateInput.model_validate(
        {"codes": list(proposed), "setting": setting, "date_of_service": dos}
    )
    return validate_codes(inp, codes)


def check(result: CodeValidation, rule: str) -> RuleCheck:
    found = [c for c in result.checks if c.id == rule]
    assert len(found) == 1, [c.id for c in result.checks]
    return found[0]


def checks(result: CodeValidation, rule: str) -> list[RuleCheck]:
    return [c for c in result.checks if c.id == rule]


def test_known_billable_code_passes(codes: CodeSet) -> None:
    out = run(codes, {"code": "e11.21"})
    [result] = out.codes
    assert result.proposed == "e11.21"
    assert result.code == "E11.21"
    assert result.description == "Type 2 diabetes mellitus with diabetic nephropathy"
    assert check(result, "code.exists").result == "pass"
    assert check(result, "code.billable").result == "pass"
    assert check(result, "code.version").result == "pass"
    assert not result.needs_review and result.reasons == []
    assert out.conflicts == []


def test_unknown_code_fails_and_still_gets_a_billable_check(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "ZZZ.9"}).codes
    assert result.code is None
    assert check(result, "code.exists").result == "fail"
    assert check(result, "code.billable").result == "fail"
    assert result.needs_review
    assert result.reasons == ["'ZZZ.9' is not a code in ICD-10-CM 2026-04."]


def test_a_block_is_not_a_code(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "E08-E13"}).codes
    assert result.code is None
    assert "block heading" in check(result, "code.exists").message


@pytest.mark.parametrize(
    ("dos", "result", "phrase"),
    [
        (None, "pass", "No date of service"),
        (date(2026, 4, 1), "pass", "within"),
        (date(2026, 9, 30), "pass", "within"),
        (date(2026, 3, 31), "warn", "before the April 1, 2026 update"),
        (date(2025, 10, 1), "warn", "October 1, 2025 code set applies"),
        (date(2025, 9, 30), "warn", "before FY2026"),
        (date(2026, 10, 1), "warn", "FY2027"),
    ],
)
def test_code_version(codes: CodeSet, dos: date | None, result: str, phrase: str) -> None:
    [validation] = run(codes, {"code": "I10"}, dos=dos).codes
    version = check(validation, "code.version")
    assert version.result == result
    assert phrase in version.message
    assert validation.code == "I10"


def test_non_billable_category_made_unspecified(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "E11"}).codes
    assert result.code == "E11.9"
    billable = check(result, "code.billable")
    assert billable.result == "warn"
    assert "E11.9" in billable.message and "unspecified" in billable.message
    assert "documentation names no more detail" in billable.message
    assert not result.needs_review


def test_non_billable_without_unspecified_child_fails(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "E11.2"}).codes
    assert result.code is None
    billable = check(result, "code.billable")
    assert billable.result == "fail"
    assert "E11.21, E11.22, E11.29" in billable.message
    assert result.needs_review


@pytest.mark.parametrize(
    ("encounter", "final"),
    [("initial", "S72.001A"), ("subsequent", "S72.001D"), ("sequela", "S72.001S")],
)
def test_seventh_character_from_encounter(codes: CodeSet, encounter: str, final: str) -> None:
    [result] = run(codes, {"code": "S72.001", "encounter": encounter}).codes
    assert result.code == final
    seventh = check(result, "code.seventh_character")
    assert seventh.result == "warn"
    assert final in seventh.message
    assert check(result, "code.billable").result == "pass"
    assert not result.needs_review


def test_seventh_character_missing_encounter_fails(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "S72.001"}).codes
    assert result.code is None
    seventh = check(result, "code.seventh_character")
    assert seventh.result == "fail"
    assert (
        "7th character required: initial (A), subsequent (D) or sequela (S) not documented"
        in seventh.message
    )
    assert check(result, "code.billable").result == "fail"
    assert result.needs_review
    assert result.reasons == [seventh.message]


def test_t81_4_gets_unspecified_child_then_placeholder_and_seventh(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "T81.4", "encounter": "initial"}).codes
    assert result.code == "T81.40XA"
    assert check(result, "code.billable").result == "warn"
    assert check(result, "code.seventh_character").result == "warn"
    assert result.description == "Infection following a procedure, unspecified, initial encounter"


def test_seventh_character_that_is_not_an_encounter_fails(codes: CodeSet) -> None:
    # Coma scale codes take 0-4 (where the score was taken), not A/D/S.
    [result] = run(codes, {"code": "R40.211", "encounter": "initial"}).codes
    assert result.code is None
    seventh = check(result, "code.seventh_character")
    assert seventh.result == "fail"
    assert "at arrival to emergency department" in seventh.message


def test_complete_code_seventh_character_checked_against_encounter(codes: CodeSet) -> None:
    [mismatch, match] = run(
        codes,
        {"code": "S72.001D", "encounter": "initial"},
        {"code": "S72.001A", "encounter": "initial"},
    ).codes
    assert check(mismatch, "code.seventh_character").result == "warn"
    assert mismatch.code == "S72.001D"
    assert check(match, "code.seventh_character").result == "pass"


def test_excludes1_conflict_type1_and_type2(codes: CodeSet) -> None:
    out = run(codes, {"code": "E11.9"}, {"code": "E10.9"})
    [conflict] = out.conflicts
    assert conflict.id == "excludes1" and conflict.result == "fail"
    assert "E11.9" in conflict.message and "E10.9" in conflict.message
    assert "type 1 diabetes mellitus (E10.-)" in conflict.message
    for result in out.codes:
        assert result.needs_review
        assert conflict.message in result.reasons
        assert check(result, "excludes1").result == "fail"


def test_excludes1_after_fixes(codes: CodeSet) -> None:
    # E11 becomes E11.9 first; the conflict is between the final codes.
    out = run(codes, {"code": "E11"}, {"code": "E10.9"})
    assert [c.code for c in out.codes] == ["E11.9", "E10.9"]
    assert len(out.conflicts) == 1


def test_no_excludes1_between_hypertension_codes(codes: CodeSet) -> None:
    out = run(codes, {"code": "I10"}, {"code": "I11.9"})
    assert out.conflicts == []
    assert not any(r.needs_review for r in out.codes)


def test_excludes1_from_a_qualified_range(codes: CodeSet) -> None:
    out = run(codes, {"code": "E11.42"}, {"code": "G63"})
    [conflict] = out.conflicts
    assert "E08-E13 with .42" in conflict.message


def test_use_additional_code_unmet_warns(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "E11.22"}).codes
    ckd = [c for c in checks(result, "use_additional_code") if "N18" in c.message]
    assert len(ckd) == 1 and ckd[0].result == "warn"
    assert not result.needs_review


def test_use_additional_code_met_passes(codes: CodeSet) -> None:
    out = run(codes, {"code": "E11.22"}, {"code": "N18.4"}, {"code": "Z79.4"})
    e11_22 = out.codes[0]
    results = [c.result for c in checks(e11_22, "use_additional_code")]
    assert results == ["pass", "pass"]
    assert "met by N18.4" in checks(e11_22, "use_additional_code")[0].message


def test_conditional_note_is_a_reminder(codes: CodeSet) -> None:
    out = run(codes, {"code": "E11.22"}, {"code": "N18.4"})
    n18 = out.codes[1]
    [note] = checks(n18, "use_additional_code")
    assert note.result == "pass" and "if applicable" in note.message
    assert check(n18, "code_first").result == "pass"


def test_manifestation_as_principal_fails(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "G63", "role": "principal"}, setting="inpatient").codes
    manifestation = check(result, "manifestation.principal")
    assert manifestation.result == "fail"
    assert "principal diagnosis" in manifestation.message
    assert result.code == "G63"
    assert result.needs_review
    assert check(result, "code_first").result == "warn"


def test_manifestation_as_secondary_with_its_etiology(codes: CodeSet) -> None:
    out = run(codes, {"code": "E85.4", "role": "principal"}, {"code": "G63"})
    g63 = out.codes[1]
    assert checks(g63, "manifestation.principal") == []
    first = check(g63, "code_first")
    assert first.result == "pass" and "met by E85.4" in first.message
    assert check(out.codes[0], "manifestation.principal").result == "pass"


def test_code_first_sequencing_warns_when_principal(codes: CodeSet) -> None:
    out = run(codes, {"code": "N18.30", "role": "principal"}, {"code": "E11.22"})
    first = check(out.codes[0], "code_first")
    assert first.result == "warn"
    assert "E11.22 should be sequenced before N18.30" in first.message


def test_code_also_is_surfaced(codes: CodeSet) -> None:
    [result] = run(codes, {"code": "T81.40XA"}).codes
    [also] = checks(result, "code_also")
    assert also.result == "pass" and "T81.32" in also.message


def test_every_code_gets_exists_and_billable(codes: CodeSet) -> None:
    out = run(codes, {"code": "I10"}, {"code": "nope"}, {"code": "E11.2"}, {"code": "S72.001"})
    for result in out.codes:
        ids = [c.id for c in result.checks]
        assert ids[:3] == ["code.exists", "code.version", "code.billable"]


def test_chart_level_checks(codes: CodeSet) -> None:
    out = run(
        codes,
        {"code": "E11", "role": "principal"},
        {"code": "E11.9", "role": "principal"},
    )
    assert check(out.codes[1], "code.duplicate").result == "warn"
    [count] = out.conflicts
    assert count.id == "principal.count" and count.result == "warn"


def test_output_matches_the_rules_contract(codes: CodeSet) -> None:
    out = run(codes, {"code": "E11.21"})
    dumped = out.model_dump(mode="json")
    for rule in dumped["codes"][0]["checks"]:
        assert set(rule) == {"id", "result", "message"}
        assert rule["result"] in ("pass", "warn", "fail")


def test_default_code_set_is_the_singleton() -> None:
    inp = ValidateInput(codes=[ProposedCode(code="I10")], setting="outpatient")
    assert validate_codes(inp).codes[0].code == "I10"
