"""The rule-pack format: schema checks at load with file and line, ids, defaults, selectors and
templates, reloading a changed pack, and the code-list checks validation runs for any reasoner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import RulesError
from tools.rulefiles import RULES_DIR, file_digest
from tools.rules import CodeMatcher, load_rule_set, rule_set
from tools.rules.checks import check_code_list
from tools.rules.codes import render, shared_matcher, template_fields
from tools.rules.schema import KINDS, Combine
from tools.rules.verify import verify_rule_set

EXAMPLE = """    example:
      note: "ASSESSMENT: Essential hypertension.\\n"
      expect: [I10]
"""


def write_pack(root: Path, name: str, rules: str, extra: str = "") -> Path:
    folder = root / "guidelines"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        "version: 1\n"
        f"pack: {path.stem.replace('_', '-')}\n"
        "source: Test source\n"
        f"{extra}"
        "defaults:\n"
        "  effective: {start: 2025-10-01}\n"
        "rules:\n" + rules,
        encoding="utf-8",
    )
    return path


GOOD_RULE = (
    """  - id: test.combine
    kind: combine
    title: Test combination
    citation: Section I.A.15
    severity: error
    when: [[I10], [N18]]
    add: [I12.9]
    remove: [I10]
"""
    + EXAMPLE
)


def test_the_shipped_packs_load_and_check_clean():
    rs = load_rule_set()
    assert len(rs) >= 100
    assert rs.version.startswith("sha256:")
    assert rs.version == file_digest(sorted(RULES_DIR.glob("**/*.yaml")))
    assert verify_rule_set(rs) == []
    sources = rs.by_source()
    assert any("Official Guidelines" in s for s in sources)
    assert any("Medicare Code Editor" in s for s in sources)
    assert any("HCC" in s for s in sources)
    # Every kind the engine interprets is used by at least one shipped rule.
    assert {r.kind for r in rs.rules} == set(KINDS)


def test_every_rule_has_the_required_fields():
    for rule in rule_set().rules:
        assert rule.id and rule.title and rule.citation
        assert rule.severity in ("error", "warning", "info")
        assert rule.setting in ("outpatient", "inpatient", "all")
        assert rule.effective.start is not None
        assert rule.example.note.strip()


def test_a_good_pack_loads_with_defaults_and_lines(tmp_path):
    write_pack(tmp_path, "10_test.yaml", GOOD_RULE)
    rs = load_rule_set(tmp_path)
    rule = rs.get("test.combine")
    assert isinstance(rule, Combine)
    assert str(rule.effective.start) == "2025-10-01"
    assert rs.origin["test.combine"].file.endswith("guidelines/10_test.yaml")
    assert rs.origin["test.combine"].line == 7


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (GOOD_RULE.replace("when: [[I10], [N18]]", "when: [[I10], [N18-]]"), "line 12"),
        (GOOD_RULE.replace("kind: combine", "kind: combin"), "line 7"),
        (GOOD_RULE.replace("severity: error", "severity: fatal"), "line 11"),
        (
            GOOD_RULE.replace("    remove: [I10]\n", "    remove: [I10]\n    colour: red\n"),
            "line 15",
        ),
        (GOOD_RULE.replace("add: [I12.9]", "add: ['{3}.22']"), "line 7"),
        (GOOD_RULE.replace("      expect: [I10]\n", ""), "line 16"),
    ],
)
def test_a_bad_rule_is_reported_with_file_and_line(tmp_path, bad, expected):
    write_pack(tmp_path, "10_test.yaml", bad)
    with pytest.raises(RulesError) as err:
        load_rule_set(tmp_path)
    message = str(err.value)
    assert message.startswith("10_test.yaml " + expected), message


def test_a_duplicate_id_is_refused_with_both_places(tmp_path):
    write_pack(tmp_path, "10_a.yaml", GOOD_RULE)
    write_pack(tmp_path, "20_b.yaml", GOOD_RULE)
    with pytest.raises(RulesError) as err:
        load_rule_set(tmp_path)
    assert "20_b.yaml line 7: rule id 'test.combine' is already used at" in str(err.value)
    assert "10_a.yaml line 7" in str(err.value)


def test_an_invalid_regex_is_reported(tmp_path):
    rule = (
        GOOD_RULE
        + """  - id: test.add
    kind: add-code
    title: Broken pattern
    citation: Section I.C.21.c.3
    severity: info
    pattern: '(unclosed'
    code: Z95.1
"""
        + EXAMPLE
    )
    write_pack(tmp_path, "10_test.yaml", rule)
    with pytest.raises(RulesError, match=r"line 23: .*invalid regular expression"):
        load_rule_set(tmp_path)


QUERY = (
    """  - id: test.query
    kind: cdi-query
    title: Query
    citation: Compliant query practice
    severity: info
    when_coded: [I50.9]
    indicators: [{{label: BNP, pattern: 'BNP'}}]
    topic: heart failure
    question: {question}
    options: {options}
