"""The code-set snapshot answers exactly as the library it was built from."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tools.codeset import CODE_SET_VERSION, CodeSet
from tools.codeset_snapshot import SnapshotLibrary, import_library, open_snapshot, snapshot_path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[CodeSet, CodeSet]:
    cache = tmp_path_factory.mktemp("cache")
    snap = open_snapshot(cache, CODE_SET_VERSION)
    assert isinstance(snap, SnapshotLibrary)
    return CodeSet(import_library()), CodeSet(snap)


def test_snapshot_codeinfo_equals_library(pair: tuple[CodeSet, CodeSet]):
    lib, snap = pair
    codes = lib.all_codes(include_headings=True)
    assert codes == snap.all_codes(include_headings=True)
    # Every 40th item, and the shapes with traps: a block named like its category, chapters,
    # childless blocks, 7th-character codes and their inherited tables.
    sample = codes[::40] + ["B99", "E36", "4", "C00-C96", "S72.001", "S72.001A", "T81.40XA"]
    for code in sample:
        assert snap.get(code) == lib.get(code), code
        assert snap.is_billable(code) == lib.is_billable(code), code
        assert snap.kind(code) == lib.kind(code), code
    for code in ["E11", "E08-E13", "S72.0", "4", "B99", "O9A"]:
        assert snap.descendants(code) == lib.descendants(code), code
        assert snap.leaves_under(code) == lib.leaves_under(code), code
        assert snap.unspecified_child(code) == lib.unspecified_child(code), code
    assert snap.excludes1_conflict("E11.9", "E10.9") == lib.excludes1_conflict("E11.9", "E10.9")


def test_snapshot_is_built_once_and_reused(tmp_path: Path):
    first = open_snapshot(tmp_path, CODE_SET_VERSION)
    path = snapshot_path(tmp_path, CODE_SET_VERSION)
    stamp = path.stat().st_mtime_ns
    second = open_snapshot(tmp_path, CODE_SET_VERSION)
    assert path.stat().st_mtime_ns == stamp
    assert first.get_description("E11.9") == second.get_description("E11.9")
    # Nothing half written is left beside it.
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_stored_range_codes_are_the_library_s(pair: tuple[CodeSet, CodeSet]):
    lib, snap = pair
    assert snap._sorted == lib._sorted
    assert snap._items == lib._items


def test_a_snapshot_with_an_unreadable_list_is_rebuilt(tmp_path: Path):
    open_snapshot(tmp_path, CODE_SET_VERSION)
    path = snapshot_path(tmp_path, CODE_SET_VERSION)
    con = sqlite3.connect(path)
    con.execute("UPDATE lists SET data = ? WHERE name = 'range_codes'", (b"\x00junk",))
    con.commit()
    con.close()
    snap = open_snapshot(tmp_path, CODE_SET_VERSION)
    assert snap.range_codes()[:3] == ["A00", "A000", "A001"]
    assert snap.get_all_codes()[0] == "1"
