"""The reranker: which of a mention's candidate codes is its reading, learned from labelled charts.

The term index ranks a mention's candidates by how tightly their words match and where the term
comes from; the tabular neighbours of the best one follow. On CodiEsp dev the gold code was among
a mention's candidates but not first hundreds of times (NOTES.md, issue 4). The reranker scores
every candidate with a small model over features of the mention (its words, assertion, section),
the candidate (rank, match score, origin, how much of its term and its title the mention and the
sentence cover, depth, billable) and its neighbours (the other mentions' candidates in the chart),
plus how often the code and its category were gold when they were candidates on the fitting set.
The best candidate becomes the mention's reading; a mention whose best candidate is unlikely to
be right at all (below the model's `nil_threshold`) is left out, as a spurious match.

The model is fitted on CodiEsp train by `codesense rerank fit` (`evals/rerank_fit.py`, which may
use scikit-learn) and shipped as data in `data/reranker.json`; scoring here is numpy over those
weights, so the coding path imports no learning library. Without the file nothing changes.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr, model_validator

from core.codes import undot
from core.errors import CodeSenseError
from tools.chart import Chart
from tools.extract.sections import section_weight
from tools.lookup import Candidate
from tools.mentions import Mention
from tools.normalize import STOPWORDS, default_normalizer, load_lexicon
from tools.rules.codes import CodeMatcher

RERANKER_FILE = Path(__file__).resolve().parent.parent / "data" / "reranker.json"
# Turn the reranker off without deleting the file (tests of the term index's own ranking).
DISABLE_ENV = "CODESENSE_RERANKER"

_ORIGINS = ("lexicon", "title", "inclusion", "index", "hierarchy")
_ASSERTIONS = ("negated", "possible", "historical", "family", "hypothetical")
# Mentions never left out, whatever their score: the guideline engine reads them for history
# codes ("History of myocardial infarction" -> I25.2, family history -> Z80-Z84).
KEEP_ASSERTIONS = ("historical", "family")
# Nor mentions read as external causes (V00-Y99): whether one is reported is the guideline
# engine's decision (Section I.C.20, "fall from tripping" -> W01.0), and CodiEsp's annotators
# coded them rarely (36 in 500 train charts), so a low score says little about the mention.
KEEP_PREFIXES = ("V", "W", "X", "Y")

# Features of the semantic index's candidates (origin "semantic", tools/semantic.py); zero for
# the term index's. Only the semantic model (`Reranker.semantic`) reads them.
SEMANTIC_FEATURES: tuple[str, ...] = (
    "origin_semantic",
    "similarity",
    "sem_rank",
    "sem_gap",
    # The mention is a phrase the term index matched nothing in.
    "phrase",
    # The code's category is among the mention's own term candidates.
    "term_category",
    # The code is a term candidate of another mention of the chart.
    "term_elsewhere",
)

# What `candidate_features` computes, column by column. A model names the ones it uses; a model
# naming anything else is refused at load (its weights would be read against the wrong columns).
STATIC_FEATURES: tuple[str, ...] = (
    "rank",
    "first",
    "score",
    "score_ratio",
    "score_gap",
    *(f"origin_{o}" for o in _ORIGINS),
    "residual_term",
    "billable",
    "depth",
    "category",
    "symptom",
    "unspecified_title",
    "term_cov",
    "mention_cov",
    "title_cov",
    "title_mention_cov",
    "title_sentence_cov",
    "title_sentence_words",
    "title_context_words",
    "title_missing",
    "same_cat_rank",
    "top_category",
    "under_top",
    "above_top",
    "n_candidates",
    "n_term_candidates",
    "mention_words",
    "section",
    *(f"assert_{a}" for a in _ASSERTIONS),
    "repeats",
    "position",
    "chart_mentions",
    "other_mentions_code",
    "other_tops_code",
    "other_tops_category",
    *SEMANTIC_FEATURES,
)
PRIOR_FEATURES: tuple[str, ...] = (
    "prior_code",
    "prior_category",
    "gold_freq_code",
    "prior_pair",
    "pair_seen",
)
FEATURES: tuple[str, ...] = (*STATIC_FEATURES, *PRIOR_FEATURES)


class Tree(BaseModel):
    """One regression tree of a boosted ensemble, as parallel arrays (leaves have feature -1)."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]

    @model_validator(mode="after")
    def _consistent(self) -> Tree:
        n = len(self.feature)
        if not n or any(len(a) != n for a in (self.threshold, self.left, self.right, self.value)):
            raise ValueError("tree arrays differ in length")
        for i, f in enumerate(self.feature):
            if f >= 0 and not (0 < self.left[i] < n and 0 < self.right[i] < n):
                raise ValueError("tree child index out of range")
        return self


