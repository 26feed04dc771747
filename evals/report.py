"""The eval report: `report.md`, `summary.json` and PNG plots (reliability curve, F1 per chapter,
precision and recall by confidence threshold) written to the run's output folder.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from evals.summary import MODES, SCORINGS, Summary

RELIABILITY_PNG = "reliability.png"
CHAPTERS_PNG = "chapter-f1.png"
THRESHOLDS_PNG = "precision-recall-by-threshold.png"


def write_report(summary: Summary, out_dir: Path, command: str = "") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_bytes(
        orjson.dumps(summary.model_dump(), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    )
    _plots(summary, out_dir)
    path = out_dir / "report.md"
    path.write_text(render_markdown(summary, command), encoding="utf-8")
    return path


def _pct(x: float) -> str:
    return f"{x:.3f}"


def render_markdown(s: Summary, command: str = "") -> str:
    cal = s.calibration
    routing = s.routing
    lines = [
        f"# Eval report: {s.dataset}",
        "",
        f"{s.charts} charts ({s.errors} failed), {s.gold_codes} gold codes, "
        f"{s.valid_gold_codes} of them valid in ICD-10-CM 2026-04. Headline mode: **{s.mode}**.",
    ]
    if command:
        lines += ["", "Reproduce:", "", "```sh", command, "```"]
    lines += [
        "",
        "## Accuracy",
        "",
        "all-mentions: the union of every mention's code, whatever its assertion (how CodiEsp was "
        "annotated); guidelines: the codes suggested for billing. Micro averages pool every code; "
        "macro averages weigh each code equally. Codes are compared without their 7th character "
        "and placeholder X's, which CodiEsp's gold omits (T14.90 for T14.90XA). "
        "A valid gold code that is a category in the 2026 code set (R51, M54.5, R05, E87.2: split "
        "into children after CodiEsp was annotated) is read by one predicted code beneath it in the "
        '"valid gold" rows, and only as written in the "valid gold, categories as written" rows; '
        'the "valid gold, exact" rows compare codes character for character.',
        "",
        "| mode | scoring | micro P | micro R | micro F1 | macro P | macro R | macro F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        for name in SCORINGS:
            sc = s.scorings[mode][name]
            lines.append(
                f"| {mode} | {name} | {_pct(sc.micro.precision)} | {_pct(sc.micro.recall)} | "
                f"**{_pct(sc.micro.f1)}** | {_pct(sc.macro.precision)} | {_pct(sc.macro.recall)} | "
                f"{_pct(sc.macro.f1)} |"
            )
    lines += [
        "",
        "## Candidates, near misses, evidence",
        "",
        "Candidate recall@k: share of valid gold codes among the top-k candidates of some mention "
        "of their chart, or of some phrase the term index matched nothing in (the ceiling on "
        "recall). Semantic-index candidates: "
        + ("on." if s.semantic else "off (index not built or --no-semantic)."),
        "",
        "| k | " + " | ".join(str(k) for k in s.recall_at_k) + " |",
        "|---|" + "---|" * len(s.recall_at_k),
        "| recall | " + " | ".join(_pct(v) for v in s.recall_at_k.values()) + " |",
        "| candidates per chart | "
        + " | ".join(f"{v:.0f}" for v in s.candidates_per_chart.values())
        + " |",
        "",
        f"- Near misses ({s.mode}): {s.near_misses} missed gold codes had a sibling of the same "
        "category predicted instead.",
        f"- Evidence validity: {s.evidence_validity:.1%} of {s.suggestions} suggestions cite spans "
        f"whose quote equals the chart text at their offsets; mention spans: "
        f"{s.mention_span_validity:.1%}.",
        "",
        "## Routing and calibration",
        "",
        "A suggestion counts as right when it reads a code of the chart's valid gold (itself, or a "
        "code beneath a gold category).",
        "",
        f"- Chart routes: {_shares(routing.chart_routes)}; code statuses: "
        f"{_shares(routing.code_statuses)}.",
        f"- Wrong codes caught by routing (sent to review or escalation, not auto): "
        f"{routing.wrong_caught} of {routing.wrong_codes}; right codes a coder still had to look "
        f"at: {routing.right_held} of {routing.right_codes}.",
        f"- Expected calibration error (10 bins): **{cal.ece:.3f}**; Brier score {cal.brier:.3f}; "
        f"{cal.codes} codes.",
    ]
    if cal.auto_threshold is not None:
        lines.append(
            f"- Lowest threshold at which `auto` codes are at least 95% precise: "
            f"**{cal.auto_threshold:.2f}** (precision {cal.auto_precision:.3f}, "
            f"{cal.auto_share:.1%} of codes)."
        )
    else:
        lines.append("- No threshold reaches 95% precision with at least 20 codes.")
    lines += [
        f"- At the configured auto threshold: precision {cal.configured_auto_precision:.3f}, "
        f"{cal.configured_auto_share:.1%} of codes.",
        "",
        f"![reliability]({RELIABILITY_PNG}) ![thresholds]({THRESHOLDS_PNG})",
        "",
        "| confidence bin | codes | mean confidence | accuracy |",
        "|---|---|---|---|",
    ]
    for b in s.calibration.bins:
        if b.count:
            lines.append(
                f"| {b.lo:.1f}-{b.hi:.1f} | {b.count} | {b.confidence:.3f} | {b.accuracy:.3f} |"
            )
    lines += [
        "",
        f"## F1 per chapter ({s.mode}, valid gold)",
        "",
        f"![chapters]({CHAPTERS_PNG})",
        "",
        "| chapter | title | gold | P | R | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for ch in s.chapters:
        lines.append(
            f"| {ch.chapter} | {ch.title} | {ch.gold} | {_pct(ch.precision)} | "
            f"{_pct(ch.recall)} | {_pct(ch.f1)} |"
        )
    lines += [
        "",
        "## Errors",
        "",
        "Most frequent missed gold codes: "
        + ", ".join(f"{c} ({n})" for c, n in s.top_false_negatives[:15]),
        "",
        "Most frequent wrong codes: "
        + ", ".join(f"{c} ({n})" for c, n in s.top_false_positives[:15]),
        "",
        "Near misses (gold -> predicted sibling): "
        + ", ".join(f"{g} -> {p} ({n})" for g, p, n in s.near_miss_pairs[:10]),
        "",
        "## Speed",
        "",
        f"{s.latency.charts_per_s} charts/s with {s.latency.workers} worker processes; per chart "
        f"p50 {s.latency.p50_ms:.0f} ms, p95 {s.latency.p95_ms:.0f} ms, mean "
        f"{s.latency.mean_ms:.0f} ms (one process's time per chart).",
        "",
    ]
    lines += _model_cost_lines(s)
    return "\n".join(lines)


def _model_cost_lines(s: Summary) -> list[str]:
    cost = s.model_cost
    if cost is None:
        return []
    tok, lat = cost.tokens_per_chart, cost.latency_ms
    lines = [
        f"## Model cost and latency ({s.reasoner})",
        "",
        f"{cost.charts} charts coded with `{cost.model}`: {cost.total_tokens} tokens in all "
        f"({cost.prompt_tokens} prompt, {cost.completion_tokens} completion), "
        f"{cost.requests_per_chart} requests and {cost.tool_calls_per_chart} tool calls a chart. "
        f"{cost.fallbacks} charts fell back to the offline decisions"
        + (f" ({_counts(cost.failures)})" if cost.failures else "")
        + ". Codes the model gave that checks dropped: "
        + (_counts(cost.dropped_codes) or "none")
        + ".",
        "",
        "| per chart | mean | p50 | p95 | max |",
        "|---|---|---|---|---|",
        f"| tokens | {tok.mean:.0f} | {tok.p50:.0f} | {tok.p95:.0f} | {tok.max:.0f} |",
        f"| waiting for the model (ms) | {lat.mean:.0f} | {lat.p50:.0f} | {lat.p95:.0f} | "
        f"{lat.max:.0f} |",
        "",
        "| chart | prompt tokens | completion tokens | requests | tool calls | model ms | "
        "chart ms | fallback |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cost.per_chart[:50]:
        lines.append(
            f"| {c.id} | {c.prompt_tokens} | {c.completion_tokens} | {c.requests} | "
            f"{c.tool_calls} | {c.model_latency_ms} | {c.chart_latency_ms:.0f} | "
            f"{c.failure or ''} |"
        )
    if len(cost.per_chart) > 50:
        lines.append(f"| ... {len(cost.per_chart) - 50} more in summary.json | | | | | | | |")
    return [*lines, ""]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def _shares(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1%}" for k, v in shares.items()) or "none"


def _plots(s: Summary, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = [b for b in s.calibration.bins if b.count]
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=90)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.plot([b.confidence for b in bins], [b.accuracy for b in bins], marker="o")
    ax.set_xlabel("confidence")
    ax.set_ylabel("share right")
    ax.set_title(f"Reliability (ECE {s.calibration.ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(out_dir / RELIABILITY_PNG)
    plt.close(fig)

    chapters = [c for c in s.chapters if c.gold]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=90)
    ax.barh([f"{c.chapter}" for c in chapters], [c.f1 for c in chapters])
    ax.invert_yaxis()
    ax.set_xlabel("F1")
    ax.set_ylabel("chapter")
    ax.set_xlim(0, 1)
    ax.set_title(f"F1 per ICD-10-CM chapter ({s.mode})")
    fig.tight_layout()
    fig.savefig(out_dir / CHAPTERS_PNG)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=90)
    xs = [p.threshold for p in s.pr_curve]
    ax.plot(xs, [p.precision for p in s.pr_curve], label="precision")
    ax.plot(xs, [p.recall for p in s.pr_curve], label="recall (valid gold)")
    ax.axhline(0.95, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("confidence threshold")
    ax.set_ylim(0, 1)
    ax.set_title("Suggestions kept at each threshold")
    ax.legend(loc="center left")
    fig.tight_layout()
    fig.savefig(out_dir / THRESHOLDS_PNG)
    plt.close(fig)
