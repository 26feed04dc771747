"""Benchmark: code the CodiEsp dev set and print speed, memory and a first accuracy.

Prints charts per second, p50/p95 latency per chart (warm), peak memory, and micro-F1 in
"all mentions" mode (the union of every mention's codes, whatever its assertion, as CodiEsp
annotators coded negated and past mentions too). The reference measured in the same run is the
exact-match baseline from FIELD-NOTES: tabular titles and inclusion terms, Aho-Corasick over
lower-cased text, longest match wins, no negation.

    make bench                      # whole dev set
    .venv/bin/python bench/bench_coding.py --limit 50
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evals.datasets import NAMED_DATASETS  # noqa: E402

DEFAULT_DATA = NAMED_DATASETS["codiesp-dev"]


def baseline_predictor():
    """The 40-line exact-match reference: longest title / inclusion term wins, no negation."""
    import ahocorasick

    from tools.codeset import CodeSet

    automaton = ahocorasick.Automaton()
    for code, text, _ in CodeSet.load().iter_terms():
        # "Hematuria, unspecified" and "Pneumonia NOS" are written "hematuria", "pneumonia".
        term = re.sub(r",?\s*(unspecified|nos)\b.*$", "", text.lower()).strip()
        if len(term) >= 4 and term not in automaton:
            automaton.add_word(term, (len(term), code))
    automaton.make_automaton()

    def predict(text: str) -> set[str]:
        low = text.lower()
        hits = []
        for end, (length, code) in automaton.iter(low):
            start = end - length + 1
            before = low[start - 1] if start > 0 else " "
            after = low[end + 1] if end + 1 < len(low) else " "
            if not before.isalnum() and not after.isalnum():
                hits.append((start, end, code))
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        out: set[str] = set()
        last_end = -1
        for start, end, code in hits:
            if start > last_end:
                out.add(code)
                last_end = end
        return out

    return predict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    if not args.data.is_file():
        print(
            f"bench: {args.data} not found (the project carries it in data/evals/)", file=sys.stderr
        )
        return 2

    from apps.actors import Actor
    from apps.service import Service
    from core.codes import undot
    from core.settings import Settings
    from evals.datasets import load_jsonl
    from evals.metrics import category, micro
    from tools.chart import Chart
    from tools.codeset import CodeSet
    from tools.extract import text_document

    records = load_jsonl(args.data, args.limit)
    t0 = time.perf_counter()
    service = Service(Settings(data_dir=ROOT / ".codesense"))
    actor = Actor(id="bench", role="admin")
    codeset = CodeSet.load()
    # Warm the NLP pipelines on one chart so latencies below are per-chart, not start-up.
    service.code_chart(actor, Chart(chart_id="warm", documents=[text_document("Fever.", "warm")]))
    startup = time.perf_counter() - t0

    latencies: list[float] = []
    predicted: list[set[str]] = []
    t_all = time.perf_counter()
    for rec in records:
        t = time.perf_counter()
        chart = Chart(chart_id=rec.id, documents=[text_document(rec.text, rec.id)])
        result = service.code_chart(actor, chart)
        latencies.append(time.perf_counter() - t)
        predicted.append({undot(c) for m in result.mentions for c in m.codes})
    elapsed = time.perf_counter() - t_all
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # An ordinary two-page note, warm: as text, and as a PDF (parsed in a child process).
    two_page = {}
    for name in ("clinic_progress_note.txt", "clinic_followup.pdf"):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            service.code_file(actor, ROOT / "examples" / name)
            runs.append(time.perf_counter() - t)
        two_page[name] = statistics.median(runs) * 1000

    predict = baseline_predictor()
    t_base = time.perf_counter()
    base_pred = [{undot(c) for c in predict(rec.text)} for rec in records]
    base_elapsed = time.perf_counter() - t_base

    gold_all = [{undot(c) for c in rec.codes} for rec in records]
    gold_valid = [{c for c in g if codeset.exists(c)} for g in gold_all]

    def report(name: str, preds: list[set[str]]) -> None:
        full = micro(zip(preds, gold_all, strict=True))
        valid = micro(zip(preds, gold_valid, strict=True))
        cat = micro(
            (({category(c) for c in p}, {category(c) for c in g}))
            for p, g in zip(preds, gold_all, strict=True)
        )
        print(
            f"{name:<22} valid-gold P {valid.precision:.3f} R {valid.recall:.3f} "
            f"F1 {valid.f1:.3f} | all-gold F1 {full.f1:.3f} | category F1 {cat.f1:.3f}"
        )

    lat_ms = sorted(x * 1000 for x in latencies)
    p95 = lat_ms[min(len(lat_ms) - 1, int(0.95 * len(lat_ms)))]
    print(f"CodiEsp dev: {len(records)} charts, {sum(len(r.text) for r in records)} characters")
    print(f"start-up (term index, NLP load, warm-up): {startup:.1f} s")
    print(
        f"Code Sense: {len(records) / elapsed:.1f} charts/s, p50 {statistics.median(lat_ms):.0f} ms,"
        f" p95 {p95:.0f} ms per chart, peak RSS {peak_mb:.0f} MB"
    )
    print(f"baseline:   {len(records) / base_elapsed:.0f} charts/s")
    for name, ms in two_page.items():
        print(f"two-page note {name}: {ms:.0f} ms per chart (median of 5, warm)")
    print("accuracy, all-mentions mode:")
    report("Code Sense", predicted)
    report("exact-match baseline", base_pred)
    return 0


if __name__ == "__main__":
    sys.exit(main())
