"""The guideline engine inside the graph: rule results on every code, rule ids on rejections, the
assertion guard over any reasoner, the floor without packs, and a changed pack changing the codes
without a code change."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from agent.context import CodingContext, rules_version
from agent.guidelines.engine import GuidelineEngine
from agent.reasoners import DecisionRequest, DecisionResult, OfflineReasoner
from agent.state import CodeDecision
from apps.service import Service
from core.settings import Settings
from tests.conftest import ADMIN
from tools.extract import text_document
from tools.mentions import MentionsInput, find_mentions
from tools.rulefiles import RULES_DIR
from tools.rules import load_rule_set


def request_for(term_index, text: str, setting: str = "outpatient") -> DecisionRequest:
    doc = text_document(text, "d1")
    from tools.chart import Chart
    from tools.rules import rule_set
    from tools.rules.text import chart_facts

    chart = Chart(chart_id="c", documents=[doc])
    mentions = find_mentions(MentionsInput(document=doc), term_index).mentions
    facts = chart_facts(chart, rule_set(), setting, date(2026, 4, 1))
    return DecisionRequest(
        setting=setting, mentions=mentions, candidates=[], chart=chart, facts=facts
    )


def test_every_applied_rule_is_on_its_code_with_its_citation(code_note):
    result = code_note(
        "ASSESSMENT:\n1. Type 2 diabetes mellitus.\n2. Chronic kidney disease stage 3b.\n"
    )
    e1122 = next(s for s in result.suggestions if s.code == "E11.22")
    combo = next(r for r in e1122.rules if r.id == "combo.diabetes-ckd")
    assert (
        combo.result == "pass" and "Section I.A.15" in combo.message and "E11.22" in combo.message
    )
    assert any(r.id == "principal.outpatient" for r in e1122.rules)
    assert any(r.id == "hcc.v28" for r in e1122.rules) and e1122.hcc is not None


def test_rejections_name_their_rule(term_index):
    text = "HPI: Denies chest pain. Mother had breast cancer.\nASSESSMENT: Possible pneumonia. Hypertension.\n"
    out = OfflineReasoner().decide(request_for(term_index, text))
    by_rule = {r.rule_id for r in out.rejections}
    assert {"assertion.negated", "assertion.family", "assertion.uncertain-outpatient"} <= by_rule
    assert [d.code for d in out.decisions] == ["I10"]


class CarelessReasoner:
    """Codes every mention, whatever its assertion: an LLM that forgot the guidelines."""

    name = "llm:careless"

    def decide(self, request: DecisionRequest) -> DecisionResult:
        return DecisionResult(
            decisions=[
                CodeDecision(code=m.candidates[0].code, mention_ids=[i], rationale="every mention")
                for i, m in enumerate(request.mentions)
            ]
        )


def test_the_assertion_guard_holds_for_any_reasoner(term_index):
    from tools.chart import Chart

    settings = Settings()
    context = CodingContext(
        settings=settings,
        index=term_index,
        reasoner=CarelessReasoner(),
        rules_version=rules_version(),
    )
    service = Service(settings, context)
    text = "ROS: Denies chest pain.\nFAMILY HISTORY: Father with colon cancer.\nASSESSMENT: Rule out pneumonia. Hypertension.\n"
    result = service.code_chart(ADMIN, Chart(chart_id="c", documents=[text_document(text, "d1")]))
    codes = {s.code for s in result.suggestions}
    assert "I10" in codes
    assert not codes & {"R07.9", "C18.9", "J18.9"}


def test_the_floor_holds_without_any_pack(term_index, tmp_path):
    empty = load_rule_set(tmp_path)
    assert len(empty) == 0
    text = "HPI: Denies chest pain. Father had colon cancer. Return if fever.\nASSESSMENT: Rule out pneumonia. Hypertension.\n"
    out = GuidelineEngine(empty).decide(request_for(term_index, text))
    assert [d.code for d in out.decisions] == ["I10"]
    assert {r.rule_id for r in out.rejections} == {"guard.assertion"}


def test_a_changed_pack_changes_the_codes_without_code_changes(term_index, tmp_path):
    text = "ASSESSMENT:\n1. Hypertension.\n2. Chronic kidney disease stage 4.\n"
    shipped = OfflineReasoner().decide(request_for(term_index, text))
    assert {d.code for d in shipped.decisions} == {"I12.9", "N18.4"}
    copy = tmp_path / "rules"
    shutil.copytree(RULES_DIR, copy)
    pack = copy / "guidelines" / "30-combination.yaml"
    # A coding team retires the rule: its effective dates end before the code set's date.
    edited = pack.read_text().replace(
        "  - id: combo.hypertension-ckd\n",
        "  - id: combo.hypertension-ckd\n    effective: {start: 2025-10-01, end: 2025-12-31}\n",
    )
    pack.write_text(edited)
    changed = load_rule_set(copy)
    assert changed.version != load_rule_set().version
    out = OfflineReasoner(changed).decide(request_for(term_index, text))
    assert {d.code for d in out.decisions} == {"I10", "N18.4"}


@pytest.mark.parametrize("setting", ["outpatient", "inpatient"])
def test_outputs_carry_queries_drg_and_hcc(code_note, setting):
    result = code_note(
        "DISCHARGE DIAGNOSES:\n1. Heart failure, treated with IV furosemide.\n2. Pneumonia.\n"
        "LABS: BNP 2100. Echo EF 25%. Sputum culture sent; ceftriaxone given.\n",
        setting,
    )
    topics = {q.topic for q in result.queries}
    assert "heart failure type and acuity" in topics
    for q in result.queries:
        assert q.rule_id.startswith("cdi.") and q.options and q.evidence
        assert any("undetermined" in o.lower() for o in q.options)
    hf = next(s for s in result.suggestions if s.code == "I50.9")
    assert hf.hcc is not None and hf.hcc.hcc == "226"
    assert hf.hcc.meat["treated"][0].quote == "treated"
    if setting == "inpatient":
        assert result.drg is not None and result.drg.drg is not None
    else:
        assert result.drg is None


def test_combination_rules_passed_over_are_only_those_that_cannot_fire():
    """`combine` skips a rule none of whose first group is coded; every other rule is tried as
    before, so the codes and notes equal those of trying every rule in every pass."""
    from agent.guidelines import combination
    from agent.guidelines.work import Work
    from agent.state import TextSpan
    from tools.chart import Chart
    from tools.codeset import CodeSet
    from tools.rules import rule_set
    from tools.rules.schema import Combine

    def every_rule(work: Work) -> None:
        for _ in range(combination.MAX_PASSES):
            fired = False
            for rule in work.in_force(Combine):
                while combination._combine_once(work, rule):
                    fired = True
            if not fired:
                return

    code_lists = [
        ["E11.9", "N18.30"],
        ["I10", "N18.4", "I50.9"],
        ["N18.4", "I50.22", "I10", "E11.9", "E11.65"],
        ["K80.20", "K81.0"],
        ["J44.9", "J18.9", "J45.909"],
        ["F17.210", "Z72.0", "R52"],
        [],
    ]
    chart = Chart(chart_id="c", documents=[text_document("Listed diagnoses. " * 4, "d1")])
    combined = 0
    for codes in code_lists:
        works = []
        for run in (combination.combine, every_rule):
            request = DecisionRequest(setting="inpatient", mentions=[], candidates=[], chart=chart)
            work = Work(request, rule_set(), CodeSet.load())
            for n, code in enumerate(codes):
                work.add(code, "listed", spans=[TextSpan(doc_id="d1", start=n, end=n + 1)])
            run(work)
            works.append([(d.code, [r.id for r in d.rules]) for d in work.decisions])
        assert works[0] == works[1], codes
        combined += any(i.startswith("combo.") for _, ids in works[0] for i in ids)
    assert combined >= 3


def test_a_steps_matcher_is_its_selector_lists_even_for_lists_made_on_the_spot():
    """`Work.matcher` finds a rule's matcher by its list; lists made for one call and dropped
    (their identity free again) still get the matcher of what they say."""
    from agent.guidelines.work import Work
    from tools.codeset import CodeSet
    from tools.rules import rule_set

    request = DecisionRequest(setting="outpatient", mentions=[], candidates=[])
    work = Work(request, rule_set(), CodeSet.load())
    kept = ["E08-E13"]
    assert work.matcher(kept) is work.matcher(kept)
    assert work.matcher(kept).matches("E11.9") and not work.matcher(kept).matches("I10")
    examples = {"E11": "E11.9", "I10": "I10", "J18": "J18.9", "N18": "N18.4"}
    for n in range(400):
        said = list(examples)[n % len(examples)]
        for selector, code in examples.items():
            assert work.matcher([said]).matches(code) is (selector == said)
