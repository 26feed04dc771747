"""Garbage collection for a command or a worker: paused while it loads, what it loaded frozen,
none at exit.

A cold `codesense code` builds over a million long-lived objects (the term index, the code set,
rule packs, spaCy's vocabulary, pydantic's schemas). Python's collector walks every one of them
at each full collection, and once more when the interpreter exits: six full collections and the
exit's were about 1 s of CPU in a 2.3 s start. None of them frees much: what start-up builds is
kept. So `code` pauses automatic collection while it loads and codes its first chart, then moves
what is alive to the permanent generation (`gc.freeze`) and resumes collection for the charts
after it; and at exit the heap is frozen first, so the interpreter's last collection skips it.
Cycles frozen that way are never freed, which costs nothing in a process about to end;
everything durable was synced before a result was printed (`Service.group_commit`).
Batch and eval workers do the same around their initialisation and first task
(`apps/batch/engines.py`), and the server once its service is warm.
"""

from __future__ import annotations

import atexit
import gc

_state = {"frozen": False, "at_exit": False}


class Paused:
    """Automatic collection off until `resume()`."""

    def __init__(self) -> None:
        self._was_enabled = gc.isenabled()
        self._resumed = False
        gc.disable()

    def resume(self) -> None:
        """Freeze what is alive (once per process) and collect again as before; idempotent."""
        if self._resumed:
            return
        self._resumed = True
        if not _state["frozen"]:
            _state["frozen"] = True
            gc.freeze()
        if self._was_enabled:
            gc.enable()


def pause() -> Paused:
    return Paused()


def skip_exit_collection() -> None:
    """Freeze the heap when the interpreter exits, before its last collection walks it."""
    if not _state["at_exit"]:
        _state["at_exit"] = True
        atexit.register(gc.freeze)
