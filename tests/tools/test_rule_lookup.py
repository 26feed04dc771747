"""Rule look-up by id, by code and by meaning, each hit with its citation and source line."""

from __future__ import annotations

from tools.rule_lookup import RuleLookupInput, lookup_rules, rule_codes
from tools.rules import rule_set


def ids(**kwargs) -> list[str]:
    return [h.id for h in lookup_rules(RuleLookupInput(**kwargs)).hits]


def test_by_id_and_prefix():
    assert ids(rule_id="combo.diabetes-ckd")[0] == "combo.diabetes-ckd"
    found = ids(rule_id="combo.diabetes", limit=50)
    assert found and all(i.startswith("combo.diabetes") for i in found)


def test_by_code_most_specific_first():
    found = ids(code="E11.22", limit=20)
    assert found[0] == "combo.diabetes-ckd"
    assert "additional.ckd-stage" in found and "hcc.v28" not in found
    assert "combo.hypertension-ckd" in ids(code="I12.9", limit=20)


def test_by_meaning():
    assert (
        ids(query="why is the cough not coded with the pneumonia", limit=3)[0]
        == "symptom.integral-pneumonia"
    )
    assert (
        ids(query="probable diagnosis in the clinic", limit=3)[0]
        == "assertion.uncertain-outpatient"
    )
    assert "additional.insulin-long-term" in ids(query="long-term insulin use", limit=3)
    assert "cdi.urosepsis" in ids(query="urosepsis", limit=3)
    assert ids(query="qwertyuiop zxcvb") == []


def test_setting_filter_and_citations():
    hits = lookup_rules(
        RuleLookupInput(query="uncertain diagnosis probable suspected", setting="inpatient")
    ).hits
    assert "assertion.uncertain-outpatient" not in [h.id for h in hits]
    top = hits[0]
    assert top.citation and top.source and top.file.startswith("rules/") and top.line > 0


def test_rule_codes_reads_selectors_and_templates():
    rs = rule_set()
    assert "E08-E13" in rule_codes(rs.get("combo.diabetes-ckd"))
    assert "Z3A" in rule_codes(rs.get("pregnancy.weeks-of-gestation"))