class Reranker(BaseModel):
    """The fitted model (`data/reranker.json`): features by name, weights, and the train tables."""

    version: int = 1
    kind: Literal["logistic", "boosted"]
    features: list[str] = Field(min_length=1)
    # Logistic: one weight a feature. Boosted: trees over feature positions, scaled and summed.
    weights: list[float] = Field(default_factory=list)
    bias: float = 0.0
    trees: list[Tree] = Field(default_factory=list)
    learning_rate: float = 1.0
    # Another candidate replaces the term index's first only when it scores this much higher:
    # the model's small preferences are noise more often than knowledge (chosen on train folds).
    switch_margin: float = Field(default=0.0, ge=0.0, le=1.0)
    # A mention whose chosen candidate scores below this keeps no reading.
    nil_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    # A kept mention's other candidate scoring at least this, in a category no reading of the
    # chart has, is listed beside its reading (`other_readings`); None lists none.
    other_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # How often a code (and a category) was gold when it was a candidate on the fitting set
    # ([gold, candidate]), the share over all candidates, and the smoothing strength.
    code_record: dict[str, tuple[int, int]] = Field(default_factory=dict)
    category_record: dict[str, tuple[int, int]] = Field(default_factory=dict)
    gold_charts: dict[str, int] = Field(default_factory=dict)
    # The same record for a mention's words and a code ("lymphadenopathy R59.9"): where the
    # labelled set's coders and the term index's first reading part ways, phrase by phrase.
    pair_record: dict[str, tuple[int, int]] = Field(default_factory=dict)
    base_rate: float = Field(default=0.1, gt=0.0, lt=1.0)
    prior_strength: float = Field(default=5.0, gt=0.0)
    # The model of the semantic index's candidates (its own features, tables and, as its
    # `nil_threshold`, the score a candidate needs to become a reading); None: they never do.
    semantic: Reranker | None = None
    fitted_on: str = ""
    _cols: np.ndarray = PrivateAttr()
    _w: np.ndarray = PrivateAttr()
    charts: int = 0
    mentions: int = 0
    figures: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _matches_features(self) -> Reranker:
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"features this code does not compute: {', '.join(unknown)}")
        if len(set(self.features)) != len(self.features):
            raise ValueError("a feature is named twice")
        if self.kind == "logistic" and len(self.weights) != len(self.features):
            raise ValueError(
                f"{len(self.weights)} weights for {len(self.features)} features: "
                "weights and features are out of step"
            )
        if self.kind == "boosted":
            if not self.trees:
                raise ValueError("a boosted model with no trees")
            width = len(self.features)
            if any(f >= width for t in self.trees for f in t.feature):
                raise ValueError("a tree splits on a feature the model does not name")
        return self

    def model_post_init(self, context: object) -> None:
        # Read once: where each of the model's features sits in `FEATURES`, and the weights.
        # (Unknown names are refused by the validator that runs next.)
        known = [FEATURES.index(f) for f in self.features if f in FEATURES]
        self._cols = np.asarray(known, dtype=int)
        self._w = np.asarray(self.weights, dtype=float)

    # -- priors from the fitting set -----------------------------------------------------------

    def priors(self, code: str, phrase: str) -> tuple[float, ...]:
        key = undot(code)
        return prior_columns(
            self.code_record.get(key, (0, 0)),
            self.category_record.get(key[:3], (0, 0)),
            self.gold_charts.get(key, 0),
            self.pair_record.get(pair_key(phrase, key), (0, 0)),
            self.base_rate,
            self.prior_strength,
        )

    # -- scoring -------------------------------------------------------------------------------

    def margin(self, x: np.ndarray) -> np.ndarray:
        """Log-odds per row of `x`, whose columns are `self.features` in order."""
        if self.kind == "logistic":
            return np.asarray(x @ self._w + self.bias)
        # Splits were learned on float32 values (scikit-learn's trees): compare as they were.
        x = x.astype(np.float32).astype(np.float64)
        out = np.full(x.shape[0], self.bias)
        for tree in self.trees:
            out += self.learning_rate * _tree_values(tree, x)
        return out

    def probabilities(self, full: np.ndarray) -> np.ndarray:
        """P(right) per candidate row of `full` (all `FEATURES`, in that order)."""
        if full.shape[1] != len(FEATURES):
            raise CodeSenseError(
                f"reranker rows have {full.shape[1]} columns, the features are {len(FEATURES)}"
            )
        z = np.clip(self.margin(full[:, self._cols]), -40.0, 40.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _tree_values(tree: Tree, x: np.ndarray) -> np.ndarray:
    feature = np.asarray(tree.feature)
    threshold = np.asarray(tree.threshold)
    left, right, value = np.asarray(tree.left), np.asarray(tree.right), np.asarray(tree.value)
    node = np.zeros(x.shape[0], dtype=int)
    rows = np.arange(x.shape[0])
    while True:
        f = feature[node]
        inner = f >= 0
        if not inner.any():
            return np.asarray(value[node])
        go_left = x[rows, np.where(inner, f, 0)] <= threshold[node]
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)


