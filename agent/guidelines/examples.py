"""Running each rule's test example through the coding pipeline: the codes it expects appear,
the codes it rejects do not, the first code is the one it names, and the rules or query topics it
names are reported. `codesense rules check --examples` and the test suite use this.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from core.contract import ChartResult, Setting
from tools.rules.load import RuleSet

CodeNote = Callable[[str, Setting], ChartResult]


class ExampleOutcome(BaseModel):
    rule_id: str
    ok: bool
    problems: list[str]
    codes: list[str]


def reported(result: ChartResult) -> set[str]:
    """Rule ids in the suggestions' rules, and CDI query topics and rule ids."""
    found = {r.id for s in result.suggestions for r in s.rules}
    found.update(q.topic for q in result.queries)
    found.update(q.rule_id for q in result.queries)
    return found


def check_example(rule_id: str, rules: RuleSet, code_note: CodeNote) -> ExampleOutcome:
    rule = rules.get(rule_id)
    if rule is None:
        raise KeyError(rule_id)
    example = rule.example
    result = code_note(example.note, example.setting)
    codes = [s.code for s in result.suggestions]
    problems = [f"expected {c}" for c in example.expect if c not in codes]
    problems += [f"{c} must not be coded" for c in example.reject if c in codes]
    if example.first and (not codes or codes[0] != example.first):
        problems.append(f"expected {example.first} first, got {codes[0] if codes else 'nothing'}")
    seen = reported(result)
    problems += [f"{r} not reported" for r in example.reports if r not in seen]
    return ExampleOutcome(rule_id=rule_id, ok=not problems, problems=problems, codes=codes)


def check_examples(rules: RuleSet, code_note: CodeNote) -> list[ExampleOutcome]:
    return [check_example(r.id, rules, code_note) for r in rules.rules]
