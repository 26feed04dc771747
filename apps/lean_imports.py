"""Optional parts of our libraries kept out of a cold process (issue 13, start-up).

LangGraph imports langchain-core's tracers, which import langsmith's run trees, which import
httpx and, when it is installed, OpenTelemetry's SDK. Two of those parts are never used by an
offline coder, and both importers already work without them:
- `httpx._main`, httpx's command-line client (click, pygments, rich: ~50 ms of CPU). httpx's
  `__init__` binds `main` from it and falls back to a stub that explains the missing extra;
- `opentelemetry.sdk.trace` (~30 ms), which langsmith's client binds for optional OTEL tracing
  and replaces by a placeholder class when it cannot be imported.

`install()` puts a finder first on `sys.meta_path` that refuses each of these modules only while
its importer is itself being initialised (`httpx`, `langsmith.client`). Any other import of them,
before or after (a user's `import httpx._main`, chromadb's telemetry importing the OTEL SDK), gets
the real module. The check reads `module.__spec__._initializing`, which CPython's import system
sets while a module's body runs; without it the finder refuses nothing.
`tests/apps/test_startup_imports.py` checks what stays out.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

# Module refused -> the module whose import may go on without it.
SKIPPED_WHILE = {
    "httpx._main": "httpx",
    "opentelemetry.sdk.trace": "langsmith.client",
}


class _SkipWhileImporting(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        importer = SKIPPED_WHILE.get(fullname)
        if importer is None:
            return None
        module = sys.modules.get(importer)
        spec = getattr(module, "__spec__", None)
        if getattr(spec, "_initializing", False):
            raise ModuleNotFoundError(f"{fullname} is not needed while {importer} imports")
        return None


def install() -> None:
    """Put the finder first on `sys.meta_path`, once per process."""
    if not any(isinstance(f, _SkipWhileImporting) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipWhileImporting())