def prior_logit(hit: int, seen: int, base_rate: float, strength: float) -> float:
    share = (hit + strength * base_rate) / (seen + strength)
    share = min(max(share, 1e-3), 1 - 1e-3)
    return math.log(share / (1 - share))


def prior_columns(
    code: tuple[int, int],
    category: tuple[int, int],
    gold_charts: int,
    pair: tuple[int, int],
    base_rate: float,
    strength: float,
) -> tuple[float, ...]:
    """The prior features (`PRIOR_FEATURES`) from the records of the fitting set."""
    return (
        prior_logit(code[0], code[1], base_rate, strength),
        prior_logit(category[0], category[1], base_rate, strength),
        math.log1p(gold_charts),
        prior_logit(pair[0], pair[1], base_rate, strength),
        math.log1p(pair[1]),
    )


def phrase_key(text: str) -> str:
    """A mention's words as the pair record keys them: its content words, sorted."""
    return " ".join(sorted(_content(text)))


def pair_key(phrase: str, code: str) -> str:
    return f"{phrase}|{undot(code)}"


@lru_cache(maxsize=2)
def load_reranker(path: Path = RERANKER_FILE) -> Reranker | None:
    """The shipped model, or None when there is none (the term index's order stands)."""
    if not path.is_file():
        return None
    try:
        return Reranker.model_validate_json(path.read_bytes())
    except ValueError as err:
        raise CodeSenseError(f"{path.name} is not a valid reranker model: {err}") from None


def reranker_enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "on").lower() not in ("0", "off", "false", "no")


# -- features --------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _content(text: str) -> frozenset[str]:
    return frozenset(w for w in default_normalizer().norms(text) if w not in STOPWORDS)


@lru_cache(maxsize=65536)
def _code_facts(code: str) -> tuple[str, bool, bool]:
    """(description, billable, exists) of a code; unknown codes read as empty."""
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    if not codeset.exists(code):
        return "", False, False
    # Not `get(code)`: most candidates' whole tabular entries are never needed.
    return codeset.title(code), codeset.is_billable(code), True


def _cover(part: frozenset[str], whole: frozenset[str]) -> float:
    return len(part & whole) / len(whole) if whole else 0.0


def is_semantic(c: Candidate) -> bool:
    return c.origin == "semantic"


