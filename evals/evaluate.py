"""One eval run end to end: load a labelled set, code it (resumably), score it, write the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evals.datasets import load_jsonl, resolve
from evals.report import write_report
from evals.runner import run_eval
from evals.summary import Mode, Summary, summarise


def evaluate(
    dataset: str,
    out_dir: Path,
    data_dir: Path,
    mode: Mode = "all-mentions",
    limit: int | None = None,
    workers: int | None = None,
    fresh: bool = False,
    setting: str = "outpatient",
    auto_threshold: float = 0.75,
    command: str = "",
    progress: Callable[[int, int], None] | None = None,
    semantic: bool = False,
    report_dir: Path | None = None,
    reasoner: str = "offline",
    engine: str = "local",
    scheduler: str | None = None,
) -> Summary:
    path = resolve(dataset)
    charts = load_jsonl(path, limit)
    records, info = run_eval(
        charts,
        out_dir,
        dataset=path.stem if dataset == str(path) else dataset,
        data_dir=data_dir,
        setting=setting,
        workers=workers,
        fresh=fresh,
        progress=progress,
        semantic=semantic,
        reasoner=reasoner,
        engine=engine,
        scheduler=scheduler,
    )
    summary = summarise(records, info, mode=mode, auto_threshold=auto_threshold)
    write_report(summary, report_dir or out_dir, command=command)
    return summary
