"""Rule packs: coding guidelines, edits, CDI queries and payer rules as versioned YAML data.

`rule_set()` loads every pack under `rules/<folder>/*.yaml` once (and again when a file changes),
checked against the schema in `tools.rules.schema`; the engine in `agent/guidelines/` and the
checks in `tools/validate.py` interpret the rules.
"""

from tools.rules.codes import CodeMatcher
from tools.rules.load import RuleOrigin, RuleSet, load_rule_set, pack_files, rule_set
from tools.rules.schema import KINDS, Pack, Rule, RuleBase

__all__ = [
    "KINDS",
    "CodeMatcher",
    "Pack",
    "Rule",
    "RuleBase",
    "RuleOrigin",
    "RuleSet",
    "load_rule_set",
    "pack_files",
    "rule_set",
]