def candidate_features(mentions: Sequence[Mention], texts: dict[str, str]) -> list[np.ndarray]:
    """For each mention, a (candidates x STATIC_FEATURES) array; `texts` maps doc ids to text.

    The chart-level columns count the term index's candidates only, so a mention's term rows are
    the same with and without the semantic index; semantic candidates (after the term ones in a
    mention's list) are ranked among themselves."""
    terms = [[c for c in m.candidates if not is_semantic(c)] for m in mentions]
    # Every mention but the semantic index's phrases (whose candidates are all semantic).
    termed = [m for m, t in zip(mentions, terms, strict=True) if t or not m.candidates]
    tops = [undot(t[0].code) for t in terms if t]
    top_codes = Counter(tops)
    top_cats = Counter(c[:3] for c in tops)
    in_lists = Counter(c for t in terms for c in {undot(x.code) for x in t})
    repeats = Counter(m.text.lower() for m in termed)
    out: list[np.ndarray] = []
    for m, term_cands in zip(mentions, terms, strict=True):
        cands = m.candidates
        if not cands:
            out.append(np.zeros((0, len(STATIC_FEATURES))))
            continue
        sem_cands = [c for c in cands if is_semantic(c)]
        text = texts.get(m.doc_id, "")
        words = _content(m.text)
        sentence = (_content(text[m.sentence_start : m.sentence_end]) if text else words) | words
        best_term = max((c.score for c in term_cands), default=0.0) or 1.0
        best_sem = max((c.score for c in sem_cands), default=0.0) or 1.0
        own_top = undot(term_cands[0].code) if term_cands else ""
        term_cats = {undot(c.code)[:3] for c in term_cands}
        # The mention's own columns, the same on each of its rows.
        of_mention = {
            "n_candidates": float(len(term_cands)),
            "n_term_candidates": float(sum(1 for c in term_cands if c.origin != "hierarchy")),
            "mention_words": float(min(len(words), 8)),
            "section": section_weight(m.section),
            **_ASSERTION_COLUMNS[m.assertion],
            "repeats": math.log1p(max(repeats[m.text.lower()] - 1, 0)),
            "position": m.start / len(text) if text else 0.0,
            "chart_mentions": math.log1p(len(termed)),
        }
        cat_seen: Counter[str] = Counter()
        ranks = {False: 0, True: 0}
        rows: list[list[float]] = []
        for c in cands:
            sem = is_semantic(c)
            r = ranks[sem]
            ranks[sem] += 1
            best = best_sem if sem else best_term
            key = undot(c.code)
            description, billable, _ = _code_facts(c.code)
            term = _content(c.term)
            title = _content(description)
            top_here = int(key == own_top)
            values = {
                "rank": float(min(r, 20)),
                "first": float(r == 0),
                "score": c.score,
                "score_ratio": c.score / best,
                "score_gap": best - c.score,
                **_ORIGIN_COLUMNS[c.origin],
                "residual_term": float(c.term.lower().startswith(("other", "unspecified"))),
                "billable": float(billable),
                "depth": float(len(key)),
                "category": float(len(key) == 3),
                "symptom": float(key.startswith("R")),
                "unspecified_title": float("unspecified" in description.lower()),
                "term_cov": _cover(words, term),
                "mention_cov": _cover(term, words),
                "title_cov": _cover(words, title),
                "title_mention_cov": _cover(title, words),
                "title_sentence_cov": _cover(sentence, title),
                "title_sentence_words": float(min(len(title & sentence), 8)),
                # Words of the title the sentence has beside the mention ("left", "chest").
                "title_context_words": float(min(len((title & sentence) - words), 8)),
                "title_missing": float(min(len(title - sentence), 8)),
                "same_cat_rank": float(min(cat_seen[key[:3]], 10)),
                # Where it sits against the term index's reading: same category, below, above.
                "top_category": float(bool(own_top) and key[:3] == own_top[:3]),
                "under_top": float(bool(own_top) and key != own_top and key.startswith(own_top)),
                "above_top": float(bool(own_top) and key != own_top and own_top.startswith(key)),
                **of_mention,
                "other_mentions_code": math.log1p(max(in_lists[key] - (not sem), 0)),
                "other_tops_code": math.log1p(top_codes[key] - top_here),
                "other_tops_category": math.log1p(top_cats[key[:3]] - top_here),
                "origin_semantic": float(sem),
                "similarity": c.score if sem else 0.0,
                "sem_rank": float(min(r, 20)) if sem else 0.0,
                "sem_gap": best - c.score if sem else 0.0,
                "phrase": float(sem and not term_cands),
                "term_category": float(sem and key[:3] in term_cats),
                "term_elsewhere": math.log1p(in_lists[key]) if sem else 0.0,
            }
            if not sem:
                cat_seen[key[:3]] += 1
            rows.append([values[f] for f in STATIC_FEATURES])
        # One conversion a mention: filling a row of an array from a list cost as much again.
        out.append(np.array(rows, dtype=float))
    return out


