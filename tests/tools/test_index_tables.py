"""Tests for the NCHS index tables (drugs, neoplasms, external causes) shipped with the project."""

from __future__ import annotations

import pytest

from tools.codeset import CodeSet
from tools.index_tables import DATA_DIR, TABLE_FILES, IndexEntry, entry_terms, load_index_entries


@pytest.fixture(scope="module")
def entries() -> list[IndexEntry]:
    return load_index_entries()


def _find(entries: list[IndexEntry], table: str, path: list[str], column: str | None) -> IndexEntry:
    found = [e for e in entries if e.table == table and e.path == path and e.column == column]
    assert len(found) == 1, found
    return found[0]


def test_files_are_in_the_project() -> None:
    for name in TABLE_FILES.values():
        assert (DATA_DIR / name).is_file()
    assert (DATA_DIR / "README.md").is_file()


def test_counts_per_table(entries: list[IndexEntry]) -> None:
    counts = {t: len(load_index_entries(t)) for t in TABLE_FILES}
    assert counts == {"drug": 40_036, "neoplasm": 9_020, "eindex": 6_686}
    assert sum(counts.values()) == len(entries)


def test_every_code_is_checked_against_the_code_set(entries: list[IndexEntry]) -> None:
    codes = CodeSet.load()
    assert all(e.valid for e in entries)
    assert not any(e.code.endswith("-") for e in entries)
    for entry in entries[::500]:
        assert codes.exists(entry.code)
        assert entry.code == codes.normalize(entry.code)


def test_acetaminophen_rows(entries: list[IndexEntry]) -> None:
    accidental = _find(entries, "drug", ["Acetaminophen"], "Poisoning, Accidental (unintentional)")
    assert accidental.code == "T39.1X1"
    # The drug table stops before the 7th character.
    assert accidental.valid and not accidental.billable and not accidental.partial
    assert "acetaminophen poisoning" in entry_terms(accidental)
    adverse = _find(entries, "drug", ["Acetaminophen"], "Adverse effect")
    assert adverse.code == "T39.1X5"
    assert entry_terms(adverse)[0] == "adverse effect of acetaminophen"


def test_neoplasm_lung(entries: list[IndexEntry]) -> None:
    lung = _find(entries, "neoplasm", ["Neoplasm, neoplastic", "lung"], "Malignant Primary")
    assert lung.code == "C34.9" and lung.partial and not lung.billable
    assert CodeSet.load().children("C34.9") == ["C34.90", "C34.91", "C34.92"]
    upper = _find(
        entries, "neoplasm", ["Neoplasm, neoplastic", "lung", "upper lobe"], "Malignant Primary"
    )
    assert upper.code == "C34.1"
    terms = entry_terms(upper)
    assert terms[0] == "malignant neoplasm of upper lobe of lung"
    assert "upper lobe lung cancer" in terms
    secondary = _find(
        entries, "neoplasm", ["Neoplasm, neoplastic", "lung", "upper lobe"], "Malignant Secondary"
    )
    assert secondary.code == "C78.0"
    assert "metastasis to upper lobe of lung" in entry_terms(secondary)


def test_neoplasm_noun_goes_after_of(entries: list[IndexEntry]) -> None:
    entry = _find(
        entries, "neoplasm", ["Neoplasm, neoplastic", "abdomen, abdominal"], "Malignant Primary"
    )
    terms = entry_terms(entry)
    assert "malignant neoplasm of abdomen" in terms
    assert "abdominal cancer" in terms
    assert "malignant neoplasm of abdominal" not in terms


def test_eindex_fall_from_ladder(entries: list[IndexEntry]) -> None:
    entry = _find(entries, "eindex", ["Fall, falling", "from, off, out of", "ladder"], None)
    assert entry.code == "W11"
    assert entry.nemod == ["accidental"]
    terms = entry_terms(entry)
    assert terms[0] == "fall from ladder"
    assert "falling off ladder" in terms


def test_eindex_inverted_main_term(entries: list[IndexEntry]) -> None:
    entry = next(e for e in entries if e.table == "eindex" and e.path == ["Bending, injury in"])
    assert entry.code == "X50.1"
    assert entry.nemod == ["prolonged", "static"]
    assert entry_terms(entry) == ["injury in bending"]


def test_nonessential_modifiers_are_kept_apart(entries: list[IndexEntry]) -> None:
    entry = next(e for e in entries if e.table == "drug" and e.path == ["2,4-D"])
    assert entry.nemod == ["dichlorophen-oxyacetic acid"]
    abandonment = next(e for e in entries if e.table == "eindex" and e.path == ["Abandonment NEC"])
    assert abandonment.code == "X58"
    assert len(abandonment.nemod) == 2
    assert entry_terms(abandonment) == ["abandonment"]


def test_columns(entries: list[IndexEntry]) -> None:
    columns: dict[str, set[str | None]] = {e.table: set() for e in entries}
    for entry in entries:
        columns[entry.table].add(entry.column)
    assert columns["eindex"] == {None}
    assert columns["drug"] == {
        "Poisoning, Accidental (unintentional)",
        "Poisoning, Intentional self-harm",
        "Poisoning, Assault",
        "Poisoning, Undetermined",
        "Adverse effect",
        "Underdosing",
    }
    assert "Malignant Primary" in columns["neoplasm"]
    assert "Ca in situ" in columns["neoplasm"]


def test_entries_are_cached_and_tables_checked() -> None:
    assert load_index_entries("eindex")[0] is load_index_entries("eindex")[0]
    with pytest.raises(ValueError, match="Unknown index table"):
        load_index_entries("tabular")  # type: ignore[arg-type]


def test_every_entry_has_at_least_one_phrase(entries: list[IndexEntry]) -> None:
    for entry in entries[::97]:
        terms = entry_terms(entry)
        assert terms, entry
        assert all(t == t.lower() and "  " not in t for t in terms)
