"""`codesense batch`: code every chart of an input through the service, one result line each.

Work is cut into chunks of a few charts. A worker codes a chunk inside `Service.group_commit`
(each run's rows and audit events commit as usual, with one disk sync for the chunk) and only
then returns its lines: a line in the results file is a chart whose run and events are durable.
The parent appends lines as chunks finish; a rerun skips every input already in the file with a
result (inputs that failed are tried again). Every worker writes to the store the settings name:
the data directory's SQLite on one machine, or one PostgreSQL database for a cluster, where the
database serialises audit appends so the chain verifies after any parallel batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from apps.batch.engines import Engine, run_tasks
from apps.batch.inputs import BatchItem, read_inputs
from core.contract import Setting
from core.errors import ChartInputError, CodeSenseError

log = logging.getLogger(__name__)

# Charts a worker codes between two disk syncs (and per task sent to it).
CHUNK = 8

_WORKER: dict[str, Any] = {}


class BatchSummary(BaseModel):
    inputs: int
    skipped: int
    coded: int
    failed: int
    wall_s: float


def init_worker(overrides: dict[str, Any]) -> None:
    """Open this process's service once: term index, rules, graph and store."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("LANGGRAPH_STRICT_MSGPACK", "true")
    from apps.actors import cli_actor
    from apps.service import Service
    from core.settings import Settings

    settings = Settings(**overrides)
    service = Service(settings)
    service.warm()
    _WORKER["service"] = service
    _WORKER["actor"] = cli_actor(settings)


def code_chunk(items: list[BatchItem]) -> list[dict[str, Any]]:
    """Result lines for `items`, returned once their runs are durable."""
    service = _WORKER["service"]
    lines: list[dict[str, Any]] = []
    with service.group_commit():
        for item in items:
            lines.append(_code_item(service, _WORKER["actor"], item))
    return lines


def _code_item(service: Any, actor: Any, item: BatchItem) -> dict[str, Any]:
    from apps.cli.code import _read_json
    from tools.extract.intake import check_path

    try:
        if item.text is not None:
            result = service.code_text(actor, item.text, setting=item.setting, name=item.key)
        else:
            assert item.path is not None
            path = Path(item.path)
            check_path(path, max_bytes=int(service.settings.max_file_mb * 1024 * 1024))
            if path.suffix.lower() == ".json":
                result = service.code_fhir(actor, _read_json(path), setting=item.setting)
            else:
                result = service.code_file(actor, path, setting=item.setting)
    except CodeSenseError as err:
        return {"input": item.key, "error": {"kind": type(err).__name__, "message": str(err)}}
    except Exception as err:  # one chart's bug must not stop the batch; never its text in logs
        log.error("batch: chart failed with %s", type(err).__name__)
        return {
            "input": item.key,
            "error": {"kind": type(err).__name__, "message": "internal error while coding"},
        }
    return {"input": item.key, **result.model_dump(mode="json")}


def done_keys(out: Path) -> set[str]:
    """Inputs the results file already has a result for (lines cut short are ignored)."""
    keys: set[str] = set()
    if not out.is_file():
        return keys
    with out.open("rb") as f:
        for line in f:
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "input" in rec and "error" not in rec:
                keys.add(str(rec["input"]))
    return keys


def run_batch(
    source: Path,
    out: Path,
    *,
    engine: Engine = "local",
    workers: int = 1,
    scheduler: str | None = None,
    overrides: dict[str, Any] | None = None,
    setting: Setting | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> BatchSummary:
    """Code every input not yet in `out`; `progress(done, failed, total)` after each chunk."""
    import time

    if out.is_dir():
        raise ChartInputError(f"{out}: is a folder; --out names the results file (JSON Lines)")
    items = read_inputs(source)
    if setting is not None:
        items = [i if i.setting else i.model_copy(update={"setting": setting}) for i in items]
    done = done_keys(out)
    todo = [i for i in items if i.key not in done]
    chunks = [todo[n : n + CHUNK] for n in range(0, len(todo), CHUNK)]
    coded = failed = 0
    t0 = time.perf_counter()
    if progress is not None:
        progress(len(done), 0, len(items))
    if todo and scheduler is None:
        _build_caches(overrides or {})
    _end_with_newline(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as sink:
        for lines in run_tasks(
            code_chunk,
            chunks,
            engine=engine,
            workers=workers,
            scheduler=scheduler,
            init=init_worker,
            init_args=(overrides or {},),
        ):
            for line in lines:
                sink.write(orjson.dumps(line) + b"\n")
                if "error" in line:
                    failed += 1
                else:
                    coded += 1
            sink.flush()
            os.fsync(sink.fileno())
            if progress is not None:
                progress(len(done) + coded + failed, failed, len(items))
    return BatchSummary(
        inputs=len(items),
        skipped=len(done),
        coded=coded,
        failed=failed,
        wall_s=round(time.perf_counter() - t0, 3),
    )


def _build_caches(overrides: dict[str, Any]) -> None:
    """Build the code-set snapshot and term index here, once, when they are missing, so the
    workers on this machine load them instead of each building its own."""
    from core.settings import Settings
    from tools.lookup import TermIndex

    cache = Settings(**overrides).cache_dir
    if not TermIndex.cache_path(cache).is_file():
        from tools.codeset import CodeSet

        CodeSet.load(cache)
        TermIndex.load_or_build(cache)


def _end_with_newline(path: Path) -> None:
    """Cut a line an interrupted batch left half written, so new lines start cleanly."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])
