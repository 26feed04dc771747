"""`codesense runs`: the most recent runs, their route, status and codes (nothing from the chart)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from apps.cli.options import at_least_one


def register(sub: Any) -> None:
    from store.runs import RUN_STATUSES

    runs = sub.add_parser("runs", help="list recent runs")
    runs.add_argument("--limit", type=at_least_one, default=20, help="how many (default 20)")
    runs.add_argument(
        "--status", choices=RUN_STATUSES, default=None, help="only runs in this state"
    )
    runs.add_argument(
        "--route", choices=["auto", "review", "escalate"], default=None, help="only this route"
    )
    runs.add_argument(
        "--kind", choices=["code", "audit"], default=None, help="coding runs or Sentinel audits"
    )
    runs.add_argument("--format", choices=["table", "json"], default="table")
    runs.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from apps.cli.session import open_service

    service, actor = open_service()
    found = service.runs(
        actor, status=args.status, route=args.route, limit=args.limit, kind=args.kind
    )
    if args.format == "json":
        for record in found:
            sys.stdout.write(record.model_dump_json() + "\n")
        return 0
    if not found:
        print("no runs yet")
        return 0
    print(f"{'RUN':<21} {'CREATED (UTC)':<19} {'STATUS':<15} {'ROUTE':<8} {'CHART':<12} CODES")
    for r in found:
        print(
            f"{r.run_id:<21} {r.created_at[:19].replace('T', ' '):<19} {r.status:<15} "
            f"{r.route or ('audit' if r.kind == 'audit' else '-'):<8} {(r.chart_hash or '-')[7:19]:<12} {' '.join(r.codes)}"
        )
    return 0
