"""Tests for the ICD-10-CM April 2026 code set wrapper, on real codes."""

from __future__ import annotations

import time

import pytest

from core.errors import CodeSenseError, UnknownCode
from tools.codeset import CODE_SET_VERSION, CodeSet, parse_code_refs


@pytest.fixture(scope="module")
def codes() -> CodeSet:
    return CodeSet.load()


def test_load_is_a_process_wide_singleton(codes: CodeSet) -> None:
    assert CodeSet.load() is codes
    assert CODE_SET_VERSION == "ICD-10-CM 2026-04"


@pytest.mark.parametrize("raw", ["E11.21", "e1121", " e11.21 ", "E1121", "e11.21"])
def test_normalize_accepts_dots_case_and_spaces(codes: CodeSet, raw: str) -> None:
    assert codes.normalize(raw) == "E11.21"
    assert codes.get(raw).code == "E11.21"
    assert codes.exists(raw)


def test_normalize_keeps_headings_and_short_codes(codes: CodeSet) -> None:
    assert codes.normalize("e08-e13") == "E08-E13"
    assert codes.normalize("4") == "4"
    assert codes.normalize("i10") == "I10"
    assert codes.normalize("t8140xa") == "T81.40XA"


def test_e11_21_entry(codes: CodeSet) -> None:
    info = codes.get("E11.21")
    assert info.description == "Type 2 diabetes mellitus with diabetic nephropathy"
    assert info.billable
    assert info.kind == "subcategory"
    assert info.parent == "E11.2"
    assert info.ancestors == ["E11.2", "E11", "E08-E13", "4"]
    assert info.chapter == "4"
    assert "Type 2 diabetes mellitus with Kimmelstiel-Wilson disease" in info.inclusion_terms


def test_excludes1_is_inherited_with_its_origin(codes: CodeSet) -> None:
    info = codes.get("E11.21")
    assert "type 1 diabetes mellitus (E10.-)" in info.excludes1
    origins = {n.text: n.origin for n in info.notes if n.kind == "excludes1"}
    assert origins["type 1 diabetes mellitus (E10.-)"] == "E11"
    # The chapter's note reaches the code too.
    newborn = "transitory endocrine and metabolic disorders specific to newborn (P70-P74)"
    assert origins[newborn] == "4"


def test_non_billable_category_and_subcategory(codes: CodeSet) -> None:
    assert not codes.is_billable("E11.2")
    assert codes.children("E11.2") == ["E11.21", "E11.22", "E11.29"]
    assert codes.get("E11").kind == "category"
    assert codes.get("4").kind == "chapter"
    assert codes.get("E08-E13").kind == "block"
    assert not codes.get("E08-E13").billable


def test_use_additional_code_is_a_list_with_inherited_notes(codes: CodeSet) -> None:
    notes = codes.get("E11.22").use_additional_code
    assert isinstance(notes, list)
    assert notes[0] == "code to identify stage of chronic kidney disease (N18.1-N18.6)"
    # Inherited from E11: the library would only return the nearest ancestor's string.
    assert "insulin (Z79.4)" in notes
    prefixes = codes.note_prefixes(notes[0])
    assert prefixes == ["N18.1", "N18.2", "N18.3", "N18.4", "N18.5", "N18.6"]
    assert codes.matches_prefixes("N18.30", prefixes)
    assert not codes.matches_prefixes("N18.9", prefixes)


def test_code_also_loses_no_text_but_its_leading_comma(codes: CodeSet) -> None:
    assert codes.get("T81.4").code_also[0].startswith("if applicable, disruption")


def test_i50_9_inclusion_terms(codes: CodeSet) -> None:
    info = codes.get("I50.9")
    assert info.description == "Heart failure, unspecified"
    assert "Congestive heart failure NOS" in info.inclusion_terms


def test_seventh_character_inherited_from_category(codes: CodeSet) -> None:
    info = codes.get("S72.001")
    assert not info.billable
    assert info.needs_seventh
    assert info.seventh_character_origin == "S72"
    assert info.seventh_character["A"] == "initial encounter for closed fracture"
    assert "initial encounter for open fracture NOS" in info.seventh_character["B"]
    assert codes.lacks_only_seventh("S72.001")
    assert codes.with_seventh("S72.001", "a") == "S72.001A"
    full = codes.get("S72.001A")
    assert full.billable and full.kind == "extended" and not full.needs_seventh


