"""Benchmark: Audit Sentinel's time per chart, beside coding the same chart in the same run.

For each example chart: code it (the reference: `Service.code_file`, stored and audited), then
audit three code sets against it through `Service.audit_codes` (stored and audited too): the
codes Code Sense itself supports (no findings expected), the same with the first one dropped and
a code of a non-present mention added, and with the first replaced by its category. Prints
p50/p95 per audit, per code, and the share of the checks alone (comparison, code set, rules,
HCC) measured on the coded state.

    make bench-sentinel
    .venv/bin/python bench/bench_sentinel.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="audits of each code set")
    args = parser.parse_args()

    from agent.coder import Coder
    from agent.sentinel import check
    from apps.actors import Actor
    from apps.service import Service
    from core.settings import Settings
    from tools.chart import Chart
    from tools.extract import text_document

    with tempfile.TemporaryDirectory(prefix="codesense-bench-") as folder:
        data = Path(folder)
        # Share the term index cache with the checkout (built on first use, as tests do).
        shared = ROOT / ".codesense" / "cache"
        shared.mkdir(parents=True, exist_ok=True)
        (data / "cache").symlink_to(shared.resolve(), target_is_directory=True)
        service = Service(Settings(data_dir=data))
        actor = Actor(id="bench", role="auditor", org="default", via="cli")
        admin = Actor(id="bench", role="admin", org="default", via="cli")
        started = time.perf_counter()
        service.warm()
        print(f"warm-up (term index, rules, graphs): {time.perf_counter() - started:.1f} s")
        coder = Coder(service.context)
        charts = sorted((ROOT / "examples").glob("*.txt"))
        # The first chart loads the NLP pipelines: not part of any timing.
        service.code_file(admin, charts[0])
        clean_findings = 0
        code_times: list[float] = []
        audit_times: list[float] = []
        check_times: list[float] = []
        codes_audited = 0
        findings = 0
        for path in charts:
            t0 = time.perf_counter()
            result = service.code_file(admin, path)
            code_times.append(time.perf_counter() - t0)
            supported = [s.code for s in result.suggestions]
            if not supported:
                continue
            other = next(
                (m.codes[0] for m in result.mentions if m.assertion != "present" and m.codes),
                None,
            )
            code_sets = [
                supported,
                supported[1:] + ([other] if other and other not in supported else []),
                [supported[0][:3], *supported[1:]],
            ]
            text = path.read_text(encoding="utf-8")
            chart = Chart(chart_id="bench", documents=[text_document(text, "d1")])
            state = coder.run(chart, result.setting)
            for n, codes in enumerate(code_sets):
                if not codes:
                    continue
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    report = service.audit_codes(actor, codes=codes, path=path)
                    audit_times.append(time.perf_counter() - t0)
                    codes_audited += len(codes)
                    findings += len(report.findings)
                    if n == 0:
                        clean_findings += len(report.findings)
                    t0 = time.perf_counter()
                    check(state, [a.code for a in report.assigned], service.context.rules)
                    check_times.append(time.perf_counter() - t0)
        per_code = sum(audit_times) / max(codes_audited, 1)
        print(
            f"charts: {len(charts)}, audits: {len(audit_times)}, codes audited: {codes_audited}, findings: {findings}"
        )
        # Its own checks warn on these too (an Excludes1 pair, an HCC without MEAT).
        print(f"findings on the codes Code Sense itself suggests: {clean_findings}")
        print(f"coding a chart (reference):   {_ms(code_times)}")
        print(
            f"auditing a chart (Sentinel):  {_ms(audit_times)}  ({per_code * 1000:.1f} ms per code)"
        )
        print(f"  of which the checks alone:  {_ms(check_times)}")
        report = service.verify_audit(admin)
        print(
            f"audit chain after the run: {'verifies' if report.ok else 'BROKEN'} ({report.events} events)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