# The one-hot columns of each origin and assertion, built once ("origin_semantic" is its own).
_ORIGIN_COLUMNS: defaultdict[str, dict[str, float]] = defaultdict(
    lambda: {f"origin_{o}": 0.0 for o in _ORIGINS},
    {origin: {f"origin_{o}": float(origin == o) for o in _ORIGINS} for origin in _ORIGINS},
)
_ASSERTION_COLUMNS: defaultdict[str, dict[str, float]] = defaultdict(
    lambda: {f"assert_{a}": 0.0 for a in _ASSERTIONS},
    {a: {f"assert_{b}": float(a == b) for b in _ASSERTIONS} for a in _ASSERTIONS},
)


def with_priors(
    rows: np.ndarray, codes: Sequence[str], phrases: Sequence[str], model: Reranker
) -> np.ndarray:
    """`rows` (STATIC_FEATURES) with the prior columns from the model's tables; `phrases` are
    the `phrase_key`s of each row's mention."""
    priors = [model.priors(c, p) for c, p in zip(codes, phrases, strict=True)]
    return np.hstack([rows, np.asarray(priors, dtype=float).reshape(len(codes), -1)])


# -- the hook ----------------------------------------------------------------------------------------


class Reading(BaseModel):
    """A mention's candidates in the model's order, and whether the best is likely enough."""

    order: list[int]
    probability: float
    keep: bool
    # Each candidate's score, in the mention's own (term index) order.
    scores: list[float] = Field(default_factory=list)
    # The semantic model's score of each semantic candidate (those after the term ones).
    semantic_scores: list[float] = Field(default_factory=list)


def term_count(m: Mention) -> int:
    """How many of the mention's candidates come from the term index (they come first)."""
    return sum(1 for c in m.candidates if not is_semantic(c))


def readings(mentions: Sequence[Mention], texts: dict[str, str], model: Reranker) -> list[Reading]:
    out = []
    for m, rows in zip(mentions, candidate_features(mentions, texts), strict=True):
        n = term_count(m)
        phrase = [phrase_key(m.text)]
        sem_scores: list[float] = []
        if model.semantic is not None and n < len(m.candidates):
            sem_codes = [c.code for c in m.candidates[n:]]
            full = with_priors(rows[n:], sem_codes, phrase * len(sem_codes), model.semantic)
            sem_scores = [float(v) for v in model.semantic.probabilities(full)]
        if not n:
            out.append(Reading(order=[], probability=0.0, keep=True, semantic_scores=sem_scores))
            continue
        codes = [c.code for c in m.candidates[:n]]
        p = model.probabilities(with_priors(rows[:n], codes, phrase * n, model))
        keep_any = m.assertion in KEEP_ASSERTIONS or undot(codes[0]).startswith(KEEP_PREFIXES)
        reading = choose(p, model.switch_margin, model.nil_threshold, codes, keep_any)
        out.append(
            reading.model_copy(
                update={"scores": [float(v) for v in p], "semantic_scores": sem_scores}
            )
        )
    return out


