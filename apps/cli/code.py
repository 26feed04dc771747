"""`codesense code FILE...`: code charts, print a readable table or the contract's JSON Lines.

Files are text (UTF-8), PDF, or FHIR R4 JSON (a DocumentReference or a Bundle, `.json`). Every
readable chart is coded; each file that cannot be read gets one line on stderr, and the exit
status is 2 at the end when any did.

Many files are coded in groups, each group's results printed (acknowledged) once its runs are
durable. With FORK_FROM files or more and more than one core, the first few are coded here and
the rest go to worker processes forked from this one once it is loaded (the loaded heap shared,
not reloaded: each worker opens only its own store connections); their results are printed in
the files' order as groups finish.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apps import heap
from core.errors import ChartInputError, CodeSenseError

if TYPE_CHECKING:
    from apps.actors import Actor
    from apps.service import Service
    from core.contract import ChartResult

# Charts coded between two disk syncs; each group's results print once it is durable.
GROUP = 25
# From this many files on, `code` forks workers (one per core) after coding the first WARM.
FORK_FROM = 20
WARM = 4


def register(sub: Any) -> None:
    code = sub.add_parser("code", help="code one or more chart files (text, PDF or FHIR JSON)")
    code.add_argument(
        "files", nargs="+", metavar="FILE", help="chart files: .txt (UTF-8), .pdf, or FHIR .json"
    )
    code.add_argument(
        "--setting",
        choices=["outpatient", "inpatient"],
        default=None,
        help="coding setting (default: outpatient, or CODESENSE_SETTING)",
    )
    code.add_argument(
        "--format",
        choices=["table", "json"],
        default="table",
        help="table for people, json for programs (JSON Lines for several files)",
    )
    code.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes for many files (default: one per core; 1 codes every file here)",
    )
    code.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.settings import Settings
    from tools.extract.intake import check_path

    settings = Settings()
    workers = _workers(args.workers)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    # Check every path before loading anything heavy: a typo fails in milliseconds, and the
    # readable files are still coded.
    readable: list[str] = []
    failures = 0
    for f in args.files:
        try:
            check_path(Path(f), max_bytes=max_bytes)
            readable.append(f)
        except CodeSenseError as err:
            print(f"codesense: {err}", file=sys.stderr)
            failures += 1
    if not readable:
        return 2
    from apps.cli.session import open_service
    from tools.lookup import TermIndex
    from tools.rules.patterns import keep_parsed_words

    if not TermIndex.cache_path(settings.cache_dir).is_file():
        print(
            "codesense: building the term index from the code set (first run, about a minute)",
            file=sys.stderr,
        )
    # No automatic garbage collection while everything loads and the first chart is coded,
    # nor over the loaded heap at exit (each walked all of it: about 1 s of a 2.3 s start).
    collection = heap.pause()
    heap.skip_exit_collection()
    try:
        service, actor = open_service(settings)
        try:
            status = _code_groups(args, service, actor, readable, failures, collection, workers)
        finally:
            service.close()
    finally:
        collection.resume()
    # What the rules' patterns need, parsed here once, for the next process's first chart.
    keep_parsed_words()
    return status


def _code_groups(
    args: argparse.Namespace,
    service: Service,
    actor: Actor,
    readable: list[str],
    failures: int,
    collection: heap.Paused,
    workers: int,
) -> int:
    if workers > 1 and len(readable) >= FORK_FROM:
        # A few charts here first, so every lazily built part is built once and shared; then
        # the rest in worker processes started from this one, in groups small enough that the
        # workers finish together.
        warm, rest = readable[:WARM], readable[WARM:]
        failures += _print_group(_code_group(args, service, actor, warm, collection), args.format)
        size = max(WARM, min(GROUP, -(-len(rest) // (workers * 8))))
        groups = [rest[n : n + size] for n in range(0, len(rest), size)]
        return _code_in_workers(args, service, actor, groups, workers, failures)
    for n in range(0, len(readable), GROUP):
        coded = _code_group(args, service, actor, readable[n : n + GROUP], collection)
        failures += _print_group(coded, args.format)
    return 2 if failures else 0


Coded = list[tuple[str, "ChartResult | str"]]


def _code_group(
    args: argparse.Namespace,
    service: Service,
    actor: Actor,
    group: list[str],
    collection: heap.Paused | None = None,
) -> Coded:
    """Each file's result, or its one-line error; returned once the group's runs are durable."""
    coded: Coded = []
    # One disk sync for the group; its results are printed (acknowledged) only after.
    with service.group_commit():
        for f in group:
            try:
                if Path(f).suffix.lower() == ".json":
                    result = service.code_fhir(actor, _read_json(Path(f)), setting=args.setting)
                else:
                    result = service.code_file(actor, f, setting=args.setting)
            except CodeSenseError as err:
                # One bad file in a batch must not lose the others' results.
                coded.append((f, f"codesense: {err}"))
                continue
            finally:
                if collection is not None:
                    # Loaded and one chart coded: collect again (the loaded heap frozen).
                    collection.resume()
            coded.append((f, result))
    return coded


def _print_group(coded: Coded, fmt: str) -> int:
    """Print a durable group's results and errors; the number of errors."""
    failures = 0
    for f, result in coded:
        if isinstance(result, str):
            print(result, file=sys.stderr)
            failures += 1
        else:
            _show(result, f, fmt)
    return failures


def _workers(asked: int | None) -> int:
    if asked is not None:
        if asked < 1:
            raise CodeSenseError("--workers must be at least 1")
        return asked
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# What a forked worker codes with: the parent's loaded service (its store closed before the
# fork, so each worker opens its own connections on first use).
_FORKED: dict[str, Any] = {}


def _code_in_workers(
    args: argparse.Namespace,
    service: Service,
    actor: Actor,
    groups: list[list[str]],
    workers: int,
    failures: int,
) -> int:
    import multiprocessing

    # No SQLite connection may cross a fork: close the store and checkpoints here; the loaded
    # term index, rules and models stay, shared with the workers page by page.
    service.close()
    _FORKED.update(service=service, actor=actor, args=args)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            # In the files' order: each group's results once that worker has made them durable.
            for coded in pool.imap(_code_forked, groups, chunksize=1):
                failures += _print_group(coded, args.format)
    except CodeSenseError:
        raise
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise CodeSenseError(f"a coding worker failed: {type(err).__name__}: {first}") from None
    finally:
        _FORKED.clear()
    return 2 if failures else 0


def _code_forked(group: list[str]) -> Coded:
    return _code_group(_FORKED["args"], _FORKED["service"], _FORKED["actor"], group)


def _show(result: ChartResult, f: str, fmt: str) -> None:
    from apps.render import render_table

    if fmt == "json":
        sys.stdout.write(result.model_dump_json() + "\n")
    else:
        render_table(result, Path(f).name)
    sys.stdout.flush()
    if result.route != "auto":
        # Routed to a person: the run is paused until `codesense review` decides.
        print(
            f"codesense: run {result.run_id} awaits review ({result.route}): "
            f"codesense review {result.run_id} --accept/--reject/--add CODE",
            file=sys.stderr,
        )


def _read_json(path: Path) -> dict[str, Any]:
    import orjson

    try:
        body = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise ChartInputError(f"{path.name}: not JSON ({str(err).split(':')[0]})") from None
    if not isinstance(body, dict) or "resourceType" not in body:
        raise ChartInputError(f"{path.name}: JSON but not a FHIR resource (no resourceType)")
    return body
