"""Every rule's own test example (rules/*/*.yaml) holds when coded through the whole graph."""

from __future__ import annotations

import pytest

from agent.guidelines.examples import check_example
from tools.rules import rule_set

RULES = rule_set()


@pytest.mark.parametrize("rule_id", [r.id for r in RULES.rules])
def test_rule_example(code_note, rule_id):
    outcome = check_example(rule_id, RULES, code_note)
    assert outcome.ok, f"{outcome.problems}; got {outcome.codes}"
