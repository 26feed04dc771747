"""Who is working on a run: this process, named so another process can tell whether it is gone.

An owner is `host:pid:start`, the process's start time in whole seconds. On the same host a run
whose owner process no longer exists (or whose pid now belongs to a younger process) is
abandoned; on another host only its lease tells, so leases are what a cluster relies on.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache

import psutil

from store.events import utc_now


def this_process() -> str:
    # Keyed by pid: a forked worker is an owner of its own, not its parent.
    return _owner(os.getpid())


@lru_cache(maxsize=4)
def _owner(pid: int) -> str:
    return f"{_host()}:{pid}:{_start_time(pid)}"


def is_gone(owner: str | None, lease_until: str | None) -> bool:
    """True when the owner of a claim can no longer finish it: its process ended (same host), or
    its lease ran out (any host). A claim with no owner recorded is judged by its lease alone."""
    if lease_until is not None and lease_until < utc_now():
        return True
    if not owner:
        return lease_until is None
    parts = owner.rsplit(":", 2)
    if len(parts) != 3:
        return False
    host, pid_text, start_text = parts
    if host != _host() or not pid_text.isdigit():
        return False
    if owner == this_process():
        return False
    now = _start_time(int(pid_text))
    return now != "unknown" and now != start_text


@lru_cache(maxsize=1)
def _host() -> str:
    # Owners are stored in clear beside run ids; a host name is not chart data.
    return socket.gethostname().replace(":", "_")[:64] or "localhost"


def _start_time(pid: int) -> str:
    """The process's start time in whole seconds; "gone" for no process or a zombie (a killed
    child its parent has not reaped yet is finished all the same)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return "gone"
        return str(int(process.create_time()))
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return "gone"
    except psutil.AccessDenied:
        return "unknown"
