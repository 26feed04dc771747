"""Audit Sentinel on notes written for the tests: each of the eight finding kinds fires where the
guidelines say it should, and correctly coded notes yield no finding about support."""

from __future__ import annotations

import pytest

from agent.sentinel import check, parse_codes
from core.contract import Finding, risk_score
from core.errors import UnknownCode
from tools.chart import Chart
from tools.extract import text_document
from tools.rules import rule_set

RULES = rule_set()

CLINIC = (
    "HISTORY:\nFather had colon cancer. Patient denies chest pain. History of pneumonia in 2019.\n"
    "Return if fever develops.\n\n"
    "ASSESSMENT AND PLAN:\n"
    "1. Type 2 diabetes mellitus with diabetic chronic kidney disease stage 3a. A1c reviewed, "
    "continue metformin.\n"
    "2. Essential hypertension. Continue lisinopril.\n"
    "3. Possible pneumonia - chest x-ray ordered.\n"
)
CLINIC_CODES = ["E11.22", "N18.31", "I12.9", "Z79.84"]


def _audit(coder, note: str, codes: list[str], setting: str = "outpatient") -> list[Finding]:
    chart = Chart(chart_id="t", documents=[text_document(note, "d1")])
    state = coder.run(chart, setting)
    _, findings = check(state, parse_codes(codes), RULES)
    for f in findings:
        # The evidence rule holds for findings too.
        for e in f.evidence:
            assert note[e.start : e.end] == e.quote
        assert f.rules and all(r.id and r.citation for r in f.rules), f
    return findings


def _kinds(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.kind, f.code) for f in findings}


def _one(findings: list[Finding], kind: str, code: str) -> Finding:
    matches = [f for f in findings if f.kind == kind and f.code == code]
    assert matches, f"no {kind} finding on {code}: {_kinds(findings)}"
    return matches[0]


def test_a_correctly_coded_note_has_no_findings(coder):
    assert _audit(coder, CLINIC, CLINIC_CODES) == []


@pytest.mark.parametrize(
    "code, assertion, rule",
    [
        ("R07.9", "negated", "assertion.negated"),
        ("C18.9", "family", "assertion.family"),
        ("J18.9", "possible", "assertion.uncertain-outpatient"),
        ("R50.9", "hypothetical", "assertion.hypothetical"),
    ],
)
def test_unsupported_when_only_negated_family_uncertain_or_hypothetical(
    coder, code, assertion, rule
):
    findings = _audit(coder, CLINIC, [*CLINIC_CODES, code])
    found = _one(findings, "unsupported", code)
    assert found.severity == "high" and f"({assertion})" in found.message
    assert rule in {r.id for r in found.rules}
    assert found.evidence, "the mention that does not support the code is quoted"
    # Nothing else changes: the rest of the codes stand.
    assert {f.code for f in findings} == {code}


def test_unsupported_when_the_chart_never_names_it(coder):
    found = _one(_audit(coder, CLINIC, [*CLINIC_CODES, "K35.80"]), "unsupported", "K35.80")
    assert "nothing in the chart" in found.message and not found.evidence


def test_an_uncertain_diagnosis_at_discharge_supports_its_code_inpatient(coder):
    note = "DISCHARGE DIAGNOSES:\n1. Probable community acquired pneumonia.\n"
    assert not [f for f in _audit(coder, note, ["J18.9"], "inpatient") if f.kind == "unsupported"]
    outpatient = _audit(coder, note, ["J18.9"], "outpatient")
    assert ("unsupported", "J18.9") in _kinds(outpatient)
    # Uncertain on admission, not at discharge: no support inpatient either.
    earlier = (
        "HISTORY OF PRESENT ILLNESS:\nAdmitted with cough, possible pneumonia.\n\n"
        "DISCHARGE DIAGNOSES:\n1. Acute bronchitis.\n"
    )
    found = _one(_audit(coder, earlier, ["J20.9", "J18.9"], "inpatient"), "unsupported", "J18.9")
    assert found.rules[0].id == "assertion.uncertain-inpatient"


def test_missed_codes_are_the_supported_ones_not_assigned(coder):
    findings = _audit(coder, CLINIC, ["E11.22", "N18.31", "I12.9"])
    assert _kinds(findings) == {("missed", "Z79.84")}
    missed = _one(findings, "missed", "Z79.84")
    assert missed.evidence[0].quote == "metformin"


def test_specificity_when_the_record_supports_more_detail(coder):
    note = "ASSESSMENT:\n1. Chronic kidney disease stage 3a. Nephrology follow-up.\n"
    found = _one(_audit(coder, note, ["N18.9"]), "specificity", "N18.9")
    assert found.suggested == ["N18.31"] and found.severity == "medium"
    assert "stage 3a" in found.evidence[0].quote


def test_conflict_on_an_excludes1_pair(coder):
    note = "ASSESSMENT:\n1. Type 2 diabetes mellitus. Continue metformin.\n"
    found = _one(_audit(coder, note, ["E11.9", "E10.9", "Z79.84"]), "conflict", "E10.9")
    assert found.rules[0].id == "excludes1" and "Excludes1" in found.message
    assert found.suggested == ["E11.9"]


