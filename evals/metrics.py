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


def is_category_today(key: str) -> bool:
    """Whether a gold scoring key is a code of the 2026 code set that is no longer a leaf: "R05"
    cough, "R51" headache, "M54.5" low back pain, "E87.2" acidosis were split into children after
    CodiEsp was annotated, and a few gold codes stop at a subcategory ("C50.9")."""
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    return codeset.exists(key) and not codeset.is_billable(key)


def reads_gold(key: str, gold: set[str]) -> bool:
    """Whether a predicted scoring key reads a gold code: the code itself, or any code under a gold
    code that is a category today (no 2026 coder can assign "R51"; "R51.9" is its reading now)."""
    if key in gold:
        return True
    return any(key.startswith(g) and is_category_today(g) for g in gold if len(g) < len(key))


def read_categories(pred: set[str], gold: set[str]) -> set[str]:
    """`pred` with, for each gold code that is a category today and not predicted as written, one
    predicted code beneath it read as that gold code. One child credits the category once; a second
    child beneath it stays a false positive, so no prediction counts twice."""
    out = set(pred)
    for g in sorted(gold - pred):
        if not is_category_today(g):
            continue
        beneath = sorted(k for k in out - gold if k.startswith(g) and len(k) > len(g))
        if beneath:
            out.discard(beneath[0])
            out.add(g)
    return out


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
