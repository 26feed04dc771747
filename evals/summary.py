"""Every figure of an eval run, computed from its per-chart records.

Modes: "all-mentions" scores the union of every mention's code, whatever its assertion (what
CodiEsp's annotators coded); "guidelines" scores the codes the reasoner suggests for billing.
Scorings: gold as given ("all gold"), gold restricted to codes in the April 2026 code set
("valid gold", the headline), and 3-character categories. A valid gold code that is a category
today ("R51": split into R51.0/R51.9 after CodiEsp was annotated) is read by one predicted code
beneath it in "valid gold"; "valid gold, categories as written" and "valid gold, exact" (character
for character) do not. Confidence and routing are judged on suggestions: a suggestion is right when
it reads a code of the chart's valid gold.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Literal

from pydantic import BaseModel, Field

from evals.metrics import (
    Macro,
    ReliabilityBin,
    Scores,
    category,
    compare_key,
    expected_calibration_error,
    macro,
    micro,
    read_categories,
    reads_gold,
    recall_at,
    reliability,
    to_categories,
)
from evals.runner import ChartRecord, RunInfo

Mode = Literal["all-mentions", "guidelines"]
MODES: tuple[Mode, ...] = ("all-mentions", "guidelines")
SCORINGS = (
    "all gold",
    "valid gold",
    "valid gold, categories as written",
    "category",
    "valid gold, exact",
)
RECALL_KS = (1, 5, 10, 20)
AUTO_PRECISION_TARGET = 0.95


class Scoring(BaseModel):
    micro: Scores
    macro: Macro


class ThresholdPoint(BaseModel):
    threshold: float
    precision: float
    recall: float
    codes: int


class ChapterScore(BaseModel):
    chapter: str
    title: str
    precision: float
    recall: float
    f1: float
    gold: int


class Latency(BaseModel):
    charts_per_s: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    workers: int


class Routing(BaseModel):
    chart_routes: dict[str, float]
    code_statuses: dict[str, float]
    wrong_codes: int
    wrong_caught: int  # wrong suggestions sent to review or escalation instead of auto
    right_codes: int
    right_held: int  # right suggestions a coder still had to look at


class Calibration(BaseModel):
    ece: float
    brier: float
    codes: int
    bins: list[ReliabilityBin]
    auto_threshold: float | None  # lowest threshold with auto precision >= target
    auto_precision: float
    auto_share: float
    configured_auto_precision: float
    configured_auto_share: float


class Spread(BaseModel):
    mean: float
    p50: float
    p95: float
    max: float


class ChartCost(BaseModel):
    id: str
    prompt_tokens: int
    completion_tokens: int
    requests: int
    tool_calls: int
    model_latency_ms: int
    chart_latency_ms: float
    failure: str | None = None


class ModelCost(BaseModel):
    """What the model cost, per chart, beside the accuracy it bought."""

    model: str
    charts: int
    total_tokens: int
    prompt_tokens: int
    completion_tokens: int
    tokens_per_chart: Spread
    requests_per_chart: float
    tool_calls_per_chart: float
    latency_ms: Spread  # time spent waiting for the model, per chart
    fallbacks: int  # charts coded offline because the model failed
    failures: dict[str, int]
    dropped_codes: dict[str, int]
    per_chart: list[ChartCost]


class Summary(BaseModel):
    dataset: str
    mode: Mode
    semantic: bool = False
    charts: int
    errors: int
    gold_codes: int
    valid_gold_codes: int
    scorings: dict[str, dict[str, Scoring]]  # mode -> scoring -> scores
    recall_at_k: dict[int, float]
    candidates_per_chart: dict[int, float]
    near_misses: int
    near_miss_pairs: list[tuple[str, str, int]]
    evidence_validity: float
    mention_span_validity: float
    suggestions: int
    routing: Routing
    calibration: Calibration
    pr_curve: list[ThresholdPoint]
    chapters: list[ChapterScore]
    latency: Latency
    top_false_negatives: list[tuple[str, int]] = Field(default_factory=list)
    top_false_positives: list[tuple[str, int]] = Field(default_factory=list)
    reasoner: str = "offline"
    model_cost: ModelCost | None = None


def predicted(record: ChartRecord, mode: Mode) -> set[str]:
    return record.all_mention_codes() if mode == "all-mentions" else record.suggested_codes()


def summarise(
    records: list[ChartRecord],
    info: RunInfo,
    mode: Mode = "all-mentions",
    auto_threshold: float = 0.75,
) -> Summary:
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    ok = [r for r in records if r.error is None]
    gold_all = [{compare_key(c) for c in r.gold} for r in ok]
    gold_valid = [{compare_key(c) for c in r.gold if codeset.exists(c)} for r in ok]
    exact_valid = [{c for c in r.gold if codeset.exists(c)} for r in ok]

    scorings: dict[str, dict[str, Scoring]] = {}
    for m in MODES:
        raw = [predicted(r, m) for r in ok]
        preds = [{compare_key(c) for c in p} for p in raw]
        cats = [to_categories(p) for p in raw]
        gold_cats = [to_categories(set(r.gold)) for r in ok]
        read = [read_categories(p, g) for p, g in zip(preds, gold_valid, strict=True)]
        scorings[m] = {
            "all gold": _scoring(preds, gold_all),
            "valid gold": _scoring(read, gold_valid),
            "valid gold, categories as written": _scoring(preds, gold_valid),
            "category": _scoring(cats, gold_cats),
            "valid gold, exact": _scoring(raw, exact_valid),
        }

    preds = [
        read_categories({compare_key(c) for c in predicted(r, mode)}, g)
        for r, g in zip(ok, gold_valid, strict=True)
    ]
    recall = {
        k: recall_at(
            [
                read_categories({compare_key(c) for c in r.candidate_codes(k)}, g)
                for r, g in zip(ok, gold_valid, strict=True)
            ],
            gold_valid,
        )
        for k in RECALL_KS
    }
    pool = {k: round(statistics.fmean(len(r.candidate_codes(k)) for r in ok), 1) for k in RECALL_KS}

    near: Counter[tuple[str, str]] = Counter()
    fn_codes: Counter[str] = Counter()
    fp_codes: Counter[str] = Counter()
    for p, g in zip(preds, gold_valid, strict=True):
        for missed in g - p:
            fn_codes[missed] += 1
            sibling = sorted(c for c in p - g if category(c) == category(missed))
            if sibling:
                near[(missed, sibling[0])] += 1
        fp_codes.update(p - g)

    sugg = [(s, r) for r, g in zip(ok, gold_valid, strict=True) for s in r.suggestions]
    correct = [
        reads_gold(compare_key(s.code), g)
        for r, g in zip(ok, gold_valid, strict=True)
        for s in r.suggestions
    ]
    confs = [s.confidence for s, _ in sugg]
    statuses = [s.status for s, _ in sugg]
    evidence_ok = sum(1 for s, _ in sugg if s.evidence_valid)
    spans = [m.span_valid for r in ok for m in r.mentions]

    wrong = [i for i, c in enumerate(correct) if not c]
    right = [i for i, c in enumerate(correct) if c]
    routing = Routing(
        chart_routes=_shares(r.route for r in ok),
        code_statuses=_shares(statuses),
        wrong_codes=len(wrong),
        wrong_caught=sum(1 for i in wrong if statuses[i] != "auto"),
        right_codes=len(right),
        right_held=sum(1 for i in right if statuses[i] != "auto"),
    )
    total_valid = sum(len(g) for g in gold_valid)
    curve = _pr_curve(confs, correct, total_valid)
    return Summary(
        dataset=info.dataset,
        mode=mode,
        semantic=info.semantic,
        charts=len(ok),
        errors=len(records) - len(ok),
        gold_codes=sum(len(g) for g in gold_all),
        valid_gold_codes=total_valid,
        scorings=scorings,
        recall_at_k=recall,
        candidates_per_chart=pool,
        near_misses=sum(near.values()),
        near_miss_pairs=[(a, b, n) for (a, b), n in near.most_common(15)],
        evidence_validity=round(evidence_ok / len(sugg), 4) if sugg else 1.0,
        mention_span_validity=round(sum(spans) / len(spans), 4) if spans else 1.0,
        suggestions=len(sugg),
        routing=routing,
        calibration=_calibration(confs, correct, auto_threshold),
        pr_curve=curve,
        chapters=_chapters(preds, gold_valid),
        latency=_latency(ok, info),
        top_false_negatives=fn_codes.most_common(20),
        top_false_positives=fp_codes.most_common(20),
        reasoner=info.reasoner,
        model_cost=_model_cost(ok),
    )


def _scoring(preds: list[set[str]], gold: list[set[str]]) -> Scoring:
    pairs = list(zip(preds, gold, strict=True))
    return Scoring(micro=micro(pairs), macro=macro(pairs))


def _shares(values: object) -> dict[str, float]:
    counts = Counter(values)  # type: ignore[call-overload]
    total = sum(counts.values())
    return {k: round(v / total, 4) for k, v in sorted(counts.items())} if total else {}


def auto_precision(confs: list[float], correct: list[bool], threshold: float) -> tuple[float, int]:
    kept = [c for x, c in zip(confs, correct, strict=True) if x >= threshold]
    return (sum(kept) / len(kept) if kept else 1.0), len(kept)


def lowest_precise_threshold(
    confs: list[float],
    correct: list[bool],
    target: float = AUTO_PRECISION_TARGET,
    min_codes: int = 20,
) -> float | None:
    """The lowest confidence threshold whose codes at or above it (at least `min_codes`) are at
    least `target` precise, going down from the top until precision first falls short again."""
    best: float | None = None
    for t in sorted({round(c, 2) for c in confs}, reverse=True):
        p, n = auto_precision(confs, correct, t)
        if n < min_codes:
            continue
        if p >= target:
            best = t
        elif best is not None:
            break
    return best


def _calibration(confs: list[float], correct: list[bool], configured: float) -> Calibration:
    n = len(confs)
    threshold = lowest_precise_threshold(confs, correct)
    at_p, at_n = auto_precision(confs, correct, threshold) if threshold is not None else (0.0, 0)
    cfg_p, cfg_n = auto_precision(confs, correct, configured)
    brier = sum((c - float(k)) ** 2 for c, k in zip(confs, correct, strict=True)) / n if n else 0.0
    return Calibration(
        ece=expected_calibration_error(confs, correct),
        brier=round(brier, 4),
        codes=n,
        bins=reliability(confs, correct),
        auto_threshold=threshold,
        auto_precision=round(at_p, 4),
        auto_share=round(at_n / n, 4) if n else 0.0,
        configured_auto_precision=round(cfg_p, 4),
        configured_auto_share=round(cfg_n / n, 4) if n else 0.0,
    )


def _pr_curve(confs: list[float], correct: list[bool], total_gold: int) -> list[ThresholdPoint]:
    points = []
    for step in range(0, 20):
        t = step / 20
        kept = [c for x, c in zip(confs, correct, strict=True) if x >= t]
        tp = sum(kept)
        points.append(
            ThresholdPoint(
                threshold=t,
                precision=round(tp / len(kept), 4) if kept else 1.0,
                recall=round(tp / total_gold, 4) if total_gold else 0.0,
                codes=len(kept),
            )
        )
    return points


def _chapters(preds: list[set[str]], gold: list[set[str]]) -> list[ChapterScore]:
    from tools.codeset import CodeSet

    codeset = CodeSet.load()

    def chapter(code: str) -> str:
        try:
            return codeset.get(code).chapter
        except Exception:  # an invalid code has no chapter
            return "?"

    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for p, g in zip(preds, gold, strict=True):
        tp.update(chapter(c) for c in p & g)
        fp.update(chapter(c) for c in p - g)
        fn.update(chapter(c) for c in g - p)
    out = []
    for ch in sorted(set(tp) | set(fn), key=lambda c: (len(c), c)):
        t, f_p, f_n = tp[ch], fp[ch], fn[ch]
        prec = t / (t + f_p) if t + f_p else 0.0
        rec = t / (t + f_n) if t + f_n else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        title = codeset.get(ch).description if ch != "?" else "not in the code set"
        out.append(
            ChapterScore(
                chapter=ch,
                title=title,
                precision=round(prec, 4),
                recall=round(rec, 4),
                f1=round(f1, 4),
                gold=t + f_n,
            )
        )
    return out


def _latency(records: list[ChartRecord], info: RunInfo) -> Latency:
    lat = sorted(r.latency_s * 1000 for r in records)
    if not lat:
        return Latency(charts_per_s=0.0, p50_ms=0.0, p95_ms=0.0, mean_ms=0.0, workers=info.workers)
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    return Latency(
        charts_per_s=round(info.charts_timed / info.wall_s, 2) if info.wall_s else 0.0,
        p50_ms=round(statistics.median(lat), 1),
        p95_ms=round(p95, 1),
        mean_ms=round(statistics.fmean(lat), 1),
        workers=info.workers,
    )


def _spread(values: list[float]) -> Spread:
    if not values:
        return Spread(mean=0.0, p50=0.0, p95=0.0, max=0.0)
    ordered = sorted(values)
    return Spread(
        mean=round(statistics.fmean(ordered), 1),
        p50=round(statistics.median(ordered), 1),
        p95=round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        max=round(ordered[-1], 1),
    )


def _model_cost(records: list[ChartRecord]) -> ModelCost | None:
    used = [r for r in records if r.usage is not None]
    if not used:
        return None
    usages = [r.usage for r in used if r.usage is not None]
    failures: Counter[str] = Counter(u.failure for u in usages if u.failure)
    dropped: Counter[str] = Counter()
    for u in usages:
        dropped.update(u.dropped)
    prompt = sum(u.prompt_tokens for u in usages)
    completion = sum(u.completion_tokens for u in usages)
    return ModelCost(
        model=usages[0].model,
        charts=len(used),
        total_tokens=prompt + completion,
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens_per_chart=_spread([u.prompt_tokens + u.completion_tokens for u in usages]),
        requests_per_chart=round(statistics.fmean(u.requests for u in usages), 2),
        tool_calls_per_chart=round(statistics.fmean(u.tool_calls for u in usages), 2),
        latency_ms=_spread([u.model_latency_ms for u in usages]),
        fallbacks=sum(failures.values()),
        failures=dict(failures),
        dropped_codes=dict(dropped),
        per_chart=[
            ChartCost(
                id=r.id,
                prompt_tokens=r.usage.prompt_tokens,
                completion_tokens=r.usage.completion_tokens,
                requests=r.usage.requests,
                tool_calls=r.usage.tool_calls,
                model_latency_ms=r.usage.model_latency_ms,
                chart_latency_ms=round(r.latency_s * 1000, 1),
                failure=r.usage.failure,
            )
            for r in used
            if r.usage is not None
        ],
    )
