"""Micro-averaged precision, recall and F1 over code sets, at full code and 3-character category."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel


class Scores(BaseModel):
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def undot(code: str) -> str:
    return code.replace(".", "").upper().strip()


def category(code: str) -> str:
    return undot(code)[:3]


def micro(pairs: Iterable[tuple[set[str], set[str]]]) -> Scores:
    """`pairs` of (predicted, gold) code sets, one per chart, already normalised."""
    tp = fp = fn = 0
    for predicted, gold in pairs:
        tp += len(predicted & gold)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(precision=round(p, 4), recall=round(r, 4), f1=round(f, 4), tp=tp, fp=fp, fn=fn)
