"""Which rules apply to a code or a situation: look-up by id, by code and by meaning.

"What applies to E11.22?" finds the rules that name it (diabetes with CKD, the CKD stage, the
HCC flag); "why is the cough not coded with pneumonia?" finds the integral-symptom rules by
meaning. Meaning is a BM25 ranking over each rule's id, title, description, citation, keywords
and kind: offline, deterministic and instant, with no model to load. Every hit carries its
citation and the file and line it is written at, so an answer can quote its source.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from core.codes import CODE, undot
from core.contract import Setting
from tools.rules.codes import CodeMatcher
from tools.rules.load import RuleSet, rule_set
from tools.rules.schema import Rule

_WORD = re.compile(r"[a-z0-9]+(?:\.[a-z0-9]+)?")
_STOP = frozenset(
    "a an and are as at be by for from in is it its not of on or the to with why what which "
    "when how does do this that than rule rules code codes coded coding".split()
)
# BM25 parameters (the usual defaults).
_K1, _B = 1.2, 0.75


class RuleLookupInput(BaseModel):
    query: str | None = Field(default=None, description="a situation in words, or a code")
    code: str | None = Field(default=None, description="rules that name this code")
    rule_id: str | None = Field(default=None, description="an id, or the start of one")
    setting: Setting | None = None
    limit: int = Field(default=10, ge=1, le=200)


class RuleHit(BaseModel):
    id: str
    title: str
    citation: str
    source: str
    kind: str
    severity: str
    setting: str
    file: str
    line: int
    score: float
    why: str


class RuleLookupOutput(BaseModel):
    hits: list[RuleHit]


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP]


def rule_text(rule: Rule) -> str:
    return " ".join(
        [
            rule.id.replace(".", " ").replace("-", " "),
            rule.title,
            rule.description,
            rule.citation,
            " ".join(rule.keywords),
            rule.kind.replace("-", " "),
        ]
    )


def rule_codes(rule: Rule) -> list[str]:
    """Every code selector or code a rule names (templates by their literal prefix)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            literal = value.split("{", 1)[0].rstrip(".")
            for part in literal.split("-") if "-" in literal else [literal]:
                if not CODE.match(part):
                    return
            if literal and (len(literal) >= 3):
                found.append(literal)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ("id", "title", "citation", "description", "message", "example"):
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(rule.model_dump(by_alias=True))
    return list(dict.fromkeys(found))


class RuleIndex:
    """BM25 over the rule texts of one rule set (built once per rule-set version)."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.docs = [Counter(tokens(rule_text(r))) for r in rules.rules]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / len(self.lengths) if self.lengths else 1.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.codes = [[(sel, CodeMatcher([sel])) for sel in rule_codes(r)] for r in rules.rules]

    def search(self, query: str) -> list[tuple[int, float]]:
        terms = tokens(query)
        scores: list[tuple[int, float]] = []
        for i, doc in enumerate(self.docs):
            score = 0.0
            for t in terms:
                tf = doc.get(t, 0)
                if not tf:
                    continue
                norm = tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * self.lengths[i] / self.avg))
                score += self.idf.get(t, 0.0) * norm
            if score > 0:
                scores.append((i, score))
        return sorted(scores, key=lambda x: -x[1])

    def naming(self, code: str) -> list[int]:
        """Rules that name `code`, those naming it most specifically first."""
        return [i for i, _ in sorted(self.naming_scored(code), key=lambda x: -x[1])]

    def naming_scored(self, code: str) -> list[tuple[int, int]]:
        """(rule, specificity): the length of the longest selector of the rule naming `code`."""
        found = []
        for i, selectors in enumerate(self.codes):
            lengths = [len(undot(sel.split("-")[0])) for sel, m in selectors if m.matches(code)]
            if lengths:
                found.append((i, max(lengths)))
        return found


_INDEXES: dict[str, RuleIndex] = {}


def rule_index(rules: RuleSet) -> RuleIndex:
    index = _INDEXES.get(rules.version)
    if index is None:
        index = _INDEXES[rules.version] = RuleIndex(rules)
    return index


def lookup_rules(inp: RuleLookupInput, rules: RuleSet | None = None) -> RuleLookupOutput:
    """Rules by id (exact or prefix), by the code they name, and by meaning, best first."""
    rs = rules or rule_set()
    index = rule_index(rs)
    scored: dict[int, tuple[float, str]] = {}

    def hit(i: int, score: float, why: str) -> None:
        if i not in scored or scored[i][0] < score:
            scored[i] = (score, why)

    if inp.rule_id:
        for i, r in enumerate(rs.rules):
            if r.id == inp.rule_id:
                hit(i, 100.0, "id")
            elif r.id.startswith(inp.rule_id):
                hit(i, 50.0, "id prefix")
    codes = [inp.code] if inp.code else []
    if inp.query:
        codes += [w for w in inp.query.upper().split() if CODE.match(w.strip(",.?"))]
    for code in codes:
        code = code.strip(",.?").upper()
        for i, specificity in index.naming_scored(code):
            hit(i, 20.0 + specificity, f"names {code}")
    if inp.query:
        for i, score in index.search(inp.query):
            hit(i, score, "meaning")
    order = sorted(scored.items(), key=lambda kv: -kv[1][0])
    hits = []
    for i, (score, why) in order:
        rule = rs.rules[i]
        if inp.setting and rule.setting not in ("all", inp.setting):
            continue
        origin = rs.origin[rule.id]
        hits.append(
            RuleHit(
                id=rule.id,
                title=rule.title,
                citation=rule.citation,
                source=origin.source,
                kind=rule.kind,
                severity=rule.severity,
                setting=rule.setting,
                file=origin.file,
                line=origin.line,
                score=round(score, 3),
                why=why,
            )
        )
        if len(hits) >= inp.limit:
            break
    return RuleLookupOutput(hits=hits)