"""
    + EXAMPLE
)


@pytest.mark.parametrize(
    ("question", "options", "error"),
    [
        ("'Would an MCC apply here?'", "[Acute, Other, Clinically undetermined]", "payment"),
        ("'Can the type be specified?'", "[Acute, Chronic, Clinically undetermined]", "'other'"),
        (
            "'Can the type be specified?'",
            "[Acute, Chronic, Other (please specify)]",
            "undetermined",
        ),
        (
            "'To support reimbursement, specify'",
            "[Acute, Other, Clinically undetermined]",
            "payment",
        ),
    ],
)
def test_a_query_that_leads_or_mentions_payment_does_not_load(tmp_path, question, options, error):
    write_pack(tmp_path, "10_q.yaml", QUERY.format(question=question, options=options))
    with pytest.raises(RulesError, match=error):
        load_rule_set(tmp_path)


def test_a_changed_pack_is_picked_up_and_changes_the_version(tmp_path):
    path = write_pack(tmp_path, "10_test.yaml", GOOD_RULE)
    first = rule_set(tmp_path)
    assert rule_set(tmp_path) is first  # cached while nothing changes
    path.write_text(path.read_text().replace("Test combination", "Hypertensive CKD"))
    import os

    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    second = rule_set(tmp_path)
    assert second is not first
    assert second.version != first.version
    assert second.get("test.combine").title == "Hypertensive CKD"


def test_rules_version_of_the_product_hashes_every_pack(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(RULES_DIR, copy)
    before = load_rule_set(copy).version
    pack = copy / "guidelines" / "30-combination.yaml"
    pack.write_text(pack.read_text() + "\n# a comment changes the content hash\n")
    assert load_rule_set(copy).version != before


@pytest.mark.parametrize(
    ("selectors", "code", "matches"),
    [
        (["E11"], "E11.22", True),
        (["E08-E13"], "E10.9", True),
        (["E08-E13"], "E14", False),
        (["N18.1-N18.4"], "N18.31", True),
        (["N18.1-N18.4"], "N18.5", False),
        (["O00-O9A"], "O9A.211", True),
        (["*"], "Z00.00", True),
        (["Z80-Z84"], "Z85.3", False),
    ],
)
def test_selectors(selectors, code, matches):
    assert CodeMatcher(selectors).matches(code) is matches


def test_manifestation_selector_uses_the_tabular():
    from tools.codeset import CodeSet

    m = CodeMatcher(["tabular:manifestation"], CodeSet.load().is_manifestation)
    assert m.matches("F02.80") and m.matches("G63") and not m.matches("G30.9")


def test_shared_matcher_is_one_per_selectors_and_predicate():
    from tools.codeset import CodeSet

    cs = CodeSet.load()
    # The rule checks of every chart ask the same selector lists: one matcher serves them all.
    first = shared_matcher(("E08-E13", "tabular:manifestation"), cs.is_manifestation)
    assert shared_matcher(("E08-E13", "tabular:manifestation"), cs.is_manifestation) is first
    # Without the tabular predicate it is another matcher, which never reads a manifestation.
    bare = shared_matcher(("E08-E13", "tabular:manifestation"))
    assert bare is not first
    assert first.matches("G63") and not bare.matches("G63")
    assert first.matches("E11.9") and bare.matches("E11.9") and not first.matches("I10")


def test_templates():
    assert template_fields("{1}.22") == ["1"]
    assert render("{1}.22", {"1": "E11"}) == "E11.22"
    assert render("Z3A.{weeks}", {"weeks": "32"}) == "Z3A.32"
    assert render("Z3A.{weeks}", {}) is None


def test_code_list_checks_for_any_reasoner():
    rs = rule_set()
    # Parts of a combination coded separately, a manifestation first, sepsis after the UTI.
    checks = check_code_list(["F02.80", "G30.9"], "outpatient", rs)
    assert any(
        c.id == "sequence.manifestation-never-first" and c.result == "fail" for c in checks[0]
    )
    checks = check_code_list(["E11.9", "N18.31"], "outpatient", rs)
    assert any(c.id == "combo.diabetes-ckd" and "E11.22" in c.message for c in checks[0])
    checks = check_code_list(["N39.0", "A41.9"], "inpatient", rs)
    assert any(c.id == "sepsis.before-localized-infection" for c in checks[1])
    checks = check_code_list(["I12.9"], "outpatient", rs)
    assert any(c.id == "additional.ckd-stage" for c in checks[0])
    # The offline reasoner's own kind of list passes clean.
    assert check_code_list(["E11.22", "I12.9", "N18.31"], "outpatient", rs) == [[], [], []]
    # A combination that needs the record's words ("poorly controlled" diabetes is E11.65) is
    # not asked of a code list that cannot hold them.
    assert check_code_list(["E11.9"], "outpatient", rs) == [[]]


def test_missed_combinations_name_their_parts_and_codes():
    """The Sentinel reads these fields (never the check's message): the parts as coded, where
    the first stands, and the combination code rendered from them."""
    from tools.codeset import APRIL_UPDATE_START, CodeSet
    from tools.rules.checks import missed_combinations

    rs = rule_set()
    cs = CodeSet.load()
    missed = missed_combinations(
        ["R05.9", "E11.9", "N18.31"], "outpatient", rs, APRIL_UPDATE_START, cs
    )
    combo = next(m for m in missed if m.rule.id == "combo.diabetes-ckd")
    assert (combo.index, combo.parts, combo.wanted) == (1, ["E11.9", "N18.31"], ["E11.22"])
    assert not missed_combinations(["E11.22", "N18.31"], "outpatient", rs, APRIL_UPDATE_START, cs)


def test_validation_reports_rule_pack_checks_when_given_the_rules():
    from tools.validate import ProposedCode, ValidateInput, validate_codes

    inp = ValidateInput(
        codes=[ProposedCode(code="F02.80", role="principal"), ProposedCode(code="G30.9")],
        setting="outpatient",
    )
    without = validate_codes(inp)
    with_rules = validate_codes(inp, rules=rule_set())
    ids = {c.id for c in with_rules.codes[0].checks}
    assert "sequence.manifestation-never-first" in ids
    assert "sequence.manifestation-never-first" not in {c.id for c in without.codes[0].checks}
    assert with_rules.codes[0].needs_review
