"""Checks on a loaded rule set beyond its schema: every code a rule names exists in the code
set, every code an example expects is billable. `codesense rules check` prints what it finds,
each problem with the rule's file and line.
"""

from __future__ import annotations

from core.errors import UnknownCode
from tools.codeset import CodeSet
from tools.rule_lookup import rule_codes
from tools.rules.load import RuleSet


def verify_rule_set(rules: RuleSet, codeset: CodeSet | None = None) -> list[str]:
    codes = codeset or CodeSet.load()
    problems: list[str] = []
    for rule in rules.rules:
        origin = rules.origin[rule.id]
        where = f"{origin.file} line {origin.line}: {rule.id}"
        for selector in rule_codes(rule):
            for code in selector.split("-"):
                try:
                    codes.get(code)
                except UnknownCode:
                    problems.append(f"{where}: {code!r} is not in {codes.version}")
        for code in rule.example.expect + ([rule.example.first] if rule.example.first else []):
            if not codes.is_billable(code):
                problems.append(f"{where}: example expects {code}, which is not a billable code")
    return problems
