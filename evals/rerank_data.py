"""Candidate lists with gold labels: what the reranker is fitted on and checked with.

Every chart of a labelled set is structured and its mentions found exactly as the coding graph's
`find_concepts` node finds them (before any reranking); each mention's candidates get the
reranker's static features (`agent/rerank.py`) and a label: whether the code a coder would bill
for it (its billable reading) is in the chart's valid gold, compared as scoring compares codes.
The result is one compressed numpy file, so fitting never re-runs the NLP:

    codesense rerank dump codiesp-train --out .codesense/rerank/train.npz
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agent.rerank import STATIC_FEATURES, candidate_features, phrase_key
from evals.datasets import LabelledChart, load_jsonl, resolve
from evals.metrics import reads_gold

_WORKER: dict[str, Any] = {}


@dataclass
class ChartRows:
    """One chart's candidates: features, codes, scoring keys, labels, mention of each row."""

    id: str
    gold: list[str]  # valid gold, as compare keys
    x: np.ndarray
    codes: list[str]
    keys: list[str]
    labels: np.ndarray
    mention: np.ndarray  # mention number within the chart, per row
    assertion: list[str]  # per mention
    phrases: list[str]  # the mention's phrase key, per row


@dataclass
class CandidateSet:
    """Every chart's rows stacked (what `dump` writes and `load` reads)."""

    x: np.ndarray
    codes: np.ndarray
    keys: np.ndarray
    labels: np.ndarray
    chart: np.ndarray  # chart number per row
    mention: np.ndarray  # global mention number per row
    chart_ids: np.ndarray
    phrases: np.ndarray
    gold: list[set[str]]
    features: tuple[str, ...]


def _init(data_dir: str, semantic: bool = False) -> None:
    from tools.lookup import TermIndex
    from tools.semantic import SemanticRetriever

    _WORKER["index"] = TermIndex.load_or_build(Path(data_dir) / "cache")
    _WORKER["semantic"] = SemanticRetriever(Path(data_dir)) if semantic else None


def billable_key(code: str) -> str:
    """How scoring sees the code a mention read as `code` is billed: its billable reading."""
    from evals.metrics import compare_key
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    if codeset.exists(code) and not codeset.is_billable(code):
        code = codeset.unspecified_child(code) or code
    return compare_key(code)


def chart_rows(chart: LabelledChart) -> ChartRows:
    from evals.metrics import compare_key
    from tools.codeset import CodeSet
    from tools.extract import structure, text_document
    from tools.mentions import MentionsInput, find_mentions

    codeset = CodeSet.load()
    gold = sorted({compare_key(c) for c in chart.codes if codeset.exists(c)})
    doc = structure(text_document(chart.text, "d1", source_name=chart.id))
    mentions = find_mentions(MentionsInput(document=doc), _WORKER["index"]).mentions
    retriever = _WORKER.get("semantic")
    if retriever is not None:
        # As the coding graph adds them when the semantic index is on (agent/nodes.py).
        from core.settings import Settings
        from tools.chart import Chart
        from tools.semantic import semantic_mentions

        mentions = semantic_mentions(
            Chart(chart_id=chart.id, documents=[doc]),
            mentions,
            _WORKER["index"],
            retriever,
            Settings().semantic_candidates,
        )
    blocks = candidate_features(mentions, {doc.doc_id: doc.text})
    codes = [c.code for m in mentions for c in m.candidates]
    keys = [billable_key(c) for c in codes]
    gold_set = set(gold)
    width = len(STATIC_FEATURES)
    return ChartRows(
        id=chart.id,
        gold=gold,
        x=np.vstack(blocks) if codes else np.zeros((0, width)),
        codes=codes,
        keys=keys,
        labels=np.asarray([reads_gold(k, gold_set) for k in keys], dtype=bool),
        mention=np.asarray(
            [i for i, m in enumerate(mentions) for _ in m.candidates], dtype=np.int32
        ),
        assertion=[m.assertion for m in mentions],
        phrases=[phrase_key(m.text) for m in mentions for _ in m.candidates],
    )


