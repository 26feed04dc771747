"""`codesense audit verify|events`: check the audit chain against its anchors; list events."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from apps.cli.options import at_least_one


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="verify the audit log or list its events")
    commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = commands.add_parser(
        "verify", help="check every event's hash, the chain and the signed anchors"
    )
    verify.add_argument("--from", dest="first", type=int, default=1, metavar="N")
    verify.add_argument("--to", dest="last", type=int, default=None, metavar="M")
    verify.set_defaults(handler=run_verify)
    events = commands.add_parser("events", help="print audit events as JSON Lines")
    events.add_argument("--run", dest="run_id", default=None, metavar="RUN_ID")
    events.add_argument("--from", dest="first", type=int, default=1, metavar="N")
    events.add_argument("--limit", type=at_least_one, default=100)
    events.set_defaults(handler=run_events)


def run_verify(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    report = service.verify_audit(actor, first=args.first, last=args.last)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if not report.ok:
        where = f"seq {report.first_bad}" if report.first_bad is not None else "anchors"
        print(f"audit log BROKEN at {where}: {report.problem}")
        return 1
    print(
        f"audit log ok: {report.events:,} events (seq {report.first}-{report.last}), "
        f"{report.anchors_checked} signed anchors matched, "
        f"{report.events_per_second:,.0f} events/s"
    )
    return 0


def run_events(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    events = service.audit_events(actor, run_id=args.run_id, first=args.first, limit=args.limit)
    for event in events:
        sys.stdout.write(event.model_dump_json(exclude_defaults=True) + "\n")
    return 0
