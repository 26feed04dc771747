"""Data files in rules/ load against their schema; a bad entry is named by file and line."""

from pathlib import Path

import pytest

from core.errors import RulesError
from tools.codeset import CodeSet
from tools.extract.sections import SectionRules, load_section_rules
from tools.mentions import load_context_rules
from tools.normalize import Lexicon, load_lexicon
from tools.rulefiles import load_yaml_model


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
