"""`codesense schema write|check|show NAME`: the published JSON Schemas under schema/."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    schema = sub.add_parser("schema", help="write, check or show the published JSON Schemas")
    actions = schema.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    actions.add_parser("write", help="regenerate schema/ from the models").set_defaults(
        handler=run_write
    )
    actions.add_parser(
        "check", help="exit 1 when a committed schema differs from the models"
    ).set_defaults(handler=run_check)
    show = actions.add_parser("show", help="print one schema")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(handler=run_show)


def run_write(args: argparse.Namespace) -> int:
    from apps.schemas import write_all

    for path in write_all():
        print(f"wrote {path.name}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from apps.schemas import published, stale

    bad = stale()
    for name in bad:
        print(f"schema {name} is out of date: run `codesense schema write`", file=sys.stderr)
    if not bad:
        print(f"{len(published())} schemas match the models")
    return 1 if bad else 0


def run_show(args: argparse.Namespace) -> int:
    from apps.schemas import render

    sys.stdout.write(render(args.name))
    return 0