def test_combination_codes_coded_as_parts(coder):
    note = (
        "ASSESSMENT:\n1. Essential hypertension.\n2. Chronic kidney disease stage 3a.\n"
        "3. Type 2 diabetes mellitus. Continue metformin.\n"
    )
    findings = _audit(coder, note, ["I10", "N18.31", "E11.9", "Z79.84"])
    hypertension = _one(findings, "combination", "I10")
    assert hypertension.suggested == ["I12.9"]
    assert hypertension.rules[0].id == "combo.hypertension-ckd"
    assert "Section I.C.9.a.2" in hypertension.rules[0].citation
    diabetes = _one(findings, "combination", "E11.9")
    assert diabetes.suggested == ["E11.22"]
    # The combination codes are proposed by the findings, not reported again as missed.
    assert not [f for f in findings if f.kind == "missed" and f.code in ("I12.9", "E11.22")]


def test_an_unsupported_part_makes_no_combination(coder):
    note = (
        "ASSESSMENT:\n1. Type 2 diabetes mellitus with diabetic nephropathy. Continue "
        "metformin.\n2. Essential hypertension.\n"
    )
    findings = _audit(coder, note, ["E11.9", "N18.31", "I10", "Z79.84"])
    assert _kinds(findings) == {
        ("unsupported", "N18.31"),
        ("specificity", "E11.9"),
    }
    assert _one(findings, "specificity", "E11.9").suggested == ["E11.21"]


def test_no_combination_when_the_record_says_unrelated(coder):
    note = (
        "ASSESSMENT:\n1. Type 2 diabetes mellitus. Continue metformin.\n"
        "2. Chronic kidney disease stage 3a, not due to diabetes; due to polycystic kidneys.\n"
    )
    findings = _audit(coder, note, ["E11.9", "N18.31", "Z79.84"])
    assert not [f for f in findings if f.kind == "combination"]


@pytest.mark.parametrize(
    "codes, code, says",
    [
        (["E11", "Z79.84"], "E11", "not billable"),
        (["S72.001", "W19.XXXA"], "S72.001", "7th character"),
    ],
)
def test_incomplete_codes(coder, codes, code, says):
    note = (
        "ASSESSMENT:\n1. Type 2 diabetes mellitus. Continue metformin.\n"
        "2. Fracture of right femoral neck after a fall, initial encounter.\n"
    )
    found = _one(_audit(coder, note, codes), "incomplete", code)
    assert says in found.message and found.severity == "high"


def test_incomplete_category_names_the_supported_code(coder):
    found = _one(_audit(coder, CLINIC, ["E11", "N18.31", "I12.9"]), "incomplete", "E11")
    assert found.suggested == ["E11.22"]


def test_sequencing_against_the_guidelines_first_listed(coder):
    findings = _audit(coder, CLINIC, ["N18.31", "E11.22", "I12.9", "Z79.84"])
    found = _one(findings, "sequencing", "N18.31")
    assert found.suggested == ["E11.22"] and found.rules[0].id == "principal.outpatient"


def test_sequencing_a_manifestation_first(coder):
    note = "ASSESSMENT:\n1. Dementia in Alzheimer's disease. Continue donepezil.\n"
    findings = _audit(coder, note, ["F02.80", "G30.9"])
    found = _one(findings, "sequencing", "F02.80")
    assert found.rules[0].id == "sequence.manifestation-never-first"


def test_hcc_without_meat(coder):
    note = (
        "ASSESSMENT:\n1. Chronic systolic heart failure.\n\n"
        "2. Hyperlipidemia - continue atorvastatin.\n"
    )
    findings = _audit(coder, note, ["I50.22", "E78.5"])
    found = _one(findings, "hcc_meat", "I50.22")
    assert found.rules[0].id == "hcc.v28" and "MEAT" in found.message
    managed = note.replace("heart failure.", "heart failure, stable on furosemide 40 mg daily.")
    assert ("hcc_meat", "I50.22") not in _kinds(_audit(coder, managed, ["I50.22", "E78.5"]))


def test_the_risk_score_grows_with_findings_and_stays_below_one(coder):
    clean = _audit(coder, CLINIC, CLINIC_CODES)
    messy = _audit(coder, CLINIC, ["N18.31", "E11.9", "I10", "R07.9", "C18.9"])
    assert risk_score(clean) == 0.0
    assert 0.5 < risk_score(messy) < 1.0


@pytest.mark.parametrize(
    "given, says",
    [
        ("", "no codes"),
        ("E11.22,XYZ", "'XYZ'"),
        ("E11.22, Q99.99Z", "'Q99.99Z'"),
        ("E08-E13", "'E08-E13'"),
    ],
)
def test_parse_codes_refuses_what_is_not_a_code(given, says):
    with pytest.raises(UnknownCode, match=says):
        parse_codes(given)


def test_parse_codes_normalises_and_deduplicates():
    assert parse_codes("e11.22; E1122 i10\nN18.31") == ["E11.22", "I10", "N18.31"]
