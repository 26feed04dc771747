"""Loading every rule pack under `rules/<folder>/*.yaml` into one `RuleSet`, checked at load.

A bad rule fails start-up with its file and line ("rules/guidelines/30-combination.yaml line 42:
rules.3.when: ..."); so does an id used twice. The set's content hash is the same digest the
output's `rules_version` carries, so a changed pack shows up in every result without a release.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from pydantic import BaseModel, ConfigDict

from core.errors import RulesError
from tools.rulefiles import RULES_DIR, compose, file_digest, load_yaml_model, parsed
from tools.rules.patterns import PackPatterns, recall_parsed_words
from tools.rules.schema import PATTERNS, Pack, Rule, RuleBase

R = TypeVar("R", bound=RuleBase)


def pack_files(root: Path = RULES_DIR) -> list[Path]:
    """Rule packs live one folder down (guidelines/, cdi/, edits/, payer/); the files at the
    top of rules/ (lexicon, sections, ConText cues) are other kinds of data."""
    return sorted(root.glob("*/*.yaml"))


class RuleOrigin(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    pack: str
    source: str


class RuleSet:
    """Every loaded rule, in load order (pack file name, then position), with its origin."""

    def __init__(self, packs: list[tuple[Pack, str, list[int]]], version: str) -> None:
        self.version = version
        self.packs = [p for p, _, _ in packs]
        self.rules: list[Rule] = []
        self.origin: dict[str, RuleOrigin] = {}
        for pack, file, lines in packs:
            for rule, line in zip(pack.rules, lines, strict=True):
                self.rules.append(rule)
                self.origin[rule.id] = RuleOrigin(
                    file=file, line=line, pack=pack.pack, source=pack.source
                )
        self._by_id = {r.id: r for r in self.rules}
        # of_kind's answers: the engine asks the same few dozen questions for every chart.
        self._in_force: dict[tuple[type, str | None, date | None], tuple[Rule, ...]] = {}

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def of_kind(self, kind: type[R], setting: str | None = None, on: date | None = None) -> list[R]:
        """Rules of one kind, in order; with `setting`/`on`, only those in force there."""
        day = (on or date.today()) if setting is not None else None
        key = (kind, setting, day)
        found = self._in_force.get(key)
        if found is None:
            found = tuple(r for r in self.rules if isinstance(r, kind))
            if setting is not None and day is not None:
                found = tuple(r for r in found if r.applies(setting, day))
            self._in_force[key] = found
        return list(cast(tuple[R, ...], found))

    def by_source(self) -> Counter[str]:
        return Counter(self.origin[r.id].source for r in self.rules)


def _rule_lines(path: Path) -> list[int]:
    """1-based line of each entry of the pack's `rules` list (cached with the pack's parse)."""
    lines: list[int] = parsed(path.read_text(encoding="utf-8"), "rule-lines", _lines_of_rules)
    return lines


def _lines_of_rules(raw: str) -> list[int]:
    root = compose(raw)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "rules" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_rule_set(root: Path = RULES_DIR) -> RuleSet:
    """Load and check every pack under `root`; raise RulesError naming file and line."""
    files = pack_files(root)
    recall_parsed_words()
    packs: list[tuple[Pack, str, list[int]]] = []
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    for path in files:
        patterns = PackPatterns(path)
        pack = load_yaml_model(path, Pack, context={PATTERNS: patterns})
        patterns.passed()
        lines = _rule_lines(path)
        shown = _shown(path, root)
        if pack.pack in names:
            raise RulesError(f"{shown}: pack name {pack.pack!r} is also used by {names[pack.pack]}")
        names[pack.pack] = shown
        for rule, line in zip(pack.rules, lines, strict=True):
            if rule.id in seen:
                raise RulesError(
                    f"{shown} line {line}: rule id {rule.id!r} is already used at {seen[rule.id]}"
                )
            seen[rule.id] = f"{shown} line {line}"
        packs.append((pack, shown, lines))
    return RuleSet(packs, file_digest(sorted(root.glob("**/*.yaml"))))


@lru_cache(maxsize=4)
def _cached(root: Path, stamp: tuple[tuple[str, float], ...]) -> RuleSet:
    return load_rule_set(root)


def rule_set(root: Path = RULES_DIR) -> RuleSet:
    """The rule set, loaded once per process and again whenever a pack file changes."""
    stamp = tuple((str(p), p.stat().st_mtime) for p in sorted(root.glob("**/*.yaml")))
    return _cached(root, stamp)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return path.name


def rule_summary(rule: Rule) -> dict[str, Any]:
    """A rule as the YAML a person wrote (aliases, no defaults they did not set), id and kind
    first, its example last."""
    data = rule.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    head: dict[str, Any] = {
        k: data.pop(k) for k in ("id", "kind", "title", "citation", "severity") if k in data
    }
    data["setting"] = rule.setting
    example = data.pop("example", None)
    return {**head, **data, "example": example}