def other_readings(
    mentions: Sequence[tuple[Sequence[str], Sequence[float], int | None]], threshold: float
) -> list[list[int]]:
    """For each mention of a chart (its candidate codes, their scores, the position of its
    reading, or None for a mention left out for its reading's low score), the candidates listed
    beside its reading, best first: those scoring at least `threshold` in a category none of the
    chart's readings has, each code once in the chart. A left-out mention lists at most one:
    it becomes that mention's only code.

    A term match often names two things the coders both coded ("renal colic" N23 beside the
    stone N20.0 its words also match); a sibling of a reading is the reading's rival, never a
    second reading. A mention whose first reading is unlikely may still name something else
    likely ("lesions" read as L98.9, unlikely, where its M89.9 "bone lesion" candidate is
    likely). These are the mention's codes for a reader of the chart ("all mentions"); the
    reasoner still decides from the readings alone, so nothing listed here is billed. A
    neoplasm's other site in the reading's behaviour column (rules/lexicon.yaml
    `neoplasm_columns`) is a rival too: "adenoma of the rectum" is D12.8, not also D36.7."""
    read = {undot(codes[first])[:3] for codes, _, first in mentions if codes and first is not None}
    seen: set[str] = set()
    out: list[list[int]] = []
    for codes, p, first in mentions:
        extra: list[int] = []
        for i in sorted(range(len(codes)), key=lambda i: (-round(float(p[i]), 9), i)):
            key = undot(codes[i])
            if i == first or float(p[i]) < threshold or key[:3] in read or key in seen:
                continue
            if first is not None and _same_neoplasm_column(codes[first], codes[i]):
                continue
            seen.add(key)
            extra.append(i)
            if first is None:
                break
        out.append(extra)
    return out


@lru_cache(maxsize=1)
def _neoplasm_columns() -> tuple[CodeMatcher, ...]:
    return tuple(CodeMatcher(column) for column in load_lexicon().neoplasm_columns)


def _same_neoplasm_column(reading: str, other: str) -> bool:
    """Whether two codes sit in one behaviour column of the Neoplasm Table (rival sites of one
    neoplasm: "benign neoplasm of rectum" D12.8 and "of other specified sites" D36.7)."""
    return any(c.matches(reading) and c.matches(other) for c in _neoplasm_columns())


def choose(
    p: np.ndarray, switch_margin: float, nil_threshold: float, codes: Sequence[str], keep_any: bool
) -> Reading:
    """The candidates' order from their scores `p` (term index order in ties). The term index's
    first reading stays first unless a code beneath it (more specific: "R11" -> "R11.10")
    beats it by more than `switch_margin`: the reranker refines a reading, it never replaces it
    with a vaguer or a different one (the Index decides specificity; CodiEsp's annotators often
    wrote the unspecified code where the words support more). `keep_any` keeps the mention
    whatever its score (history and family mentions feed history codes)."""
    order = sorted(range(len(p)), key=lambda i: (-round(float(p[i]), 9), i))
    top = undot(codes[0])
    finer = [i for i in order if i != 0 and undot(codes[i]).startswith(top)]
    first = 0
    if finer and float(p[finer[0]]) - float(p[0]) > switch_margin:
        first = finer[0]
    order = [first, *(i for i in order if i != first)]
    best = float(p[first])
    return Reading(order=order, probability=best, keep=keep_any or best >= nil_threshold)


def semantic_readings(
    mentions: Sequence[tuple[Sequence[str], Sequence[float], Sequence[str]]], threshold: float
) -> list[int | None]:
    """For each mention of a chart (its semantic candidates' codes, their scores, the codes it
    already reads), the semantic candidate that becomes one more of its readings, or None: at
    most one a mention, best first across the chart, scoring at least `threshold`, in a
    category no reading of the chart has, each code once."""
    read = {undot(c)[:3] for _, _, codes in mentions for c in codes}
    ranked = sorted(
        (
            (-round(float(p), 9), n, i)
            for n, (_, scores, _) in enumerate(mentions)
            for i, p in enumerate(scores)
            if float(p) >= threshold
        ),
    )
    out: list[int | None] = [None] * len(mentions)
    for _, n, i in ranked:
        key = undot(mentions[n][0][i])
        if out[n] is not None or key[:3] in read:
            continue
        read.add(key[:3])
        out[n] = i
    return out


