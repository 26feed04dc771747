"""`codesense batch INPUT --out results.jsonl`: code a folder, JSONL or CSV manifest of charts.

One line per chart in the results file: the output contract plus `input` (the chart's path or
id in INPUT), or `input` and `error` for a chart that could not be coded; the batch goes on.
A rerun with the same --out skips every chart already there. `--engine local` uses a process
pool on this machine; `--engine dask` a local dask cluster on 127.0.0.1, or the cluster at
`--scheduler tcp://HOST:8786`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from apps.cli.options import at_least_one


def register(sub: Any) -> None:
    b = sub.add_parser(
        "batch",
        help="code many charts (folder, JSONL or CSV manifest) into a results file",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    b.add_argument("input", type=Path, metavar="INPUT", help="folder of charts, .jsonl or .csv")
    b.add_argument("--out", type=Path, required=True, help="results file (JSON Lines), resumable")
    b.add_argument("--engine", choices=["local", "dask"], default="local")
    b.add_argument(
        "--workers", type=at_least_one, default=None, help="worker processes (default: cores)"
    )
    b.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask scheduler address")
    b.add_argument("--setting", choices=["outpatient", "inpatient"], default=None)
    b.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from apps.batch.runner import run_batch
    from core.errors import CodeSenseError
    from core.settings import Settings

    settings = Settings()
    if args.scheduler and args.engine != "dask":
        raise CodeSenseError("--scheduler needs --engine dask")
    workers = args.workers or (os.cpu_count() or 1)
    overrides: dict[str, Any] = {"data_dir": str(settings.data_dir.resolve())}
    if settings.database_url:
        overrides["database_url"] = settings.database_url
    console = Console(stderr=True)
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "[red]{task.fields[failed]} failed",
        TimeRemainingColumn(),
    )
    # The bar is drawn from the first report on: a bad INPUT or --out is one line, no empty bar.
    bar = Progress(*columns, console=console)
    task = bar.add_task("coding", total=None, failed=0)

    def progress(done: int, failed: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total, failed=failed)

    try:
        summary = run_batch(
            args.input,
            args.out,
            engine=args.engine,
            workers=workers,
            scheduler=args.scheduler,
            overrides=overrides,
            setting=args.setting,
            progress=progress,
        )
    finally:
        if bar.live.is_started:
            bar.stop()
    console.print(
        f"{summary.coded} coded, {summary.failed} failed, {summary.skipped} already done "
        f"of {summary.inputs} in {summary.wall_s:.1f} s -> {args.out}"
    )
    return 2 if summary.failed else 0
