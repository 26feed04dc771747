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
