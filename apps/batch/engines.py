"""Where batch work runs: this process, a local process pool, or dask.distributed.

One shape for all of them: `run_tasks(fn, tasks, ...)` yields `fn(task)` for every task as it
finishes (any order), after `init(*init_args)` has run once in each worker process. Tasks and
results must pickle. `codesense batch` and `codesense eval` both go through here, so a cluster
runs exactly the code a laptop does.

- `local`: a `multiprocessing` pool (fork: workers start from the parent without re-importing,
  and nothing heavy is loaded in the parent).
- `dask`: a `LocalCluster` of worker processes on 127.0.0.1 (no dashboard, loopback only) when
  no scheduler is given, or an existing cluster at `scheduler` (`dask scheduler` and
  `dask worker` on other machines, each with Code Sense installed). Workers run `init` lazily on
  their first task (dask has no pool initializer); one thread per worker, because coding is
  CPU-bound and the NLP pipeline is not made for threads.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from apps import heap
from core.errors import CodeSenseError

log = logging.getLogger(__name__)

Engine = Literal["local", "dask"]

# Per worker process: which initialisations have run (keyed by function and arguments).
_READY: set[tuple[str, tuple[Any, ...]]] = set()


def _ensure_init(
    init: Callable[..., None] | None, init_args: tuple[Any, ...]
) -> heap.Paused | None:
    """Run `init` once in this process, with garbage collection paused until `resume()` on
    what is returned (after the first task): see `apps/heap.py`. None when `init` ran before.
    """
    if init is None:
        return None
    key = (f"{init.__module__}.{init.__qualname__}", (repr(init_args),))
    if key in _READY:
        return None
    collection = heap.pause()
    try:
        init(*init_args)
    except BaseException:
        collection.resume()
        raise
    _READY.add(key)
    return collection


def _call(
    fn: Callable[[Any], Any],
    init: Callable[..., None] | None,
    init_args: tuple[Any, ...],
    task: Any,
) -> Any:
    collection = _ensure_init(init, init_args)
    try:
        return fn(task)
    finally:
        if collection is not None:
            # Loaded and one task done: collect again, the loaded heap frozen.
            collection.resume()


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    engine: Engine = "local",
    workers: int = 1,
    scheduler: str | None = None,
    init: Callable[..., None] | None = None,
    init_args: tuple[Any, ...] = (),
) -> Iterator[Any]:
    """`fn(task)` for every task, yielded as each finishes."""
    todo = list(tasks)
    if not todo:
        return
    if engine == "dask":
        yield from _run_dask(fn, todo, workers, scheduler, init, init_args)
        return
    if scheduler is not None:
        raise CodeSenseError("--scheduler needs --engine dask")
    if workers <= 1:
        for task in todo:
            yield _call(fn, init, init_args, task)
        return
    # Initialised inside the first task, not as the pool's initializer: a pool whose
    # initializer fails (a wrong database URL) restarts its workers for ever.
    ctx = multiprocessing.get_context("fork")
    call = functools.partial(_call, fn, init, init_args)
    with ctx.Pool(min(workers, len(todo))) as pool:
        try:
            yield from pool.imap_unordered(call, todo, chunksize=1)
        except CodeSenseError:
            raise
        except Exception as err:
            raise _worker_failed(err) from None


def _worker_failed(err: BaseException) -> CodeSenseError:
    """A worker's own failure (not one chart's) as one line; chart errors never get here."""
    first = (str(err).strip().splitlines() or [""])[0][:200]
    return CodeSenseError(f"a batch worker failed: {type(err).__name__}: {first}")


def _run_dask(
    fn: Callable[[Any], Any],
    todo: list[Any],
    workers: int,
    scheduler: str | None,
    init: Callable[..., None] | None,
    init_args: tuple[Any, ...],
) -> Iterator[Any]:
    # distributed logs every scheduler and worker event at INFO; keep to warnings.
    for name in (
        "distributed",
        "distributed.scheduler",
        "distributed.nanny",
        "distributed.core",
        "distributed.http.proxy",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise CodeSenseError(
            "--engine dask needs dask.distributed (pip install 'codesense[dask]')"
        ) from None
    cluster = None
    try:
        if scheduler is None:
            # The scheduler's HTTP routes (health, metrics; no Bokeh dashboard is installed)
            # on a free loopback port, never a fixed 8787 that two batches would fight over.
            cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                host="127.0.0.1",
                # A task that fails reaches the caller as its one-line error (`_worker_failed`);
                # the workers' own ERROR record of it would print a traceback beside it.
                silence_logs=logging.CRITICAL,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="10s")
    except OSError as err:
        if cluster is not None:
            cluster.close()
        where = scheduler or "a local cluster"
        raise CodeSenseError(f"cannot reach dask at {where}: {type(err).__name__}") from None
    try:
        futures = [client.submit(_call, fn, init, init_args, task, pure=False) for task in todo]
        for future in as_completed(futures):
            try:
                result = future.result()
            except CodeSenseError:
                raise
            except Exception as err:
                raise _worker_failed(err) from None
            yield result
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
