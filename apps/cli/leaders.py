"""`codesense outcome|metrics|feedback`: claim outcomes from billing, the leaders' figures, and
education feedback from review corrections and Audit Sentinel findings."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any


def register(sub: Any) -> None:
    from store.outcomes import CLAIM_STATUSES

    outcome = sub.add_parser("outcome", help="record what happened to a run's claim")
    outcome.add_argument("run_id", metavar="RUN_ID")
    outcome.add_argument("--status", required=True, choices=CLAIM_STATUSES)
    outcome.add_argument(
        "--reason", action="append", default=[], metavar="CODE", help="CARC/RARC code, e.g. CO-16"
    )
    outcome.add_argument("--at", default=None, metavar="ISO-TIME", help="when (default: now)")
    outcome.set_defaults(handler=run_outcome)

    metrics = sub.add_parser(
        "metrics", help="throughput, rework, manual share, time to review and to claim, denials"
    )
    _window(metrics)
    metrics.add_argument("--group", choices=["day", "week"], default="day")
    metrics.add_argument("--setting", choices=["outpatient", "inpatient"], default=None)
    metrics.add_argument("--reviewer", default=None)
    metrics.add_argument("--format", choices=["table", "json"], default="table")
    metrics.set_defaults(handler=run_metrics)

    feedback = sub.add_parser(
        "feedback", help="recurring review corrections and Sentinel findings, with their rules"
    )
    feedback.add_argument("--by", choices=["reviewer", "category"], default="category")
    _window(feedback)
    feedback.add_argument("--format", choices=["table", "json"], default="table")
    feedback.set_defaults(handler=run_feedback)


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", type=date.fromisoformat, default=None, metavar="DATE"
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=date.fromisoformat,
        default=None,
        metavar="DATE",
        help="the day after the last day counted",
    )


def run_outcome(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service
    from store.outcomes import OutcomeRequest

    service, actor = open_service()
    request = OutcomeRequest(status=args.status, reasons=args.reason, at=args.at)
    outcome = service.record_outcome(actor, args.run_id, request)
    reasons = f" ({', '.join(outcome.reasons)})" if outcome.reasons else ""
    print(f"run {outcome.run_id}: claim {outcome.status}{reasons} at {outcome.at}")
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value / 3600:.1f} h"


def run_metrics(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    m = service.metrics(actor, args.start, args.end, args.group, args.setting, args.reviewer)
    if args.format == "json":
        sys.stdout.write(m.model_dump_json() + "\n")
        return 0
    o = m.overall
    print(f"{m.org}: {m.start} to {m.end} (exclusive), {m.throughput.days} days")
    rows = [
        ("charts coded", str(o.charts_coded)),
        ("charts per day", f"{m.throughput.charts_per_day:.2f}"),
        ("route share", ", ".join(f"{r} {_pct(v)}" for r, v in o.route_share.items())),
        ("manual review share", _pct(o.manual_review_share)),
        (
            "rework",
            f"{o.rework.reviewed_charts} reviewed: {o.rework.codes_accepted} accepted, "
            f"{o.rework.codes_rejected} rejected, {o.rework.codes_added} added; "
            f"changed {_pct(o.rework.changed_share)}",
        ),
        ("median time to review", _hours(o.median_time_to_review_s)),
        ("median time to claim", _hours(o.median_time_to_claim_s)),
        ("denial rate", f"{_pct(o.denial_rate)} of {o.claims_settled} settled"),
        ("denials by reason", ", ".join(f"{r} {n}" for r, n in o.denials_by_reason.items()) or "-"),
    ]
    for label, value in rows:
        print(f"  {label:<24} {value}")
    if m.by_reviewer:
        print("  per reviewer:")
        for name, r in m.by_reviewer.items():
            print(
                f"    {name:<20} {r.reviews} reviews ({r.reviews_per_day:.2f}/day), changed "
                f"{_pct(r.changed_share)}, median {_hours(r.median_time_to_review_s)}"
            )
    if m.most_changed_codes:
        print("  codes most often changed in review:")
        for c in m.most_changed_codes[:10]:
            print(f"    {c.code:<9} rejected {c.rejected}, added {c.added}")
    return 0


def run_feedback(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    fb = service.feedback(actor, args.by, args.start, args.end)
    if args.format == "json":
        sys.stdout.write(fb.model_dump_json() + "\n")
        return 0
    if not fb.groups:
        print("no review corrections or findings in this window")
        return 0
    for group in fb.groups:
        print(f"{group.key}: {group.total} correction(s)")
        for item in group.items:
            mark = " (recurring)" if item.recurring else ""
            print(f"  {item.kind:<10} {item.code:<9} x{item.count}{mark}  {item.description[:60]}")
            for citation in item.citations:
                print(f"      {citation}")
            print(f"      e.g. {' '.join(item.example_runs)}")
    return 0
