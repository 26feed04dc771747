"""Fit the reranker on a candidate dump (`evals/rerank_data.py`) and write `data/reranker.json`.

Charts are split in folds; each fold's candidates are scored by a model fitted on the others,
with the code and category records (how often a code was right when it was a candidate) taken
from the other folds only, so no row's own label reaches its features. The out-of-fold scores
choose the threshold under which a mention keeps no reading: the one that gives the best
micro-F1 of the charts' code sets (every mention's reading, as "all mentions" scoring reads
them). The final model is fitted on every chart; a second dump (dev) is scored once at the end.

Boosted trees come from scikit-learn (a fitting dependency only) and are exported as arrays;
`agent/rerank.py` scores them with numpy.

    codesense rerank dump codiesp-train --out .codesense/rerank/train.npz
    codesense rerank dump codiesp-dev --out .codesense/rerank/dev.npz
    codesense rerank fit .codesense/rerank/train.npz --check .codesense/rerank/dev.npz
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Literal

import numpy as np

from agent.rerank import (
    FEATURES,
    KEEP_ASSERTIONS,
    KEEP_PREFIXES,
    PRIOR_FEATURES,
    RERANKER_FILE,
    STATIC_FEATURES,
    Reranker,
    Tree,
    choose,
    other_readings,
    pair_key,
    prior_columns,
)
from core.codes import undot
from core.errors import CodeSenseError
from evals.rerank_data import CandidateSet, load

FOLDS = 5
SEED = 20261130
PRIOR_STRENGTH = 5.0
# Codes seen as candidates fewer times keep no record of their own in the shipped file.
MIN_RECORD = 2
Kind = Literal["logistic", "boosted"]


class Tables:
    """Code and category records, and charts where a code was right, from labelled rows."""

    def __init__(self, data: CandidateSet, rows: np.ndarray):
        self.code: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.pair: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        charts: dict[str, set[int]] = defaultdict(set)
        for i in rows:
            key = undot(str(data.codes[i]))
            hit = int(data.labels[i])
            pair = self.pair[pair_key(str(data.phrases[i]), key)]
            pair[0] += hit
            pair[1] += 1
            self.code[key][0] += hit
            self.code[key][1] += 1
            self.category[key[:3]][0] += hit
            self.category[key[:3]][1] += 1
            if hit:
                charts[key].add(int(data.chart[i]))
        self.gold_charts = {k: len(v) for k, v in charts.items()}
        self.base_rate = float(np.mean(data.labels[rows])) if len(rows) else 0.1

    def columns(self, data: CandidateSet, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), len(PRIOR_FEATURES)))
        for n, i in enumerate(rows):
            key = undot(str(data.codes[i]))
            code = self.code.get(key, [0, 0])
            cat = self.category.get(key[:3], [0, 0])
            pair = self.pair.get(pair_key(str(data.phrases[i]), key), [0, 0])
            out[n] = prior_columns(
                (code[0], code[1]),
                (cat[0], cat[1]),
                self.gold_charts.get(key, 0),
                (pair[0], pair[1]),
                self.base_rate,
                PRIOR_STRENGTH,
            )
        return out


def full_rows(data: CandidateSet, rows: np.ndarray, tables: Tables) -> np.ndarray:
    return np.hstack([data.x[rows], tables.columns(data, rows)])


# -- models ----------------------------------------------------------------------------------------


def fit_model(x: np.ndarray, y: np.ndarray, kind: Kind, features: list[str]) -> Reranker:
    """A model over `x` (columns `features`), with empty train tables (filled by the caller)."""
    if kind == "logistic":
        return _fit_logistic(x, y, features)
    return _fit_boosted(x, y, features)


def _fit_logistic(x: np.ndarray, y: np.ndarray, features: list[str]) -> Reranker:
    from evals.calibrate import fit

    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    w, b = fit((x - mean) / std, y.astype(float), l2=1.0)
    weights = w / std
    bias = b - float(np.dot(weights, mean))
    return Reranker(
        kind="logistic",
        features=features,
        weights=[round(float(v), 6) for v in weights],
        bias=round(bias, 6),
    )


def _fit_boosted(x: np.ndarray, y: np.ndarray, features: list[str]) -> Reranker:
    from sklearn.ensemble import GradientBoostingClassifier

    gb = GradientBoostingClassifier(
        n_estimators=150,
        learning_rate=0.1,
        max_depth=4,
        subsample=0.7,
        min_samples_leaf=20,
        random_state=SEED,
    )
    gb.fit(x.astype(np.float32), y.astype(int))
    trees = []
    for est in gb.estimators_[:, 0]:
        t = est.tree_
        trees.append(
            Tree(
                feature=[int(f) if f >= 0 else -1 for f in t.feature],
                threshold=[float(v) for v in t.threshold],
                left=[int(v) for v in t.children_left],
                right=[int(v) for v in t.children_right],
                value=[float(v) for v in t.value[:, 0, 0]],
            )
        )
    # The ensemble starts from the log-odds of the training rate.
    rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    model = Reranker(
        kind="boosted",
        features=features,
        trees=trees,
        learning_rate=float(gb.learning_rate),
        bias=float(np.log(rate / (1 - rate))),
    )
    expected = gb.decision_function(x.astype(np.float32))
    got = model.margin(x.astype(np.float32).astype(np.float64))
    if not np.allclose(expected, got, atol=1e-6):
        raise CodeSenseError("exported trees do not reproduce scikit-learn's scores")
    return model


# -- choosing per mention --------------------------------------------------------------------------


def best_per_mention(
    data: CandidateSet, p: np.ndarray, switch_margin: float = 0.0
) -> dict[int, tuple[int, float]]:
    """Each mention's chosen row and its score, as `agent.rerank.choose` chooses."""
    rows: dict[int, list[int]] = {}
    for i in range(len(p)):
        rows.setdefault(int(data.mention[i]), []).append(i)
    kept = data.x[:, [STATIC_FEATURES.index(f"assert_{a}") for a in KEEP_ASSERTIONS]].any(axis=1)
    best: dict[int, tuple[int, float]] = {}
    for m, idx in rows.items():
        codes = [str(data.codes[i]) for i in idx]
        reading = choose(p[idx], switch_margin, 0.0, codes, False)
        i = idx[reading.order[0]]
        # A mention that is always kept scores 1 against the threshold.
        always = kept[idx[0]] or undot(codes[0]).startswith(KEEP_PREFIXES)
        best[m] = (i, 1.0 if always else float(p[i]))
    return best


