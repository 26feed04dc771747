"""`codesense export RUN_ID --format fhir`: a finished run's final codes for a billing system."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    export = sub.add_parser(
        "export", help="a finished run's final codes as FHIR R4 Conditions (principal first)"
    )
    export.add_argument("run_id", metavar="RUN_ID")
    export.add_argument("--format", choices=["fhir"], default="fhir")
    export.add_argument("--output", "-o", type=Path, default=None, help="file instead of stdout")
    export.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from apps.cli.session import open_service

    service, actor = open_service()
    bundle = service.export_fhir(actor, args.run_id)
    text = orjson.dumps(bundle, option=orjson.OPT_INDENT_2).decode() + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