def rerank_mentions(
    mentions: list[Mention], chart: Chart | None, model: Reranker | None = None
) -> list[Mention]:
    """The mentions with each one's candidates in the model's order and its reading the best
    (then its `other_readings`, when the model lists any); mentions whose best candidate falls
    below the model's threshold are left out. Semantic candidates (tools/semantic.py) follow the
    term ones; with a semantic model, one of them may become one more reading of its mention,
    or the reading of a phrase that has no term candidates (phrases without one are left out).
    Unchanged when no model is shipped or `CODESENSE_RERANKER=off`."""
    model = model if model is not None else (load_reranker() if reranker_enabled() else None)
    if model is None or not mentions:
        return mentions
    texts = {d.doc_id: d.text for d in chart.documents} if chart is not None else {}
    kept: list[tuple[Mention, Reading]] = []
    # Mentions left out for their reading's low score that may still list another reading.
    left_out: list[tuple[Mention, Reading]] = []
    position: dict[int, int] = {}  # id(mention) -> its place in the chart's order
    for n, (m, r) in enumerate(zip(mentions, readings(mentions, texts, model), strict=True)):
        position[id(m)] = n
        if not m.candidates or (r.keep and (term_count(m) or model.semantic is not None)):
            kept.append((m, r))
        elif not r.keep and r.order and model.other_threshold is not None:
            left_out.append((m, r))
    others: list[list[int]] = [[] for _ in kept]
    lost: list[list[int]] = [[] for _ in left_out]
    if model.other_threshold is not None:
        listed = other_readings(
            [
                *(
                    (
                        [c.code for c in m.candidates[: term_count(m)]],
                        r.scores,
                        r.order[0] if r.order else 0,
                    )
                    for m, r in kept
                ),
                *(
                    ([c.code for c in m.candidates[: term_count(m)]], r.scores, None)
                    for m, r in left_out
                ),
            ],
            model.other_threshold,
        )
        others, lost = listed[: len(kept)], listed[len(kept) :]
    read: list[list[str]] = [
        [m.candidates[r.order[0]].code, *(m.candidates[i].code for i in extra)] if r.order else []
        for (m, r), extra in zip(kept, others, strict=True)
    ]
    extra_sem: list[int | None] = [None] * len(kept)
    if model.semantic is not None:
        extra_sem = semantic_readings(
            [
                ([c.code for c in m.candidates[term_count(m) :]], r.semantic_scores, codes)
                for (m, r), codes in zip(kept, read, strict=True)
            ],
            model.semantic.nil_threshold,
        )
    out: list[tuple[int, Mention]] = []
    for (m, reading), codes, sem in zip(kept, read, extra_sem, strict=True):
        if not m.candidates:
            out.append((position[id(m)], m))
            continue
        n = term_count(m)
        semantic = m.candidates[n:]
        if reading.semantic_scores:
            by_score = sorted(
                range(len(semantic)), key=lambda i: (-round(reading.semantic_scores[i], 9), i)
            )
            semantic = [semantic[i] for i in by_score]
        if sem is not None:
            chosen = m.candidates[n + sem]
            semantic = [chosen, *(c for c in semantic if c is not chosen)]
            codes = [*codes, chosen.code]
        if not codes:  # a phrase none of whose semantic candidates became a reading
            continue
        ranked: list[Candidate] = [m.candidates[i] for i in reading.order]
        update = {"candidates": [*ranked, *semantic], "codes": codes}
        out.append((position[id(m)], m.model_copy(update=update)))
    # A left-out mention with another likely reading stays, that reading its only code and no
    # candidates: the reasoner codes nothing from it (its first reading was unlikely), a reader
    # of the chart sees what it names.
    for (m, _), extra in zip(left_out, lost, strict=True):
        if extra:
            update = {"candidates": [], "codes": [m.candidates[extra[0]].code]}
            out.append((position[id(m)], m.model_copy(update=update)))
    return [m for _, m in sorted(out, key=lambda nm: nm[0])]
