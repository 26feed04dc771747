"""`codesense index build`: embed the code set into the semantic index (resumable, incremental)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    index = sub.add_parser(
        "index",
        help="build or inspect the semantic index of code titles, inclusion terms, index entries",
    )
    actions = index.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="embed what the index lacks (about 5 minutes fresh on 2 cores; resumes if stopped)",
    )
    build.set_defaults(handler=run_build)
    status = actions.add_parser("status", help="how many entries the index holds and lacks")
    status.set_defaults(handler=run_status)


def run_build(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from core.settings import Settings
    from tools.semantic import SemanticIndex, iter_entries

    settings = Settings()
    console = Console(stderr=True)
    with console.status("loading the embedding model and the code set"):
        index = SemanticIndex.open(settings.data_dir, create=True)
        entries = list(iter_entries())
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("embedding", total=len(entries))

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        added, deleted = index.build(entries, progress=progress)
    print(
        f"semantic index: {len(index)} entries ({added} added, {deleted} removed) in {index.folder}"
    )
    return 0


def run_status(args: argparse.Namespace) -> int:
    from core.settings import Settings
    from tools.semantic import SemanticIndex, iter_entries

    settings = Settings()
    index = SemanticIndex.open(settings.data_dir)
    wanted = sum(1 for _ in iter_entries())
    print(f"semantic index: {len(index)} of {wanted} entries in {index.folder}")
    return 0
