"""`codesense eval --reasoner llm` end to end against the scripted endpoint (no real model): the
cooperative scripted model reads each chart's data block, calls two tools and agrees with the
draft, so the figures show the plumbing's cost (tokens the prompts take, requests, latency on
loopback) beside the same charts coded offline in the same run.

    .venv/bin/python bench/llm_scripted_eval.py [--limit 5] [--dataset codiesp-dev]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--dataset", default="codiesp-dev")
    args = parser.parse_args()

    from evals.evaluate import evaluate
    from evals.scripted_llm import ScriptedLlm
    from evals.scripted_models import cooperative

    data_dir = ROOT / ".codesense"
    out = Path(tempfile.mkdtemp(prefix="codesense-llm-eval-"))
    with ScriptedLlm(cooperative) as llm:
        os.environ.update(
            CODESENSE_LLM_BASE_URL=llm.base_url,
            CODESENSE_LLM_MODEL="scripted-cooperative",
        )
        runs = {}
        for reasoner in ("offline", "llm"):
            t0 = time.perf_counter()
            runs[reasoner] = evaluate(
                args.dataset,
                out / reasoner,
                data_dir=data_dir,
                limit=args.limit,
                workers=1,
                fresh=True,
                semantic=False,
                reasoner=reasoner,
            )
            runs[reasoner + "_wall"] = time.perf_counter() - t0  # type: ignore[assignment]
    for reasoner in ("offline", "llm"):
        s = runs[reasoner]
        f1 = s.scorings[s.mode]["valid gold"].micro  # type: ignore[union-attr]
        print(
            f"{reasoner:8s} {s.charts} charts: P {f1.precision:.3f} R {f1.recall:.3f} "  # type: ignore[union-attr]
            f"F1 {f1.f1:.3f} | p50 {s.latency.p50_ms:.0f} ms p95 {s.latency.p95_ms:.0f} ms a chart"  # type: ignore[union-attr]
        )
    cost = runs["llm"].model_cost  # type: ignore[union-attr]
    assert cost is not None
    print(
        f"model cost: {cost.total_tokens} tokens ({cost.prompt_tokens} prompt, "
        f"{cost.completion_tokens} completion), {cost.tokens_per_chart.mean:.0f} a chart "
        f"(p95 {cost.tokens_per_chart.p95:.0f}); {cost.requests_per_chart} requests and "
        f"{cost.tool_calls_per_chart} tool calls a chart; waiting for the model p50 "
        f"{cost.latency_ms.p50:.0f} ms, p95 {cost.latency_ms.p95:.0f} ms; fallbacks "
        f"{cost.fallbacks}"
    )
    for c in cost.per_chart:
        print(
            f"  {c.id}: {c.prompt_tokens}+{c.completion_tokens} tokens, {c.requests} requests, "
            f"{c.tool_calls} tools, model {c.model_latency_ms} ms, chart {c.chart_latency_ms:.0f} ms"
        )
    print(f"reports: {out}/offline/report.md, {out}/llm/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
