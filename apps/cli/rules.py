"""`codesense rules list|show ID|check|find`: browse, validate and search the rule packs.

`check` loads every pack (a bad rule is reported with its file and line), checks that each code
a rule names exists in the code set, and with `--examples` codes each rule's test example through
the whole pipeline. Exit status: 0 when all is well, 1 when a check failed, 2 when a pack does
not load.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

from apps.cli.options import at_least_one


def register(sub: Any) -> None:
    rules = sub.add_parser("rules", help="browse, validate and search the rule packs in rules/")
    cmds = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")

    ls = cmds.add_parser("list", help="list the rules (id, kind, severity, setting, citation)")
    ls.add_argument("--kind", help="only rules of this kind (e.g. combine, cdi-query)")
    ls.add_argument("--source", help="only rules whose source contains this text")
    ls.add_argument("--code", help="only rules that name this code")
    ls.set_defaults(handler=run_list)

    show = cmds.add_parser("show", help="show one rule in full, with its file and line")
    show.add_argument("rule_id", metavar="ID")
    show.set_defaults(handler=run_show)

    check = cmds.add_parser("check", help="validate every pack; --examples also runs examples")
    check.add_argument(
        "--examples", action="store_true", help="code each rule's example and check it"
    )
    check.set_defaults(handler=run_check)

    find = cmds.add_parser("find", help="rules that apply to a code or a situation")
    find.add_argument("query", nargs="+", help="words, a code, or both")
    find.add_argument("--setting", choices=["outpatient", "inpatient"])
    find.add_argument("--limit", type=at_least_one, default=10)
    find.set_defaults(handler=run_find)


def run_list(args: argparse.Namespace) -> int:
    from tools.rule_lookup import rule_index
    from tools.rules import rule_set

    rs = rule_set()
    selected = list(range(len(rs.rules)))
    if args.code:
        selected = rule_index(rs).naming(args.code.strip().upper())
    count = 0
    for i in selected:
        rule = rs.rules[i]
        origin = rs.origin[rule.id]
        if args.kind and rule.kind != args.kind:
            continue
        if args.source and args.source.lower() not in origin.source.lower():
            continue
        count += 1
        print(
            f"{rule.id:48} {rule.kind:26} {rule.severity:7} {rule.setting:10} {rule.citation[:60]}"
        )
    print(f"{count} rules (rules version {rs.version[:19]})", file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from core.errors import CodeSenseError
    from tools.rules import rule_set
    from tools.rules.load import rule_summary

    rs = rule_set()
    rule = rs.get(args.rule_id)
    if rule is None:
        raise CodeSenseError(f"no rule {args.rule_id!r}; see `codesense rules list`")
    origin = rs.origin[rule.id]
    print(f"# {origin.file} line {origin.line} - {origin.source}")
    sys.stdout.write(
        yaml.dump(
            rule_summary(rule), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
        )
    )
    return 0


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (example notes) as YAML block literals, as a person writes them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def run_check(args: argparse.Namespace) -> int:
    from tools.rules.load import load_rule_set
    from tools.rules.verify import verify_rule_set

    rs = load_rule_set()  # raises RulesError (file and line) when a pack does not load
    problems = verify_rule_set(rs)
    for p in problems:
        print(p)
    counts = ", ".join(f"{n} {source}" for source, n in sorted(rs.by_source().items()))
    print(f"{len(rs)} rules in {len(rs.packs)} packs: {counts}")
    failed = len(problems)
    if args.examples:
        failed += _run_examples(rs)
    print("ok" if not failed else f"{failed} problem(s)")
    return 1 if failed else 0


def _run_examples(rs: Any) -> int:
    from agent.coder import Coder
    from agent.guidelines.examples import check_examples

    coder = Coder()
    outcomes = check_examples(rs, lambda note, setting: coder.code_text(note, setting))
    bad = [o for o in outcomes if not o.ok]
    for o in bad:
        print(f"{o.rule_id}: example fails: {'; '.join(o.problems)} (coded {', '.join(o.codes)})")
    print(f"{len(outcomes) - len(bad)} of {len(outcomes)} rule examples pass")
    return len(bad)


def run_find(args: argparse.Namespace) -> int:
    from tools.rule_lookup import RuleLookupInput, lookup_rules

    query = " ".join(args.query)
    out = lookup_rules(RuleLookupInput(query=query, setting=args.setting, limit=args.limit))
    for h in out.hits:
        print(f"{h.id:48} {h.why:14} {h.citation[:50]}  ({h.file}:{h.line})")
        print(f"    {h.title}")
    if not out.hits:
        print("no rule matches", file=sys.stderr)
    return 0
