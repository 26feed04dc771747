"""The `codesense` command line: code charts and print the result as a table or as contract JSON."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from tools.errors import CodeSenseError

log = logging.getLogger("codesense")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesense",
        description="Suggest ICD-10-CM codes for patient charts, citing the chart text behind each.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if args.command == "code":
            return _code(args)
    except CodeSenseError as err:
        print(f"codesense: {err}", file=sys.stderr)
        return err.exit_code
    except ValidationError as err:
        print(f"codesense: invalid settings: {err.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codesense: interrupted", file=sys.stderr)
        return 130
    return 2


def _code(args: argparse.Namespace) -> int:
    from agent.settings import Settings
    from apps.render import render_table
    from apps.service import CodingService

    settings = Settings()
    # Check every path before loading anything heavy, so a typo fails in milliseconds.
    from tools.extract.intake import check_path

    for f in args.files:
        check_path(Path(f), max_bytes=int(settings.max_file_mb * 1024 * 1024))
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
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
