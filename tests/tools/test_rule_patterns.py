"""A rule pack's patterns are checked once per pack text: a later load of the same text compiles
none of them, an edited pack is checked again, and an unreadable record is rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RulesError
from tools.rules import literals, patterns
from tools.rules.load import load_rule_set, pack_files

PACK = """version: 1
pack: test-patterns
source: Test source
defaults:
  effective: {start: 2025-10-01}
rules:
  - id: test.add-pacemaker
    kind: add-code
    title: Cardiac pacemaker in place
    citation: Section I.C.21.c.3
    severity: info
    pattern: '\\b(?:pacemaker|PPM)\\b(?! check)'
    code: Z95.0
    example:
      note: "ASSESSMENT: Sinus node dysfunction, dual-chamber pacemaker in place.\\n"
      expect: [Z95.0]
"""


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Each pattern a pack check compiles, in a fresh data directory."""
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path / "data"))
    seen: list[str] = []
    real = patterns.compiled

    def counting(pattern: str) -> object:
        seen.append(pattern)
        return real(pattern)

    monkeypatch.setattr(patterns, "compiled", counting)
    return seen


def _write(root: Path, text: str) -> Path:
    path = root / "guidelines" / "10_test.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _records(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "data" / "cache" / "patterns").glob("rules-*.marshal"))


def test_a_pack_checked_once_is_not_compiled_again(tmp_path: Path, compiles: list[str]):
    _write(tmp_path / "rules", PACK)
    first = load_rule_set(tmp_path / "rules")
    assert compiles == [r"\b(?:pacemaker|PPM)\b(?! check)"]
    assert len(_records(tmp_path)) == 1
    compiles.clear()
    second = load_rule_set(tmp_path / "rules")
    assert compiles == []
    assert [r.model_dump() for r in second.rules] == [r.model_dump() for r in first.rules]


def test_an_edited_pack_is_checked_again(tmp_path: Path, compiles: list[str]):
    path = _write(tmp_path / "rules", PACK)
    load_rule_set(tmp_path / "rules")
    path.write_text(PACK.replace("(?! check)", "(?! check"), encoding="utf-8")
    with pytest.raises(RulesError, match=r"10_test.yaml line 12: .*invalid regular expression"):
        load_rule_set(tmp_path / "rules")
    # A pack that failed leaves no record: it fails again next time.
    assert len(_records(tmp_path)) == 1
    with pytest.raises(RulesError, match="invalid regular expression"):
        load_rule_set(tmp_path / "rules")


@pytest.mark.parametrize("junk", [b"", b"not marshal", b"\xe9\x00\x00\x00\x00"])
def test_an_unreadable_record_is_checked_and_rewritten(
    tmp_path: Path, compiles: list[str], junk: bytes
):
    _write(tmp_path / "rules", PACK)
    load_rule_set(tmp_path / "rules")
    (record,) = _records(tmp_path)
    record.write_bytes(junk)
    compiles.clear()
    load_rule_set(tmp_path / "rules")
    assert compiles == [r"\b(?:pacemaker|PPM)\b(?! check)"]
    compiles.clear()
    load_rule_set(tmp_path / "rules")
    assert compiles == []


def test_recorded_words_are_the_parsed_words(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """What the shipped packs' records say each pattern needs is what a fresh parse says."""
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path))
    load_rule_set()
    recorded: dict[str, frozenset[str] | None] = {}
    for path in pack_files():
        recorded.update(patterns.PackPatterns(path).known)
    assert len(recorded) > 300
    for pattern, words in recorded.items():
        assert words == literals._parsed_required_words(pattern), pattern


@pytest.fixture
def fresh_words(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No words remembered or parsed yet, in a fresh data directory."""
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(literals, "_REMEMBERED", {})
    monkeypatch.setattr(literals, "_PARSED", {})
    monkeypatch.setattr(patterns, "_recalled", False)
    return tmp_path / "data" / "cache" / "patterns"


def test_words_parsed_in_one_process_are_recalled_by_the_next(fresh_words: Path):
    built = r"\b(?:sports? arena|stadium)(?:e?s)?\b"
    words = frozenset({"sport arena", "sports arena", "stadium"})
    assert literals.required_words(built) == words
    patterns.keep_parsed_words()
    (kept,) = fresh_words.glob("words-*.marshal")
    # The next process: nothing in memory, the file recalled once.
    literals._REMEMBERED.clear()
    literals._PARSED.clear()
    patterns.recall_parsed_words()
    assert {built: words} == literals._REMEMBERED
    assert literals.required_words(built) == words
    assert literals.parsed_here() == {}
    # Keeping adds to what is there.
    literals.required_words(r"\bbleach\b")
    patterns.keep_parsed_words()
    literals._REMEMBERED.clear()
    patterns._recalled = False
    patterns.recall_parsed_words()
    assert set(literals._REMEMBERED) == {built, r"\bbleach\b"}
    assert kept.exists()


def test_an_unreadable_words_file_is_ignored_and_replaced(fresh_words: Path):
    fresh_words.mkdir(parents=True)
    literals.required_words(r"\bpoolside\b")
    patterns.keep_parsed_words()
    (kept,) = fresh_words.glob("words-*.marshal")
    kept.write_bytes(b"\x00not marshal")
    literals._REMEMBERED.clear()
    patterns.recall_parsed_words()
    assert literals._REMEMBERED == {}
    patterns.keep_parsed_words()
    patterns._recalled = False
    patterns.recall_parsed_words()
    assert {r"\bpoolside\b": frozenset(["poolside"])} == literals._REMEMBERED
