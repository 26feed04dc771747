"""A compact, read-only snapshot of the `simple_icd_10_cm` tabular, built once per code-set version.

`import simple_icd_10_cm` parses the whole April 2026 tabular XML (98,505 items) in every process:
about 3 s before the first code. The snapshot answers the same questions `CodeSet` asks the
library (description, kind, children, notes, ...) from an SQLite file in the data directory's
cache: opening it reads the ordered code list only (one marshal value); a code's record is read
on first use.

The file is derived data: its name carries the code-set version and a hash of this module, so a
new version builds a new file; it is written to a temporary name and renamed into place, so two
processes starting at once both build (the loser's rename is harmless) and no reader ever sees a
half-written file.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sqlite3
import threading
import uuid
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import core.codes as codes_module
from core.codes import undot

log = logging.getLogger(__name__)

# What each record holds, in order (the library's accessor each field mirrors).
_FIELDS = (
    "type",  # chapter / section / category / subcategory / extended subcategory
    "description",
    "is_leaf",
    "ancestors",
    "children",
    "inclusion_term",
    "includes",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "seven_chr_def",
    "notes",
)
_INDEX = {name: i for i, name in enumerate(_FIELDS)}


def snapshot_path(cache_dir: Path, version: str) -> Path:
    h = hashlib.sha256(version.encode())
    h.update(Path(__file__).read_bytes())
    h.update(Path(codes_module.__file__).read_bytes())  # `undot`, for the range codes
    return cache_dir / f"codeset-{h.hexdigest()[:16]}.sqlite"


def range_codes(codes: Iterable[str]) -> list[str]:
    """Categories and the codes beneath them, undotted and sorted: what a tabular range
    ("E08-E13") or a code prefix is looked up in (`CodeSet._expand`)."""
    return sorted(undot(c) for c in codes if not c.isdigit() and "-" not in c)


def library_type(lib: Any, code: str) -> str:
    """The library's node type, through its public predicates (it has no public accessor)."""
    if lib.is_chapter(code):
        return "chapter"
    if lib.is_extended_subcategory(code):
        return "extended subcategory"
    if lib.is_category(code):
        return "category"
    if lib.is_subcategory(code):
        return "subcategory"
    return "section"


def import_library() -> Any:
    """The library itself (parses the XML: about 3 s)."""
    with warnings.catch_warnings():
        # The library warns about odd XML nodes while it builds its tree.
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as library
    return library


