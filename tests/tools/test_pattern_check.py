"""spaCy's check of token patterns runs once per pattern set; a bad pattern still stops the add."""

from pathlib import Path

import pytest
import spacy
import spacy.matcher.matcher as spacy_matcher
from spacy.errors import MatchPatternError

from tools.extract.pattern_check import add_rules
from tools.extract.sections import import_medspacy


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[object]:
    """Each pattern spaCy checks, in a fresh data directory."""
    monkeypatch.setenv("CODESENSE_DATA_DIR", str(tmp_path))
    seen: list[object] = []
    real = spacy_matcher.validate_token_pattern

    def counting(pattern: object) -> object:
        seen.append(pattern)
        return real(pattern)

    monkeypatch.setattr(spacy_matcher, "validate_token_pattern", counting)
    return seen


def _sectionizer() -> object:
    import_medspacy()
    nlp = spacy.blank("en")
    return nlp.add_pipe("medspacy_sectionizer", config={"rules": None})


def _rules(header: str, pattern: list[dict[str, object]]) -> list[object]:
    from medspacy.section_detection import SectionRule

    return [
        SectionRule(literal=f"{header}:", category="plan"),
        SectionRule(literal=header, category="plan", pattern=pattern),
    ]


def test_patterns_that_passed_are_not_checked_again(checks: list[object]) -> None:
    rules = _rules("Care plan", [{"LOWER": "care"}, {"LOWER": "plan"}])
    first = _sectionizer()
    add_rules(first, rules)
    assert len(checks) == 1
    second = _sectionizer()
    add_rules(second, _rules("Care plan", [{"LOWER": "care"}, {"LOWER": "plan"}]))
    assert len(checks) == 1, "the same patterns were checked twice"
    # Both read the header the same way.
    doc = second.nlp("Care plan: rest\n")  # type: ignore[attr-defined]
    assert [s.category for s in doc._.sections] == ["plan"]
    # An edited rule is a new pattern set: checked.
    add_rules(_sectionizer(), _rules("Care plan", [{"LOWER": "care"}, {"LOWER": "plans"}]))
    assert len(checks) == 2


def test_a_bad_pattern_is_refused_every_time(checks: list[object]) -> None:
    bad = [{"LOWER": "care"}, {"LOWR": "plan"}]  # a misspelt attribute
    for _ in range(2):
        with pytest.raises(MatchPatternError):
            add_rules(_sectionizer(), _rules("Care plan", bad))
    assert len(checks) == 2