def rows_for(
    charts: list[LabelledChart],
    data_dir: Path,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    semantic: bool = False,
) -> list[ChartRows]:
    """Every chart's rows, in input order (worker processes when `workers` > 1); `semantic`
    adds the semantic index's candidates and phrases as the coding graph does."""
    from tools.lookup import TermIndex

    TermIndex.load_or_build(data_dir / "cache")  # built once here, loaded by the workers
    done: dict[str, ChartRows] = {}
    for rows in _map(charts, str(data_dir), workers, semantic):
        done[rows.id] = rows
        if progress is not None:
            progress(len(done), len(charts))
    return [done[c.id] for c in charts]


def _map(
    charts: list[LabelledChart], data_dir: str, workers: int, semantic: bool = False
) -> Iterator[ChartRows]:
    if workers <= 1:
        _init(data_dir, semantic)
        yield from map(chart_rows, charts)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init, initargs=(data_dir, semantic)) as pool:
        yield from pool.imap_unordered(chart_rows, charts, chunksize=4)


def dump(
    dataset: str,
    out: Path,
    data_dir: Path,
    limit: int | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    semantic: bool = False,
) -> CandidateSet:
    charts = load_jsonl(resolve(dataset), limit)
    rows = rows_for(charts, data_dir, workers or os.cpu_count() or 1, progress, semantic)
    data = stack(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        x=data.x,
        codes=data.codes,
        keys=data.keys,
        labels=data.labels,
        chart=data.chart,
        mention=data.mention,
        chart_ids=data.chart_ids,
        phrases=data.phrases,
        gold=np.asarray(["|".join(sorted(g)) for g in data.gold]),
        features=np.asarray(data.features),
    )
    return data


def stack(rows: list[ChartRows]) -> CandidateSet:
    width = len(STATIC_FEATURES)
    mention_base = 0
    chart, mention = [], []
    for n, r in enumerate(rows):
        chart.append(np.full(len(r.codes), n, dtype=np.int32))
        mention.append(r.mention + mention_base)
        mention_base += len(r.assertion)
    return CandidateSet(
        x=np.vstack([r.x for r in rows]) if rows else np.zeros((0, width)),
        codes=np.asarray([c for r in rows for c in r.codes]),
        keys=np.asarray([k for r in rows for k in r.keys]),
        labels=np.concatenate([r.labels for r in rows]) if rows else np.zeros(0, dtype=bool),
        chart=np.concatenate(chart) if rows else np.zeros(0, dtype=np.int32),
        mention=np.concatenate(mention) if rows else np.zeros(0, dtype=np.int32),
        chart_ids=np.asarray([r.id for r in rows]),
        phrases=np.asarray([p for r in rows for p in r.phrases]),
        gold=[set(r.gold) for r in rows],
        features=STATIC_FEATURES,
    )


def load(path: Path) -> CandidateSet:
    from core.errors import CodeSenseError

    if not path.is_file():
        raise CodeSenseError(f"{path}: no candidate dump (make one with `codesense rerank dump`)")
    with np.load(path, allow_pickle=False) as f:
        features = tuple(str(s) for s in f["features"])
        if features != STATIC_FEATURES:
            raise CodeSenseError(
                f"{path.name} was dumped with other features than this code computes: dump again"
            )
        gold = [set(g.split("|")) - {""} for g in f["gold"].tolist()]
        keys, chart = f["keys"], f["chart"]
        return CandidateSet(
            x=f["x"],
            codes=f["codes"],
            keys=keys,
            # Labelled again here, so a dump made before a labelling fix needs no re-run.
            labels=np.asarray(
                [reads_gold(str(k), gold[int(c)]) for k, c in zip(keys, chart, strict=True)],
                dtype=bool,
            ),
            chart=chart,
            mention=f["mention"],
            chart_ids=f["chart_ids"],
            phrases=f["phrases"],
            gold=gold,
            features=features,
        )