def test_t81_4_needs_a_sixth_character_before_its_seventh(codes: CodeSet) -> None:
    assert codes.get("T81.4").needs_seventh
    assert not codes.lacks_only_seventh("T81.4")
    with pytest.raises(UnknownCode, match="T81.4XXA is not a code"):
        codes.with_seventh("T81.4", "A")
    assert codes.lacks_only_seventh("T81.40")
    assert codes.with_seventh("T81.40", "A") == "T81.40XA"
    assert codes.unspecified_child("T81.4") == "T81.40"


def test_with_seventh_refuses_bad_calls(codes: CodeSet) -> None:
    with pytest.raises(UnknownCode, match="not a 7th character"):
        codes.with_seventh("S72.001", "Z")
    with pytest.raises(CodeSenseError, match="takes no 7th character"):
        codes.with_seventh("E11.9", "A")
    assert codes.with_seventh("O32.1", "0") == "O32.1XX0"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("E11", "E11.9"),  # "without complications", not E11.8 "with unspecified complications"
        ("I50", "I50.9"),  # not I50.1 "Left ventricular failure, unspecified"
        ("S72.00", "S72.009"),  # "unspecified part of neck of unspecified femur"
        ("S72", "S72.90"),  # stops where only the 7th character is missing
        ("K21", "K21.9"),  # "... without esophagitis"
        ("E11.2", None),  # E11.21 / E11.22 / E11.29 "other": no unspecified code
        ("E11.21", None),  # already billable
        ("S72.001", None),  # only the 7th character is missing
    ],
)
def test_unspecified_child(codes: CodeSet, code: str, expected: str | None) -> None:
    assert codes.unspecified_child(code) == expected


def test_unknown_code_raises_one_line(codes: CodeSet) -> None:
    assert not codes.exists("ZZZ.9")
    with pytest.raises(UnknownCode) as err:
        codes.get("ZZZ.9")
    assert "ZZZ.9" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, CodeSenseError)


def test_block_shadowed_by_same_named_category(codes: CodeSet) -> None:
    info = codes.get("B99")
    assert info.kind == "category"
    assert info.parent == "1"
    assert "B99" not in info.ancestors


def test_excludes1_conflict_type1_vs_type2(codes: CodeSet) -> None:
    assert codes.excludes1_conflict("E11.9", "E10.9") == "type 1 diabetes mellitus (E10.-)"
    assert codes.excludes1_conflict("E10.9", "E11.9") == "type 2 diabetes mellitus (E11.-)"
    source = codes.excludes1_source("E11.9", "E10.9")
    assert source is not None and source.origin == "E11"
    assert codes.excludes1_conflict("E11.9", "O24.410") == "gestational diabetes (O24.4-)"
    assert codes.excludes1_conflict("E11.9", "E11.65") is None


def test_no_excludes1_between_i10_and_i11_9(codes: CodeSet) -> None:
    # I11 "includes" hypertension, but the tabular has no Excludes1 between them.
    assert codes.excludes1_conflict("I10", "I11.9") is None
    assert codes.excludes1_conflict("I11.9", "I10") is None


def test_excludes1_condition_in_a_disease_range(codes: CodeSet) -> None:
    """ "somnolence, stupor and coma in diabetes (E08-E13)" stands for the diabetes codes "with
    coma", not for every diabetes code; a note whose range has no such codes applies whole."""
    assert codes.excludes1_conflict("R40.0", "E11.21") is None
    assert codes.excludes1_conflict("R40.0", "E11.641") is not None
    assert codes.excludes1_conflict("R40.20", "E11.01") is not None
    assert codes.excludes1_conflict("R44.0", "F20.0") is not None
    assert codes.excludes1_conflict("F53.1", "F20.0") is not None


def test_excludes1_with_qualified_range(codes: CodeSet) -> None:
    note = "polyneuropathy (in): diabetes mellitus (E08-E13 with .42)"
    assert codes.excludes1_conflict("G63", "E11.42") == note
    assert codes.excludes1_conflict("G63", "E11.40") is None