def chart_f1(
    data: CandidateSet,
    best: dict[int, tuple[int, float]],
    threshold: float,
    p: np.ndarray | None = None,
    other: float | None = None,
) -> tuple[float, float, float]:
    """Micro P/R/F1 of the charts' code sets: every kept mention's reading (valid gold), and
    with scores `p` and an `other` threshold, the other readings listed beside them."""
    predicted: list[set[str]] = [set() for _ in data.gold]
    kept: dict[int, list[tuple[list[int], int | None]]] = {}
    rows: dict[int, list[int]] = {}
    for i in range(len(data.labels)):
        rows.setdefault(int(data.mention[i]), []).append(i)
    left_out: dict[int, list[tuple[list[int], int | None]]] = {}
    for m, (i, score) in sorted(best.items()):
        if score >= threshold:
            predicted[int(data.chart[i])].add(str(data.keys[i]))
            kept.setdefault(int(data.chart[i]), []).append((rows[m], rows[m].index(i)))
        else:
            left_out.setdefault(int(data.chart[i]), []).append((rows[m], None))
    if p is not None and other is not None:
        for chart in sorted(set(kept) | set(left_out)):
            mentions: list[tuple[list[int], int | None]] = [
                *kept.get(chart, []),
                *left_out.get(chart, []),
            ]
            lists = [
                ([str(data.codes[i]) for i in idx], p[idx].tolist(), first)
                for idx, first in mentions
            ]
            for (idx, _), extra in zip(mentions, other_readings(lists, other), strict=True):
                predicted[chart].update(str(data.keys[idx[j]]) for j in extra)
    tp = sum(len(p & g) for p, g in zip(predicted, data.gold, strict=True))
    fp = sum(len(p - g) for p, g in zip(predicted, data.gold, strict=True))
    fn = sum(len(g - p) for p, g in zip(predicted, data.gold, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def as_is(data: CandidateSet) -> dict[int, tuple[int, float]]:
    """The term index's choice: every mention's first candidate, always kept."""
    first: dict[int, tuple[int, float]] = {}
    for i in range(len(data.labels)):
        first.setdefault(int(data.mention[i]), (i, 1.0))
    return first


MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 1.0)
OTHERS = (None, *(round(float(t), 2) for t in np.arange(0.1, 0.95, 0.05)))
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.0, 0.6, 0.01))


