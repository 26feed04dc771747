"""Fit the confidence model: from a draft's features to the probability its code is right.

Reads the suggestions of an eval run on a training set (their features and whether each code is
in the chart's valid gold), fits an L2-regularised logistic regression by Newton's method, checks
it on a second run (the dev set) and writes `data/calibration.json`, which `agent/scoring.py`
loads. The run folders come from `codesense eval`:

    codesense eval codiesp-train --out .codesense/evals/train
    codesense eval codiesp-dev --out .codesense/evals/dev
    codesense calibrate .codesense/evals/train --check .codesense/evals/dev
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from agent.scoring import CALIBRATION_FILE, Calibration, ConfidenceFeatures, prior_logit
from core.errors import CodeSenseError
from evals.metrics import compare_key, expected_calibration_error, reads_gold
from evals.runner import ChartRecord, load_records
from evals.summary import lowest_precise_threshold

# The draft's numbers (the document penalty is applied outside the model: text charts carry
# none), and the code's own record on the fitting run.
DRAFT_FEATURES = [
    f for f in ConfidenceFeatures.__dataclass_fields__ if f not in ("code", "penalty")
]
FEATURES = [*DRAFT_FEATURES, "code_prior"]
L2 = 1.0
PRIOR_STRENGTH = 5.0
# Codes suggested fewer times than this keep no record of their own (the file stays small).
MIN_RECORD = 2


def labelled(records: list[ChartRecord]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Draft features, right/wrong labels and codes of every suggestion in `records`."""
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    rows: list[list[float]] = []
    labels: list[float] = []
    codes: list[str] = []
    for r in records:
        if r.error is not None:
            continue
        gold = {compare_key(c) for c in r.gold if codeset.exists(c)}
        for s in r.suggestions:
            rows.append([s.features.get(f, 0.0) for f in DRAFT_FEATURES])
            labels.append(float(reads_gold(compare_key(s.code), gold)))
            codes.append(s.code)
    return np.asarray(rows, dtype=float), np.asarray(labels, dtype=float), codes


def code_records(codes: list[str], y: np.ndarray) -> dict[str, tuple[int, int]]:
    record: dict[str, list[int]] = {}
    for code, right in zip(codes, y, strict=True):
        entry = record.setdefault(code, [0, 0])
        entry[0] += int(right)
        entry[1] += 1
    return {c: (r, n) for c, (r, n) in record.items()}


def with_prior(
    x: np.ndarray,
    y: np.ndarray | None,
    codes: list[str],
    record: dict[str, tuple[int, int]],
    base_rate: float,
) -> np.ndarray:
    """`x` with the code-prior column; with `y` (the fitting run) each suggestion's own outcome
    is left out of its code's record, so the model cannot learn from the answer itself."""
    column = []
    for i, code in enumerate(codes):
        right, seen = record.get(code, (0, 0))
        if y is not None:
            right, seen = right - int(y[i]), seen - 1
        column.append(prior_logit(right, seen, base_rate, PRIOR_STRENGTH))
    return np.hstack([x, np.asarray(column, dtype=float)[:, None]])


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression weights and bias (Newton-Raphson; the bias is not penalised)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.eye(d + 1) * l2
    penalty[d, d] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -40, 40)))
        grad = design.T @ (p - y) + penalty @ beta
        hess = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return beta[:d], float(beta[d])


def calibrated(model: Calibration, x: np.ndarray) -> list[float]:
    out = []
    for row in x:
        z = model.bias + float(np.dot(model.weights, row))
        out.append(1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0))))
    return out


def fit_calibration(
    train_dir: Path, check_dir: Path | None = None, name: str = "codiesp-train"
) -> tuple[Calibration, list[str]]:
    """Fit on one eval run, check on another; the model and a line per run for the user."""
    train = load_records(train_dir)
    x, y, codes = labelled(train)
    if not len(y):
        raise CodeSenseError(f"no suggestions to fit in {train_dir}")
    record = code_records(codes, y)
    base_rate = float(y.mean())
    x = with_prior(x, y, codes, record, base_rate)
    weights, bias = fit(x, y)
    model = Calibration(
        features=FEATURES,
        weights=[round(float(w), 5) for w in weights],
        bias=round(bias, 5),
        fitted_on=name,
        charts=len(train),
        codes=len(y),
        code_record={c: rn for c, rn in sorted(record.items()) if rn[1] >= MIN_RECORD},
        base_rate=round(base_rate, 5),
        prior_strength=PRIOR_STRENGTH,
    )
    probs = calibrated(model, x)
    model.ece["train"] = expected_calibration_error(probs, [bool(v) for v in y])
    threshold = lowest_precise_threshold(probs, [bool(v) for v in y])
    lines = [
        f"fit: {len(y)} codes, ECE {model.ece['train']:.4f}, 95%-precise threshold {threshold}"
    ]
    if check_dir is not None:
        cx, cy, ccodes = labelled(load_records(check_dir))
        cx = with_prior(cx, None, ccodes, model.code_record, model.base_rate)
        cprobs = calibrated(model, cx)
        model.ece["check"] = expected_calibration_error(cprobs, [bool(v) for v in cy])
        check_threshold = lowest_precise_threshold(cprobs, [bool(v) for v in cy])
        lines.append(
            f"check: {len(cy)} codes, ECE {model.ece['check']:.4f}, "
            f"95%-precise threshold {check_threshold}"
        )
        # The threshold must hold on both runs.
        if threshold is not None and check_threshold is not None:
            threshold = max(threshold, check_threshold)
    model.auto_threshold = threshold
    return model, lines


def write_calibration(model: Calibration, path: Path = CALIBRATION_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.model_dump_json(indent=2) + "\n", encoding="utf-8")
