"""The reranker fit's simulation of "all mentions" scoring: readings, left-out mentions, and the
other readings listed beside them (the same rule the coding path applies, agent/rerank.py)."""

from __future__ import annotations

import numpy as np

from agent.rerank import STATIC_FEATURES
from evals.rerank_data import CandidateSet
from evals.rerank_fit import best_per_mention, chart_f1


def _set() -> CandidateSet:
    # One chart, gold N20.0 and N23: "renal colic from a kidney stone" read as N20.0, with N23
    # below it; a second mention read as R52 whose sibling-free candidate is R10.9.
    codes = ["N20.0", "N23", "N20.1", "R52", "R10.9"]
    return CandidateSet(
        x=np.zeros((len(codes), len(STATIC_FEATURES))),
        codes=np.asarray(codes),
        keys=np.asarray([c.replace(".", "") for c in codes]),
        labels=np.asarray([True, True, False, False, False]),
        chart=np.zeros(len(codes), dtype=np.int32),
        mention=np.asarray([0, 0, 0, 1, 1], dtype=np.int32),
        chart_ids=np.asarray(["c1"]),
        phrases=np.asarray(["colic renal"] * 3 + ["pain"] * 2),
        gold=[{"N200", "N23"}],
        features=STATIC_FEATURES,
    )


def test_other_readings_add_what_the_threshold_lets_through_and_no_sibling():
    data = _set()
    p = np.asarray([0.9, 0.7, 0.8, 0.04, 0.5])
    best = best_per_mention(data, p)
    # Readings alone: N20.0 and R52 -> one of two right, one of two gold.
    assert chart_f1(data, best, 0.0) == (0.5, 0.5, 0.5)
    # R52 scores under the threshold: left out, and its candidates with it.
    assert chart_f1(data, best, 0.06) == (1.0, 0.5, 2 / 3)
    # Others at 0.6: N23 is listed (N20.1 is the reading's sibling, never listed).
    assert chart_f1(data, best, 0.06, p, 0.6) == (1.0, 1.0, 1.0)
    assert chart_f1(data, best, 0.0, p, 0.4)[:2] == (0.5, 1.0)  # R10.9 too


def test_semantic_readings_are_simulated_as_the_coding_path_adds_them():
    from agent.rerank import Reranker
    from evals.rerank_fit import split_semantic, term_readings, with_semantic

    # Mention 0 read N20.0; mention 1 a phrase with semantic candidates only; mention 2 a term
    # mention the term model leaves out (its semantic candidate never reaches the model).
    codes = ["N20.0", "R52", "N13.2", "R63.4", "R63.0", "K21.9"]
    col = {f: i for i, f in enumerate(STATIC_FEATURES)}
    x = np.zeros((len(codes), len(STATIC_FEATURES)))
    x[2:, col["origin_semantic"]] = 1.0
    x[3:5, col["phrase"]] = 1.0
    data = CandidateSet(
        x=x,
        codes=np.asarray(codes),
        keys=np.asarray([c.replace(".", "") for c in codes]),
        labels=np.asarray([True, False, False, True, False, False]),
        chart=np.zeros(len(codes), dtype=np.int32),
        mention=np.asarray([0, 2, 0, 1, 1, 2], dtype=np.int32),
        chart_ids=np.asarray(["c1"]),
        phrases=np.asarray(["stone"] * len(codes)),
        gold=[{"N200", "R634"}],
        features=STATIC_FEATURES,
    )
    term, sem = split_semantic(data)
    assert term.codes.tolist() == ["N20.0", "R52"] and len(sem.codes) == 4
    model = Reranker(kind="logistic", features=["rank"], weights=[0.0], nil_threshold=0.06)
    read = term_readings(term, np.asarray([0.9, 0.01]), model)
    assert read == {0: {0: ["N20.0"]}}
    q = np.asarray([0.8, 0.7, 0.6, 0.99])
    assert with_semantic(term, read, sem, None, 1.0)[:2] == (1.0, 0.5)
    # At 0.65: N13.2 beside N20.0, R63.4 reads the phrase (R63.0 is its rival); K21.9 never.
    assert with_semantic(term, read, sem, q, 0.65)[:2] == (2 / 3, 1.0)
    assert with_semantic(term, read, sem, q, 0.75)[:2] == (0.5, 0.5)
