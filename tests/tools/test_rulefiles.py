"""Data files in rules/ load against their schema; a bad entry is named by file and line."""

from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from core.errors import RulesError
from tools.codeset import CodeSet
from tools.extract.sections import SectionRules, load_section_rules
from tools.mentions import load_context_rules
from tools.normalize import Lexicon, load_lexicon
from tools.rulefiles import SafeLoader, load_yaml_model, parsed


def test_shipped_rule_files_load():
    assert load_lexicon().abbreviations
    assert load_section_rules().sections
    assert load_context_rules().rules


def test_every_lexicon_term_names_a_billable_code():
    # An injury term may stop before its 7th character (S16.1): validation adds the encounter's
    # letter, so a follow-up visit reads D, not the A a complete code would carry.
    codeset = CodeSet.load()
    bad = [
        t.code
        for t in load_lexicon().terms
        if not (codeset.is_billable(t.code) or codeset.lacks_only_seventh(t.code))
    ]
    assert bad == []


def test_bad_entry_is_reported_with_file_and_line(tmp_path: Path):
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "version: 1\nabbreviations:\n  - {abbr: HTN, expansion: hypertension}\n  - {abbr: CHF}\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesError, match=r"lexicon.yaml line 4: abbreviations.1.expansion"):
        load_yaml_model(path, Lexicon)


def test_broken_yaml_is_reported_with_line(tmp_path: Path):
    path = tmp_path / "sections.yaml"
    path.write_text("version: 1\nsections:\n  cc: [unclosed\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"sections.yaml line \d+"):
        load_yaml_model(path, SectionRules)


def test_a_parse_is_cached_with_its_dates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The second read of the same text comes from the cache, equal to the first: dates,
    nesting and key order included; other text is parsed again."""
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path))
    raw = (
        "version: 1\nrules:\n  - id: a\n    effective: {start: 2025-10-01, end: 2026-09-30}\n"
        "    at: 2026-01-02 03:04:05\n  - {id: b, n: 2, x: 1.5, ok: true, none: null}\n"
        "dates: [2024-01-01]\n"
    )
    calls: list[str] = []

    def parse(text: str) -> object:
        calls.append(text)
        return yaml.load(text, Loader=SafeLoader)

    first = parsed(raw, "data", parse)
    second = parsed(raw, "data", parse)
    assert calls == [raw]
    assert second == first == yaml.safe_load(raw)
    assert isinstance(second["rules"][0]["effective"]["start"], date)
    assert isinstance(second["rules"][0]["at"], datetime)
    assert list(second["rules"][1]) == ["id", "n", "x", "ok", "none"]
    parsed(raw + "\n# changed\n", "data", parse)
    parsed(raw, "rule-lines", parse)
    assert len(calls) == 3


def test_what_marshal_cannot_hold_is_parsed_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path))
    calls: list[int] = []

    def parse(text: str) -> object:
        calls.append(1)
        return {"when": {date(2025, 1, 1): "a date as a key"}, "set": {1, 2}}

    assert parsed("x: 1", "odd", parse)["set"] == {1, 2}
    parsed("x: 1", "odd", parse)
    assert len(calls) == 2


def test_a_cached_file_still_reports_its_bad_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "version: 1\nabbreviations:\n  - {abbr: HTN, expansion: hypertension}\n  - {abbr: CHF}\n",
        encoding="utf-8",
    )
    for _ in range(2):
        with pytest.raises(RulesError, match=r"lexicon.yaml line 4: abbreviations.1.expansion"):
            load_yaml_model(path, Lexicon)
