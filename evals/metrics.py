"""Set metrics over predicted and gold code sets: micro and macro precision, recall and F1, at full
code and 3-character category; candidate recall@k; calibration error of confidences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from core.codes import undot


class Scores(BaseModel):
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


class Macro(BaseModel):
    precision: float
    recall: float
    f1: float
    labels: int


class ReliabilityBin(BaseModel):
    lo: float
    hi: float
    count: int
    confidence: float
    accuracy: float


def category(code: str) -> str:
    return undot(code)[:3]


def compare_key(code: str) -> str:
    """A code as scoring compares it: undotted, without its 7th character and placeholder X's.

    CodiEsp's gold omits the 7th character of injury and external-cause codes ("T14.90",
    "W19.XXX", "S06.0X0"), which says the encounter (initial, subsequent, sequela), never a fact
    of the case report; "T14.90XA" and "T14.90" are the same reading.
    """
    from tools.codeset import CodeSet

    bare = undot(code)
    codeset = CodeSet.load()
    if len(bare) == 7 and codeset.exists(bare) and codeset.kind(bare) == "extended":
        bare = bare[:6]
    return bare.rstrip("X") if len(bare) > 3 else bare


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def micro(pairs: Iterable[tuple[set[str], set[str]]]) -> Scores:
    """`pairs` of (predicted, gold) code sets, one per chart, already normalised."""
    tp = fp = fn = 0
    for predicted, gold in pairs:
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    p, r, f = _prf(tp, fp, fn)
    return Scores(precision=round(p, 4), recall=round(r, 4), f1=round(f, 4), tp=tp, fp=fp, fn=fn)


def macro(pairs: Iterable[tuple[set[str], set[str]]]) -> Macro:
    """Per-code precision, recall and F1 averaged over every code predicted or in gold.

    A code never predicted has precision 0, a code never in gold recall 0 (as scikit-learn's
    `average="macro"` with `zero_division=0`): rare codes weigh as much as common ones.
    """
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for predicted, gold in pairs:
        tp.update(predicted & gold)
        fp.update(predicted - gold)
        fn.update(gold - predicted)
    labels = set(tp) | set(fp) | set(fn)
    if not labels:
        return Macro(precision=0.0, recall=0.0, f1=0.0, labels=0)
    ps, rs, fs = zip(*(_prf(tp[c], fp[c], fn[c]) for c in labels), strict=True)
    n = len(labels)
    return Macro(
        precision=round(sum(ps) / n, 4),
        recall=round(sum(rs) / n, 4),
        f1=round(sum(fs) / n, 4),
        labels=n,
    )


def to_categories(codes: set[str]) -> set[str]:
    return {category(c) for c in codes}


def recall_at(candidates: Sequence[set[str]], gold: Sequence[set[str]]) -> float:
    """Share of gold codes found among the candidates of their chart."""
    found = sum(len(c & g) for c, g in zip(candidates, gold, strict=True))
    total = sum(len(g) for g in gold)
    return round(found / total, 4) if total else 0.0


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> list[ReliabilityBin]:
    """Equal-width confidence bins with their mean confidence and observed accuracy."""
    out: list[ReliabilityBin] = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if not idx:
            out.append(ReliabilityBin(lo=lo, hi=hi, count=0, confidence=0.0, accuracy=0.0))
            continue
        conf = sum(confidences[i] for i in idx) / len(idx)
        acc = sum(1 for i in idx if correct[i]) / len(idx)
        out.append(
            ReliabilityBin(
                lo=lo, hi=hi, count=len(idx), confidence=round(conf, 4), accuracy=round(acc, 4)
            )
        )
    return out


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over equal-width bins."""
    n = len(confidences)
    if not n:
        return 0.0
    gap = sum(
        b.count * abs(b.confidence - b.accuracy) for b in reliability(confidences, correct, bins)
    )
    return round(gap / n, 4)
