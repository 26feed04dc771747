"""Benchmark: what auditing costs a chart, and how fast the audit log verifies.

1. Events per chart and audit write overhead: the same charts coded in the same process by the
   bare coding graph (nothing stored, nothing audited) and by the service (run store, sealed
   chart and output, audit events with their group commits and anchors, encrypted checkpoint),
   interleaved chart by chart so both see the same machine load. Overhead is the median of the
   per-chart differences.
2. Verify speed: a fresh log of synthetic events (1,000,000 by default, anchored every 1,000),
   written in batches, then `verify_log` over all of it.

    make bench-audit
    .venv/bin/python bench/bench_audit.py --charts 40 --events 200000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")

from evals.datasets import NAMED_DATASETS  # noqa: E402

CODIESP = NAMED_DATASETS["codiesp-dev"]
OUT = ROOT / "bench" / "out"


def coding_overhead(folder: Path, limit: int) -> dict[str, float]:
    from agent.coder import Coder
    from agent.context import CodingContext
    from apps.actors import Actor
    from apps.service import Service
    from core.settings import Settings
    from evals.datasets import load_jsonl
    from tools.chart import Chart
    from tools.extract import text_document

    data = folder / "data"
    data.mkdir()
    # Reuse the built term index; everything else (database, key, anchors) starts empty.
    (data / "cache").symlink_to(ROOT / ".codesense" / "cache")
    settings = Settings(data_dir=data)
    context = CodingContext.create(settings)
    service, coder = Service(settings, context), Coder(context)
    actor = Actor(id="bench", role="admin")
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.txt"))]
    if CODIESP.is_file():
        texts += [r.text for r in load_jsonl(CODIESP, max(limit - len(texts), 0))]
    charts = [
        Chart(chart_id=f"bench-{i}", documents=[text_document(t, "d1")])
        for i, t in enumerate(texts[:limit])
    ]
    warm = charts[0]
    service.code_chart(actor, warm)
    coder.run(warm, "outpatient")

    plain, audited, events, paused = [], [], [], 0
    for chart in charts:
        t = time.perf_counter()
        coder.run(chart, "outpatient")
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = service.code_chart(actor, chart)
        audited.append(time.perf_counter() - t)
        events.append(result.audit.events)
        paused += result.route != "auto"
    diffs = [a - p for a, p in zip(audited, plain, strict=True)]
    return {
        "charts": len(charts),
        "paused_for_review": paused,
        "events_per_chart_mean": statistics.mean(events),
        "events_per_chart_min": min(events),
        "events_per_chart_max": max(events),
        "plain_ms_median": statistics.median(plain) * 1000,
        "audited_ms_median": statistics.median(audited) * 1000,
        "overhead_ms_median": statistics.median(diffs) * 1000,
        "overhead_ms_mean": statistics.mean(diffs) * 1000,
    }


def verify_speed(folder: Path, total: int, batch: int = 10_000) -> dict[str, float]:
    from store.anchors import AnchorFile
    from store.audit_log import AuditLog
    from store.db import Database, sqlite_url
    from store.events import EventDraft
    from store.keys import Keys
    from store.tables import ensure_tables
    from store.verify import verify_log

    keys = Keys.derive(os.urandom(32).hex().encode())
    db = Database(sqlite_url(folder / "verify.db"))
    ensure_tables(db)
    log = AuditLog(db, AnchorFile(folder / "anchors.jsonl", keys.anchors, keys.key_id), 1000)
    # Realistic shapes: a tool call with codes and spans, a step, a model call.
    drafts = [
        EventDraft(
            run_id=f"run-{i:016x}",
            action="tool.call",
            name="cite",
            chart="sha256:" + f"{i:02x}" * 32,
            output_hash="sha256:" + "ab" * 32,
            codes=["E11.22", "N18.31"],
            spans=[{"doc": 0, "start": 120 + i, "end": 160 + i}],
            count=2,
        )
        for i in range(7)
    ] + [
        EventDraft(
            run_id="run-00000000000000ff",
            action="graph.step",
            name="score_and_route",
            input_hash="sha256:" + "cd" * 32,
            output_hash="sha256:" + "ef" * 32,
            codes=["E11.22", "I10", "I50.23"],
            result="review",
            count=3,
        ),
    ]
    t = time.perf_counter()
    written = 0
    while written < total:
        n = min(batch, total - written)
        log.append([drafts[(written + i) % len(drafts)] for i in range(n)], anchor=True)
        written += n
    write_s = time.perf_counter() - t
    db.close()
    size = sum(p.stat().st_size for p in folder.glob("verify.db*"))
    log = AuditLog(Database(sqlite_url(folder / "verify.db")), log.anchors, 1000)
    report = verify_log(log)
    assert report.ok, report.problem
    tail = verify_log(log, first=total - 999)
    return {
        "events": report.events,
        "anchors_checked": report.anchors_checked,
        "write_events_per_s": total / write_s,
        "verify_seconds": report.seconds,
        "verify_events_per_s": report.events_per_second,
        "verify_last_1000_ms": tail.seconds * 1000,
        "bytes_per_event": size / total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=60, help="charts for the overhead run")
    parser.add_argument("--events", type=int, default=1_000_000, help="events for verify")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        folder = Path(tmp)
        coding = coding_overhead(folder, args.charts)
        print(
            f"coding, {coding['charts']} charts ({coding['paused_for_review']} paused for review):"
            f"\n  events per chart      {coding['events_per_chart_mean']:.1f} "
            f"(min {coding['events_per_chart_min']}, max {coding['events_per_chart_max']})"
            f"\n  per chart, no audit   {coding['plain_ms_median']:.1f} ms (median)"
            f"\n  per chart, audited    {coding['audited_ms_median']:.1f} ms (median)"
            f"\n  audit overhead        {coding['overhead_ms_median']:.1f} ms median, "
            f"{coding['overhead_ms_mean']:.1f} ms mean"
        )
        verify = verify_speed(folder, args.events)
        print(
            f"audit log, {verify['events']:,} synthetic events:"
            f"\n  write (batches of 10k) {verify['write_events_per_s']:,.0f} events/s"
            f"\n  verify                 {verify['verify_events_per_s']:,.0f} events/s "
            f"({verify['verify_seconds']:.1f} s, {verify['anchors_checked']:,} anchors)"
            f"\n  verify last 1,000      {verify['verify_last_1000_ms']:.1f} ms"
            f"\n  on disk                {verify['bytes_per_event']:.0f} bytes/event"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "audit.json").write_text(json.dumps({"coding": coding, "verify": verify}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