def best_choice(data: CandidateSet, p: np.ndarray) -> tuple[float, float, float]:
    """The switch margin and threshold with the best chart micro-F1 (smaller ones on ties),
    and that F1."""
    scored = []
    for margin in MARGINS:
        best = best_per_mention(data, p, margin)
        for t in THRESHOLDS:
            scored.append((round(chart_f1(data, best, t)[2], 6), -margin, -t))
    f1, neg_margin, neg_t = max(scored)
    return -neg_margin, -neg_t, f1


# -- the fit ---------------------------------------------------------------------------------------


def folds(n_charts: int, k: int = FOLDS) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    return rng.permutation(n_charts) % k


def out_of_fold(data: CandidateSet, kind: Kind, features: list[str]) -> np.ndarray:
    cols = [FEATURES.index(f) for f in features]
    assign = folds(len(data.gold))[data.chart]
    p = np.zeros(len(data.labels))
    for k in range(FOLDS):
        train = np.flatnonzero(assign != k)
        test = np.flatnonzero(assign == k)
        tables = Tables(data, train)
        model = fit_model(
            full_rows(data, train, tables)[:, cols], data.labels[train], kind, features
        )
        z = model.margin(full_rows(data, test, tables)[:, cols].astype(np.float32).astype(float))
        p[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return p


def fit_reranker(
    train_path: Path,
    check_path: Path | None = None,
    kind: Kind = "boosted",
    features: list[str] | None = None,
    name: str = "codiesp-train",
) -> tuple[Reranker, list[str]]:
    data = load(train_path)
    if not len(data.labels):
        raise CodeSenseError(f"{train_path}: no candidates to fit on")
    features = list(features or FEATURES)
    cols = [FEATURES.index(f) for f in features]
    lines: list[str] = []
    p, r, f = chart_f1(data, as_is(data), 0.0)
    lines.append(f"train as ranked: P {p:.3f} R {r:.3f} F1 {f:.3f}")
    as_ranked = f
    oof = out_of_fold(data, kind, features)
    margin, threshold, _ = best_choice(data, oof)
    best = best_per_mention(data, oof, margin)
    p, r, f = chart_f1(data, best, threshold)
    lines.append(
        f"train {FOLDS}-fold, reranked (switch margin {margin}, threshold {threshold}): "
        f"P {p:.3f} R {r:.3f} F1 {f:.3f}"
    )
    # Other readings beside the reading: the threshold chosen on the same out-of-fold scores.
    # (Ties go to listing fewer: a higher threshold, or none.)
    other = max(
        OTHERS,
        key=lambda o: (
            round(chart_f1(data, best, threshold, oof, o)[2], 6),
            2.0 if o is None else o,
        ),
    )
    if other is not None:
        p, r, f = chart_f1(data, best, threshold, oof, other)
        lines.append(
            f"train {FOLDS}-fold, with other readings at {other}: P {p:.3f} R {r:.3f} F1 {f:.3f}"
        )
    everything = np.arange(len(data.labels))
    tables = Tables(data, everything)
    model = fit_model(full_rows(data, everything, tables)[:, cols], data.labels, kind, features)
    model = _shipped_tables(model, tables, name, len(data.gold)).model_copy(
        update={
            "nil_threshold": threshold,
            "switch_margin": margin,
            "other_threshold": other,
            "mentions": len(set(data.mention.tolist())),
            "figures": {"train_cv_f1": round(f, 4), "train_as_ranked_f1": round(as_ranked, 4)},
        }
    )
    model = Reranker.model_validate(model.model_dump())  # the shipped tables, checked
    if check_path is not None:
        check = load(check_path)
        cp, cr, cf = chart_f1(check, as_is(check), 0.0)
        lines.append(f"check as ranked: P {cp:.3f} R {cr:.3f} F1 {cf:.3f}")
        probs = score_set(model, check)
        cbest = best_per_mention(check, probs, margin)
        cp, cr, cf = chart_f1(check, cbest, threshold)
        lines.append(f"check reranked: P {cp:.3f} R {cr:.3f} F1 {cf:.3f}")
        if other is not None:
            cp, cr, cf = chart_f1(check, cbest, threshold, probs, other)
            lines.append(f"check with other readings: P {cp:.3f} R {cr:.3f} F1 {cf:.3f}")
        model.figures["check_f1"] = round(cf, 4)
    return model, lines


def score_set(model: Reranker, data: CandidateSet) -> np.ndarray:
    """Scores of every row of `data` the way the coding path computes them (shipped tables)."""
    from agent.rerank import with_priors

    full = with_priors(data.x, [str(c) for c in data.codes], [str(p) for p in data.phrases], model)
    return model.probabilities(full)


def write_reranker(model: Reranker, path: Path = RERANKER_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.model_dump_json() + "\n", encoding="utf-8")


# -- the semantic model ----------------------------------------------------------------------------

# What the semantic model reads: the semantic index's own columns, how the code's title meets the
# mention and its sentence, what the code is, the mention's place and assertion, the chart's term
# readings around it, and its record on the fitting set.
SEMANTIC_MODEL_FEATURES: tuple[str, ...] = (
    "similarity",
    "sem_rank",
    "sem_gap",
    "phrase",
    "term_category",
    "term_elsewhere",
    "billable",
    "depth",
    "category",
    "symptom",
    "unspecified_title",
    "title_cov",
    "title_mention_cov",
    "title_sentence_cov",
    "title_sentence_words",
    "title_context_words",
    "title_missing",
    "mention_words",
    "section",
    *(f"assert_{a}" for a in ("negated", "possible", "historical", "family", "hypothetical")),
    "position",
    "chart_mentions",
    "other_tops_code",
    "other_tops_category",
    *PRIOR_FEATURES,
)
# 1.0 adds (all but) nothing: the fit may find that no semantic reading helps.
SEMANTIC_THRESHOLDS = (*(round(float(t), 2) for t in np.arange(0.2, 1.0, 0.02)), 1.0)


def subset(data: CandidateSet, rows: np.ndarray) -> CandidateSet:
    """The rows `rows` of a dump (chart and mention numbers kept)."""
    return CandidateSet(
        x=data.x[rows],
        codes=data.codes[rows],
        keys=data.keys[rows],
        labels=data.labels[rows],
        chart=data.chart[rows],
        mention=data.mention[rows],
        chart_ids=data.chart_ids,
        phrases=data.phrases[rows],
        gold=data.gold,
        features=data.features,
    )


def split_semantic(data: CandidateSet) -> tuple[CandidateSet, CandidateSet]:
    """(the term index's rows, the semantic index's rows) of a dump."""
    sem = data.x[:, STATIC_FEATURES.index("origin_semantic")] > 0
    return subset(data, np.flatnonzero(~sem)), subset(data, np.flatnonzero(sem))


def term_readings(
    term: CandidateSet, p: np.ndarray, model: Reranker
) -> dict[int, dict[int, list[str]]]:
    """Per chart, each kept mention's codes (its reading, then its other readings) as
    `agent.rerank.rerank_mentions` reads them with `model`'s thresholds and scores `p`."""
    best = best_per_mention(term, p, model.switch_margin)
    rows: dict[int, list[int]] = {}
    for i in range(len(term.labels)):
        rows.setdefault(int(term.mention[i]), []).append(i)
    kept: dict[int, list[tuple[int, list[int], int | None]]] = {}
    left_out: dict[int, list[tuple[int, list[int], int | None]]] = {}
    for m, (i, score) in sorted(best.items()):
        if score >= model.nil_threshold:
            kept.setdefault(int(term.chart[i]), []).append((m, rows[m], rows[m].index(i)))
        else:
            left_out.setdefault(int(term.chart[i]), []).append((m, rows[m], None))
    out: dict[int, dict[int, list[str]]] = {}
    for chart in sorted(set(kept) | set(left_out)):
        mentions = [*kept.get(chart, []), *left_out.get(chart, [])]
        lists = [([str(term.codes[i]) for i in idx], p[idx].tolist(), f) for _, idx, f in mentions]
        extras = (
            other_readings(lists, model.other_threshold)
            if model.other_threshold is not None
            else [[] for _ in mentions]
        )
        read = {
            m: [
                *([str(term.codes[idx[f]])] if f is not None else []),
                *(str(term.codes[idx[j]]) for j in extra),
            ]
            for (m, idx, f), extra in zip(mentions, extras, strict=True)
        }
        out[chart] = {m: codes for m, codes in read.items() if codes}
    return out


def with_semantic(
    term: CandidateSet,
    read: dict[int, dict[int, list[str]]],
    sem: CandidateSet,
    q: np.ndarray | None,
    threshold: float,
) -> tuple[float, float, float]:
    """Micro P/R/F1 of the term readings `read` plus the semantic readings of `sem` (scores
    `q`) at `threshold`, chosen as `agent.rerank.semantic_readings` chooses them."""
    from agent.rerank import semantic_readings
    from evals.rerank_data import billable_key

    predicted: list[set[str]] = [set() for _ in term.gold]
    for chart, readings in read.items():
        for codes in readings.values():
            predicted[chart].update(billable_key(c) for c in codes)
    if q is not None:
        phrase = sem.x[:, STATIC_FEATURES.index("phrase")] > 0
        by_chart: dict[int, dict[int, list[int]]] = {}
        for i in range(len(sem.labels)):
            chart, m = int(sem.chart[i]), int(sem.mention[i])
            # Rows of left-out term mentions never reach the semantic model.
            if phrase[i] or m in read.get(chart, {}):
                by_chart.setdefault(chart, {}).setdefault(m, []).append(i)
        for chart, mentions in by_chart.items():
            # Every kept mention's readings count, whether it has semantic candidates or not.
            order = sorted(set(mentions) | set(read.get(chart, {})))
            lists = [
                (
                    [str(sem.codes[i]) for i in mentions.get(m, [])],
                    q[mentions.get(m, [])].tolist(),
                    read.get(chart, {}).get(m, []),
                )
                for m in order
            ]
            for m, pick in zip(order, semantic_readings(lists, threshold), strict=True):
                if pick is not None:
                    predicted[chart].add(str(sem.keys[mentions[m][pick]]))
    tp = sum(len(p & g) for p, g in zip(predicted, term.gold, strict=True))
    fp = sum(len(p - g) for p, g in zip(predicted, term.gold, strict=True))
    fn = sum(len(g - p) for p, g in zip(predicted, term.gold, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def _shipped_tables(model: Reranker, tables: Tables, name: str, n_charts: int) -> Reranker:
    return model.model_copy(
        update={
            "code_record": {
                k: (v[0], v[1]) for k, v in sorted(tables.code.items()) if v[1] >= MIN_RECORD
            },
            "category_record": {k: (v[0], v[1]) for k, v in sorted(tables.category.items())},
            "gold_charts": {
                k: v
                for k, v in sorted(tables.gold_charts.items())
                if tables.code.get(k, [0, 0])[1] >= MIN_RECORD
            },
            "pair_record": {
                k: (v[0], v[1]) for k, v in sorted(tables.pair.items()) if v[1] >= MIN_RECORD
            },
            "base_rate": round(tables.base_rate, 6),
            "prior_strength": PRIOR_STRENGTH,
            "fitted_on": name,
            "charts": n_charts,
        }
    )


def fit_semantic(
    train_path: Path,
    check_path: Path | None = None,
    kind: Kind = "logistic",
    base: Reranker | None = None,
    name: str = "codiesp-train",
) -> tuple[Reranker, list[str]]:
    """The shipped reranker (`base`, unchanged) with a semantic model fitted on a dump made with
    `--semantic`: out of fold on the train charts (the term readings out of fold too), its
    threshold the one with the best chart micro-F1 of term plus semantic readings."""
    from agent.rerank import load_reranker

    base = base or load_reranker()
    if base is None:
        raise CodeSenseError("no reranker to add a semantic model to (fit one first)")
    base = base.model_copy(update={"semantic": None})
    data = load(train_path)
    term, sem = split_semantic(data)
    if not len(sem.labels):
        raise CodeSenseError(f"{train_path}: no semantic candidates (dump with --semantic)")
    features = list(SEMANTIC_MODEL_FEATURES)
    cols = [FEATURES.index(f) for f in features]
    lines: list[str] = []
    oof_term = out_of_fold(term, base.kind, list(base.features))
    read = term_readings(term, oof_term, base)
    p, r, f = with_semantic(term, read, sem, None, 1.0)
    lines.append(f"train {FOLDS}-fold, term readings only: P {p:.3f} R {r:.3f} F1 {f:.3f}")
    oof = out_of_fold(sem, kind, features)
    scored = [(round(with_semantic(term, read, sem, oof, t)[2], 6), t) for t in SEMANTIC_THRESHOLDS]
    _, threshold = max(scored, key=lambda ft: (ft[0], ft[1]))
    p, r, f = with_semantic(term, read, sem, oof, threshold)
    lines.append(
        f"train {FOLDS}-fold, with semantic readings at {threshold}: P {p:.3f} R {r:.3f} F1 {f:.3f}"
        f" ({len(sem.labels)} semantic candidates, {int(sem.labels.sum())} right)"
    )
    everything = np.arange(len(sem.labels))
    tables = Tables(sem, everything)
    model = fit_model(full_rows(sem, everything, tables)[:, cols], sem.labels, kind, features)
    model = _shipped_tables(model, tables, name, len(sem.gold))
    model = model.model_copy(
        update={
            "nil_threshold": threshold,
            "mentions": len(set(sem.mention.tolist())),
            "figures": {"train_cv_f1": round(f, 4)},
        }
    )
    shipped = Reranker.model_validate(
        base.model_copy(
            update={"semantic": Reranker.model_validate(model.model_dump())}
        ).model_dump()
    )
    if check_path is not None:
        check = load(check_path)
        cterm, csem = split_semantic(check)
        cread = term_readings(cterm, score_set(shipped, cterm), shipped)
        cp, cr, cf = with_semantic(cterm, cread, csem, None, 1.0)
        lines.append(f"check, term readings only: P {cp:.3f} R {cr:.3f} F1 {cf:.3f}")
        assert shipped.semantic is not None
        q = score_set(shipped.semantic, csem)
        cp, cr, cf = with_semantic(cterm, cread, csem, q, threshold)
        lines.append(f"check with semantic readings: P {cp:.3f} R {cr:.3f} F1 {cf:.3f}")
        shipped.semantic.figures["check_f1"] = round(cf, 4)
    return shipped, lines
