"""`codesense show RUN_ID`: one stored run, its output (codes with evidence) and any review, or
an Audit Sentinel audit's report."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    show = sub.add_parser("show", help="print one stored run")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="table for people; json prints the run's output (the contract, plus any review)",
    )
    show.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from apps.cli.session import open_service
    from apps.render import render_table

    service, actor = open_service()
    view = service.run(actor, args.run_id, surface="show")
    if view.run.kind == "audit":
        # An Audit Sentinel audit: its report, as `codesense audit-codes` printed it.
        from apps.sentinel_report import render_findings

        report = service.audit_report(actor, args.run_id, surface="show")
        if args.format == "json":
            sys.stdout.write(report.model_dump_json() + "\n")
        else:
            render_findings(report, f"audit of {report.chart_id}")
        return 0
    if args.format == "json":
        sys.stdout.write((view.result.model_dump_json() if view.result else "null") + "\n")
        return 0
    r = view.run
    console = Console(soft_wrap=False)
    console.print(
        f"run {r.run_id}  {r.status.replace('_', ' ')}  created {r.created_at} by {r.actor}  "
        f"audit {r.audit_events} events"
    )
    result = view.result
    if result is None:
        console.print("  no output stored (the run did not finish)")
        return 0
    render_table(result, r.run_id, console)
    if result.review:
        rv = result.review
        console.print(f"  Reviewed by {rv.reviewer} at {rv.decided_at}")
        console.print(f"    accepted: {' '.join(rv.accepted) or 'none'}")
        console.print(f"    rejected: {' '.join(rv.rejected) or 'none'}")
        for added in rv.added:
            console.print(f"    added: {added.code} {added.description}")
        console.print(f"    reason: {rv.reason or '(none given)'}")
        console.print(f"    final codes: {' '.join(rv.codes)}")
    elif r.status == "awaiting_review":
        console.print(f"  awaits review: codesense review {r.run_id} --accept/--reject/--add CODE")
    return 0