def test_excludes1_targets(codes: CodeSet) -> None:
    targets = dict(codes.excludes1_targets("E11.21"))
    assert targets["type 1 diabetes mellitus (E10.-)"] == ["E10"]
    assert targets["gestational diabetes (O24.4-)"] == ["O24.4"]
    assert targets["neonatal diabetes mellitus (P70.2)"] == ["P70.2"]
    # P73 does not exist: the range expands to the categories that do.
    assert targets[
        "transitory endocrine and metabolic disorders specific to newborn (P70-P74)"
    ] == [
        "P70",
        "P71",
        "P72",
        "P74",
    ]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("(I10-I16)", ["I10", "I11", "I12", "I13", "I15", "I16"]),
        ("(D29.2.-)", ["D29.2"]),
        ("(S12.0--S12.3-)", ["S12.0", "S12.1", "S12.2", "S12.3"]),
        (
            "(I69. with final characters -23)",
            ["I69.023", "I69.123", "I69.223", "I69.323", "I69.823", "I69.923"],
        ),
        ("(E08, E11 with final characters .00 or .01)", ["E08.00", "E08.01", "E11.00", "E11.01"]),
        ("(with C3 glomerulopathy)", []),
    ],
)
def test_note_prefixes_shapes(codes: CodeSet, note: str, expected: list[str]) -> None:
    assert codes.note_prefixes(note) == expected


def test_parse_code_refs_keeps_qualifier_for_the_whole_list() -> None:
    refs = parse_code_refs("(F10, F13, F19 with .26, .96)")
    assert [r.lo for r in refs] == ["F10", "F13", "F19"]
    assert {r.qualifier for r in refs} == {".26, .96"}


def test_iter_terms_titles_inclusions_and_includes(codes: CodeSet) -> None:
    terms = set(codes.iter_terms())
    assert ("E11.21", "Type 2 diabetes mellitus with diabetic nephropathy", "title") in terms
    assert ("I50.9", "Congestive heart failure NOS", "inclusion") in terms
    assert ("I10", "high blood pressure", "includes") in terms
    assert not any(code in ("4", "E08-E13") for code, _, _ in terms)


def test_counts(codes: CodeSet) -> None:
    assert len(codes.all_codes()) == 98_186
    assert len(codes.all_codes(include_headings=True)) == 98_466
    chapters = [c for c in codes.all_codes(include_headings=True) if c.isdigit()]
    assert len(chapters) == 22
    assert sum(len(codes.leaves_under(c)) for c in chapters) == 74_719
    assert sum(codes.is_billable(c) for c in codes.all_codes()) == 74_719
    # Twelve blocks are childless headings: leaves to the library, never billable here.
    assert not codes.is_billable("C00-C96")
    assert codes.kind("C00-C96") == "block"


def test_descendants_and_leaves(codes: CodeSet) -> None:
    assert codes.descendants("E11.2") == ["E11.21", "E11.22", "E11.29"]
    assert codes.leaves_under("E11.21") == ["E11.21"]
    assert "S72.001A" in codes.leaves_under("S72.00")
    assert "S72.001" not in codes.leaves_under("S72.00")


def test_leaves_asked_again_are_the_same_and_the_callers_own(codes: CodeSet) -> None:
    first = codes.leaves_under("S72")
    assert len(first) > 1_000 and all(codes.is_billable(c) for c in first)
    first.clear()
    again = codes.leaves_under("S72")
    assert again == codes.leaves_under("S72") and len(again) > 1_000
    assert codes.leaves_under("e11.9") == ["E11.9"] == codes.leaves_under("e11.9")
    with pytest.raises(UnknownCode):
        codes.leaves_under("E11.99")
    with pytest.raises(UnknownCode):
        codes.leaves_under("E11.99")


def test_cached_get_is_fast(codes: CodeSet) -> None:
    sample = codes.all_codes()[:2000]
    for code in sample:
        codes.get(code)
    start = time.perf_counter()
    for _ in range(5):
        for code in sample:
            codes.get(code)
    per_call = (time.perf_counter() - start) / (5 * len(sample))
    assert per_call < 20e-6


def test_title_is_the_entry_description_without_building_the_entry() -> None:
    """A fresh code set (nothing built yet): titles read alone equal the built entries'."""
    loaded = CodeSet.load()
    leaves = loaded.leaves_under("S72")[:40] + ["e11.9", "B99", "E08-E13", "4", "I50.9"]
    fresh = CodeSet(loaded._lib)
    titles = [fresh.title(c) for c in leaves]
    assert fresh._info == {}
    assert titles == [fresh.get(c).description for c in leaves]
    assert fresh.title("E11.9") == "Type 2 diabetes mellitus without complications"
    with pytest.raises(UnknownCode):
        fresh.title("E11.99")
