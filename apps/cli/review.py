"""`codesense review RUN_ID`: a reviewer's decision on a paused run; the run resumes and finishes.

    codesense review run-1a2b... --reviewer jdoe --accept I50.23 --reject J81.1 \\
        --add E66.9 --evidence 812:819 --add I10 --reason "HTN in the nursing note"

`--evidence [DOC:]START:END` belongs to the `--add` before it (character offsets into the
document, the chart's first document unless DOC names another). An added code without evidence
needs `--reason`.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

_SPAN = re.compile(r"^(?:(?P<doc>[^:]+):)?(?P<start>\d+):(?P<end>\d+)$")


class _AddCode(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.add.append({"code": values, "spans": []})


class _AddEvidence(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        if not namespace.add:
            parser.error("--evidence must follow the --add it supports")
        match = _SPAN.match(str(values))
        if match is None:
            parser.error(f"--evidence {values!r}: expected START:END or DOC:START:END")
            return
        namespace.add[-1]["spans"].append(
            {"doc_id": match["doc"], "start": int(match["start"]), "end": int(match["end"])}
        )


def register(sub: Any) -> None:
    review = sub.add_parser(
        "review",
        help="accept, reject or add codes on a run awaiting review, and resume it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    review.add_argument("run_id", metavar="RUN_ID")
    review.add_argument(
        "--reviewer",
        default=None,
        metavar="ID",
        help="reviewer id (default: CODESENSE_ACTOR or your login name)",
    )
    review.add_argument(
        "--accept", action="append", default=[], metavar="CODE", help="keep a suggested code"
    )
    review.add_argument(
        "--reject", action="append", default=[], metavar="CODE", help="drop a suggested code"
    )
    review.add_argument(
        "--add", action=_AddCode, default=[], metavar="CODE", help="add a code the run missed"
    )
    review.add_argument(
        "--evidence",
        action=_AddEvidence,
        metavar="[DOC:]START:END",
        help="chart text supporting the preceding --add",
    )
    review.add_argument("--reason", default="", metavar="TEXT", help="why (kept encrypted)")
    review.add_argument("--format", choices=["table", "json"], default="table")
    review.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agent.review import ReviewRequest
    from apps.cli.session import open_service
    from apps.render import render_table

    service, actor = open_service()
    request = ReviewRequest(
        reviewer=args.reviewer or actor.id,
        accept=args.accept,
        reject=args.reject,
        add=args.add,
        reason=args.reason,
    )
    result = service.review(actor, args.run_id, request)
    if args.format == "json":
        sys.stdout.write(result.model_dump_json() + "\n")
        return 0
    render_table(result, args.run_id)
    assert result.review is not None
    print(f"  reviewed by {result.review.reviewer}: final codes {' '.join(result.review.codes)}")
    return 0
