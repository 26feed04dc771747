"""`codesense code FILE...`: code charts, print a readable table or the contract's JSON Lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tools.errors import CodeSenseError


def register(sub: Any) -> None:
    code = sub.add_parser("code", help="code one or more chart files (text or PDF)")
    code.add_argument("files", nargs="+", metavar="FILE", help="chart files: .txt (UTF-8) or .pdf")
    code.add_argument(
        "--setting",
        choices=["outpatient", "inpatient"],
        default=None,
        help="coding setting (default: outpatient, or CODESENSE_SETTING)",
    )
    code.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="table for people, json for programs (JSON Lines for several files)",
    )
    code.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agent.settings import Settings
    from apps.render import render_table
    from apps.service import CodingService

    settings = Settings()
    # Check every path before loading anything heavy, so a typo fails in milliseconds.
    from tools.extract.intake import check_path

    for f in args.files:
        check_path(Path(f), max_bytes=int(settings.max_file_mb * 1024 * 1024))
    from tools.lookup import TermIndex

    if not TermIndex.cache_path(settings.cache_dir).is_file():
        print(
            "codesense: building the term index from the code set (first run, about a minute)",
            file=sys.stderr,
        )
    service = CodingService(settings)
    failures = 0
    for f in args.files:
        try:
            result = service.code_file(f, setting=args.setting)
        except CodeSenseError as err:
            # One bad file in a batch must not lose the others' results.
            print(f"codesense: {err}", file=sys.stderr)
            failures += 1
            continue
        if args.format == "json":
            sys.stdout.write(result.model_dump_json() + "\n")
        else:
            render_table(result, Path(f).name)
        sys.stdout.flush()
        if result.route != "auto":
            # Routed to a person: the run is paused until `codesense review` decides.
            print(
                f"codesense: run {result.run_id} awaits review ({result.route}): "
                f"codesense review {result.run_id} --reviewer ID --accept/--reject/--add CODE",
                file=sys.stderr,
            )
    return 2 if failures else 0
