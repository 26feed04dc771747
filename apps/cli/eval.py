"""`codesense eval DATASET`: code a labelled set in parallel, score it, write a report."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from apps.cli.options import at_least_one


def register(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="score the coder on a labelled set (JSONL with text and gold codes)",
        description="Code every chart of DATASET, score it, and write report.md, summary.json "
        "and plots to --out. Interrupted runs resume from what is already in --out.",
    )
    ev.add_argument(
        "dataset",
        metavar="DATASET",
        help="a JSONL file ({id, text, codes}), codiesp-dev / codiesp-train, or a US notes set: "
        "us-dev (the development notes) or a check set (us-fresh, us-blind2 ... us-blindN, "
        "us-rad ...: data/evals/README.md), each note coded in its own setting",
    )
    ev.add_argument(
        "--mode",
        choices=["all-mentions", "guidelines"],
        default="all-mentions",
        help="headline scoring: every mention's code (CodiEsp's annotation) or billed codes only",
    )
    ev.add_argument(
        "--limit", type=at_least_one, default=None, metavar="N", help="first N charts only"
    )
    ev.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="predictions and report folder"
    )
    ev.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write report.md, summary.json and the plots here instead of --out",
    )
    ev.add_argument(
        "--workers", type=at_least_one, default=None, help="processes (default: all cores)"
    )
    ev.add_argument("--fresh", action="store_true", help="ignore earlier results in --out")
    ev.add_argument(
        "--engine", choices=["local", "dask"], default="local", help="as for codesense batch"
    )
    ev.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address")
    ev.add_argument(
        "--setting", choices=["outpatient", "inpatient"], default=None, help="coding setting"
    )
    ev.add_argument(
        "--semantic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add semantic-index candidates when the index is built (default: on)",
    )
    ev.add_argument(
        "--reasoner",
        choices=["offline", "llm"],
        default=None,
        help="who decides the codes (default: CODESENSE_REASONER); llm uses the endpoint of "
        "CODESENSE_LLM_BASE_URL and CODESENSE_LLM_MODEL and reports tokens and latency",
    )
    ev.set_defaults(handler=run)

    cal = sub.add_parser(
        "calibrate",
        help="fit the confidence model on an eval run and write data/calibration.json",
        description="Fit the logistic confidence model on the suggestions of an eval run (its "
        "--out folder), check it on another, and write the fitted parameters.",
    )
    cal.add_argument("train", type=Path, metavar="RUN_DIR", help="eval folder to fit on")
    cal.add_argument("--check", type=Path, default=None, metavar="RUN_DIR", help="held-out run")
    cal.add_argument("--name", default="codiesp-train", help="what the fit is on, for the record")
    cal.add_argument("--out", type=Path, default=None, help="default: data/calibration.json")
    cal.set_defaults(handler=run_calibrate)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from core.settings import Settings
    from evals.datasets import US_NOTE_SETS
    from evals.evaluate import evaluate

    reasoner = args.reasoner or Settings().reasoner
    # Checked before any chart: `--reasoner llm` without an endpoint is one line, not a crash.
    settings = Settings(reasoner=reasoner)
    name = Path(args.dataset).stem
    out = args.out or settings.data_dir / "evals" / name
    console = Console(stderr=True)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"coding {name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if args.dataset in US_NOTE_SETS:
            return _run_us(args, settings, out, progress, reasoner)
        summary = evaluate(
            args.dataset,
            out,
            data_dir=settings.data_dir,
            mode=args.mode,
            limit=args.limit,
            workers=args.workers,
            fresh=args.fresh,
            setting=args.setting or settings.setting,
            auto_threshold=settings.auto_threshold,
            command="codesense " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "",
            progress=progress,
            semantic=args.semantic,
            report_dir=args.report,
            reasoner=reasoner,
            engine=args.engine,
            scheduler=args.scheduler,
        )
    head = summary.scorings[summary.mode]
    valid, cat = head["valid gold"].micro, head["category"].micro
    print(
        f"{summary.dataset} ({summary.charts} charts, {summary.mode}): valid gold "
        f"P {valid.precision:.3f} R {valid.recall:.3f} F1 {valid.f1:.3f} | category F1 "
        f"{cat.f1:.3f} | recall@10 {summary.recall_at_k.get(10, 0.0):.3f} | ECE "
        f"{summary.calibration.ece:.3f} | {summary.latency.charts_per_s} charts/s"
    )
    cost = summary.model_cost
    if cost is not None:
        print(
            f"model {cost.model}: {cost.tokens_per_chart.mean:.0f} tokens a chart (p95 "
            f"{cost.tokens_per_chart.p95:.0f}), {cost.total_tokens} in all | model latency p50 "
            f"{cost.latency_ms.p50:.0f} ms, p95 {cost.latency_ms.p95:.0f} ms a chart | "
            f"fallbacks {cost.fallbacks} of {cost.charts}"
        )
    print(f"report: {(args.report or out) / 'report.md'}")
    return 0


def _run_us(
    args: argparse.Namespace, settings: Any, out: Path, progress: Any, reasoner: str
) -> int:
    """`codesense eval us-dev` / `us-fresh`: guidelines mode only (coded for billing)."""
    from evals.us_notes import evaluate_us

    if args.mode != "guidelines":
        print(
            f"{args.dataset} is scored in guidelines mode: pass --mode guidelines", file=sys.stderr
        )
        return 2
    summary = evaluate_us(
        out,
        data_dir=settings.data_dir,
        report_dir=args.report,
        workers=args.workers,
        fresh=args.fresh,
        progress=progress,
        semantic=args.semantic,
        reasoner=reasoner,
        command="codesense " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "",
        dataset=args.dataset,
    )
    o = summary.overall
    print(
        f"{args.dataset} ({o.notes} notes, guidelines): P {o.scores.precision:.3f} R "
        f"{o.scores.recall:.3f} F1 {o.scores.f1:.3f} | must_not {o.must_not_share:.1%} | "
        f"first-listed {o.first_listed:.0%} | non-billable {o.non_billable} | "
        + " ".join(f"{p} {f.scores.f1:.2f}" for p, f in summary.parts.items())
    )
    print(f"report: {(args.report or out) / 'report.md'}")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from agent.scoring import CALIBRATION_FILE
    from evals.calibrate import fit_calibration, write_calibration

    model, lines = fit_calibration(args.train, args.check, args.name)
    out = args.out or CALIBRATION_FILE
    write_calibration(model, out)
    print("\n".join(lines))
    print(
        f"wrote {out}; set CODESENSE_AUTO_THRESHOLD={model.auto_threshold} for 95% auto precision"
    )
    return 0
