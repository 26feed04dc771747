"""The `codesense` command line. Each command lives in its own module with `register(sub)`.

A command module adds its subparser and sets `handler` to a function taking the parsed arguments
and returning the exit status; errors a user can act on are `CodeSenseError`s, printed as one line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from apps.cli import (
    apikey,
    audit,
    audit_codes,
    batch,
    code,
    export,
    index,
    leaders,
    rerank,
    review,
    rules,
    runs,
    schema,
    serve,
    show,
    slack,
    trace,
)
from apps.cli import eval as evaluate
from core.errors import CodeSenseError

# Command modules, in the order `codesense --help` lists them.
COMMANDS = [
    code,
    batch,
    evaluate,
    rerank,
    index,
    review,
    runs,
    show,
    trace,
    export,
    leaders,
    audit,
    audit_codes,
    rules,
    serve,
    slack,
    apikey,
    schema,
]

log = logging.getLogger("codesense")


# The loggers `-v` turns up to INFO: ours, named by module (`log = logging.getLogger(__name__)`).
OUR_PACKAGES = ("agent", "apps", "core", "evals", "store", "tools")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesense",
        description="Suggest ICD-10-CM codes for patient charts, citing the chart text behind each.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Libraries stay at WARNING even with -v: PyFastNER (under PyRuSH) logs '"\\." is not a
    # eligible syntax' to the root logger at INFO for every rule character it meets, about 1,600
    # lines a chart, and a library's INFO line may quote the text it was given.
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.verbose:
        for package in OUR_PACKAGES:
            logging.getLogger(package).setLevel(logging.INFO)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Checkpoint loading accepts only allow-listed types (read when langgraph is imported).
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except CodeSenseError as err:
        print(f"codesense: {err}", file=sys.stderr)
        return err.exit_code
    except ValidationError as err:
        # Settings are the only models built from outside input before a command runs; any
        # other validation error is named by its field, never as a traceback.
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or err.title
        label = "invalid settings" if err.title == "Settings" else f"invalid {err.title}"
        print(f"codesense: {label}: {where}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codesense: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
