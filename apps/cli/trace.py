"""`codesense trace RUN_ID`: why each code, as JSON, Markdown or a self-contained HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    trace = sub.add_parser("trace", help="the justification trace of a run")
    trace.add_argument("run_id", metavar="RUN_ID")
    trace.add_argument("--format", choices=["json", "md", "html"], default="md")
    trace.add_argument(
        "--output", "-o", type=Path, default=None, help="write to this file instead of stdout"
    )
    trace.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service
    from apps.trace import trace_markdown
    from apps.trace_html import trace_html

    service, actor = open_service()
    view = service.trace(actor, args.run_id, surface="trace")
    if args.format == "json":
        text = view.trace.model_dump_json(indent=2) + "\n"
    elif args.format == "md":
        text = trace_markdown(view.trace)
    else:
        text = trace_html(view.trace, view.chart)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
