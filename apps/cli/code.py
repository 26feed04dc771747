"""`codesense code FILE...`: code charts, print a readable table or the contract's JSON Lines.

Files are text (UTF-8), PDF, or FHIR R4 JSON (a DocumentReference or a Bundle, `.json`). Every
readable chart is coded; each file that cannot be read gets one line on stderr, and the exit
status is 2 at the end when any did.
"""

from __future__ import annotations

import argparse
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
    code.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from core.settings import Settings
    from tools.extract.intake import check_path

    settings = Settings()
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
            return _code_groups(args, service, actor, readable, failures, collection)
        finally:
            service.close()
    finally:
        collection.resume()


def _code_groups(
    args: argparse.Namespace,
    service: Service,
    actor: Actor,
    readable: list[str],
    failures: int,
    collection: heap.Paused,
) -> int:
    for start in range(0, len(readable), GROUP):
        group = readable[start : start + GROUP]
        done: list[tuple[str, ChartResult]] = []
        try:
            # One disk sync for the group; its results are printed (acknowledged) only after.
            with service.group_commit():
                for f in group:
                    try:
                        if Path(f).suffix.lower() == ".json":
                            result = service.code_fhir(
                                actor, _read_json(Path(f)), setting=args.setting
                            )
                        else:
                            result = service.code_file(actor, f, setting=args.setting)
                    except CodeSenseError as err:
                        # One bad file in a batch must not lose the others' results.
                        print(f"codesense: {err}", file=sys.stderr)
                        failures += 1
                        continue
                    finally:
                        # Loaded and one chart coded: collect again (the loaded heap frozen).
                        collection.resume()
                    done.append((f, result))
        finally:
            for f, result in done:
                _show(result, f, args.format)
    return 2 if failures else 0


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