def build_snapshot(path: Path) -> None:
    """Read every item from the library and write the snapshot atomically to `path`."""
    lib = import_library()
    codes = list(dict.fromkeys(lib.get_all_codes(with_dots=True)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    con = sqlite3.connect(tmp)
    try:
        con.execute("CREATE TABLE items (ord INTEGER PRIMARY KEY, code TEXT UNIQUE, data BLOB)")
        rows = []
        for i, code in enumerate(codes):
            record = (
                library_type(lib, code),
                lib.get_description(code),
                bool(lib.is_leaf(code)),
                list(lib.get_ancestors(code)),
                list(lib.get_children(code)),
                list(lib.get_inclusion_term(code)),
                list(lib.get_includes(code)),
                list(lib.get_excludes1(code)),
                list(lib.get_excludes2(code)),
                lib.get_code_first(code),
                lib.get_use_additional_code(code),
                lib.get_code_also(code),
                dict(lib.get_seven_chr_def(code)),
                lib.get_notes(code),
            )
            rows.append((i, code, marshal.dumps(record)))
        con.executemany("INSERT INTO items VALUES (?, ?, ?)", rows)
        # The whole-code-set lists every process reads at start, one marshal read each rather
        # than 98,000 rows and a sort.
        con.execute("CREATE TABLE lists (name TEXT PRIMARY KEY, data BLOB)")
        con.executemany(
            "INSERT INTO lists VALUES (?, ?)",
            [("codes", marshal.dumps(codes)), ("range_codes", marshal.dumps(range_codes(codes)))],
        )
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)


class SnapshotLibrary:
    """The subset of `simple_icd_10_cm`'s functions `CodeSet` uses, answered from the snapshot.

    Thread-safe: one connection guarded by a lock, records cached after their first read.
    """

    def __init__(self, path: Path) -> None:
        # Read-only and immutable: no locking or journal work on a file nobody writes.
        self._con = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        self._codes: list[str] = self._list("codes")
        self._range_codes: list[str] = self._list("range_codes")
        self._records: dict[str, tuple[Any, ...]] = {}
        self._descendants: dict[str, list[str]] = {}

    def _list(self, name: str) -> list[str]:
        row = self._con.execute("SELECT data FROM lists WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise sqlite3.DatabaseError(f"snapshot has no list {name!r}")
        try:
            value = marshal.loads(row[0])
        except (EOFError, ValueError, TypeError):
            value = None
        if not isinstance(value, list):
            raise sqlite3.DatabaseError(f"snapshot list {name!r} is unreadable")
        return value

    def range_codes(self) -> list[str]:
        """`range_codes` of every code, as stored when the snapshot was built."""
        return self._range_codes

    def _record(self, code: str) -> tuple[Any, ...]:
        rec = self._records.get(code)
        if rec is None:
            with self._lock:
                row = self._con.execute("SELECT data FROM items WHERE code = ?", (code,)).fetchone()
            if row is None:
                raise ValueError(f"{code} is not a valid ICD-10-CM code.")
            rec = marshal.loads(row[0])
            self._records[code] = rec
        return rec

    def _get(self, code: str, name: str) -> Any:
        return self._record(code)[_INDEX[name]]

    # The library's accessors, by the same names.
    def get_all_codes(self, with_dots: bool = True) -> list[str]:
        return list(self._codes)

    def library_type(self, code: str) -> str:
        return str(self._get(code, "type"))

    def is_chapter(self, code: str) -> bool:
        return self.library_type(code) == "chapter"

    def is_extended_subcategory(self, code: str) -> bool:
        return self.library_type(code) == "extended subcategory"

    def is_category(self, code: str) -> bool:
        return self.library_type(code) == "category"

    def is_subcategory(self, code: str) -> bool:
        return self.library_type(code) in ("subcategory", "extended subcategory")

    def is_leaf(self, code: str) -> bool:
        return bool(self._get(code, "is_leaf"))

    def get_description(self, code: str) -> str:
        return str(self._get(code, "description"))

    def get_ancestors(self, code: str) -> list[str]:
        return list(self._get(code, "ancestors"))

    def get_children(self, code: str) -> list[str]:
        return list(self._get(code, "children"))

    def get_descendants(self, code: str) -> list[str]:
        """Depth first in tabular order, as the library walks its tree."""
        found = self._descendants.get(code)
        if found is None:
            found = []
            stack = list(reversed(self.get_children(code)))
            while stack:
                child = stack.pop()
                found.append(child)
                if child != code:
                    stack.extend(reversed([c for c in self.get_children(child) if c != child]))
            self._descendants[code] = found
        return list(found)

    def get_inclusion_term(self, code: str) -> list[str]:
        return list(self._get(code, "inclusion_term"))

    def get_includes(self, code: str) -> list[str]:
        return list(self._get(code, "includes"))

    def get_excludes1(self, code: str) -> list[str]:
        return list(self._get(code, "excludes1"))

    def get_excludes2(self, code: str) -> list[str]:
        return list(self._get(code, "excludes2"))

    def get_code_first(self, code: str) -> str:
        return str(self._get(code, "code_first"))

    def get_use_additional_code(self, code: str) -> str:
        return str(self._get(code, "use_additional_code"))

    def get_code_also(self, code: str) -> str:
        return str(self._get(code, "code_also"))

    def get_seven_chr_def(self, code: str) -> dict[str, str]:
        return dict(self._get(code, "seven_chr_def"))

    def get_notes(self, code: str) -> str:
        return str(self._get(code, "notes"))


def open_snapshot(cache_dir: Path | None, version: str) -> Any:
    """The snapshot for `version` in `cache_dir`, built on first use; the library itself when
    there is no cache directory or it cannot be written."""
    if cache_dir is None:
        return import_library()
    path = snapshot_path(cache_dir, version)
    if not path.is_file():
        try:
            build_snapshot(path)
        except OSError as err:
            log.warning(
                "code-set snapshot not written (%s); reading the library", type(err).__name__
            )
            return import_library()
    try:
        return SnapshotLibrary(path)
    except sqlite3.DatabaseError:
        log.warning("code-set snapshot unreadable; rebuilding")
        path.unlink(missing_ok=True)
        build_snapshot(path)
        return SnapshotLibrary(path)
