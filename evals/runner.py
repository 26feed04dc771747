"""The eval runner: code every chart of a labelled set in worker processes, one JSON line each.

Each chart's record holds what scoring needs and nothing it must recompute: gold codes, every
mention with its assertion, best reading and ranked candidates, every suggestion with its
confidence, status, calibration features and whether its evidence still matches the chart, the
chart's route, and the time it took. Records are appended to `predictions.jsonl` in the output
folder as they finish, so an interrupted run resumes where it stopped; a run whose code, rules or
calibration changed since starts over (records from different code are not comparable).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, Field

from core.codes import undot
from evals.datasets import LabelledChart

log = logging.getLogger(__name__)

PREDICTIONS_FILE = "predictions.jsonl"
RUN_FILE = "run.json"
# Candidates kept per mention: enough for recall@10 and a look at what ranked below.
KEEP_CANDIDATES = 20
_ROOT = Path(__file__).resolve().parent.parent


class MentionRecord(BaseModel):
    start: int
    end: int
    assertion: str
    section: str
    codes: list[str]
    candidates: list[str]
    sources: list[str] = Field(default_factory=list)
    span_valid: bool = True


class PhraseRecord(BaseModel):
    """Text the term index matched nothing in, and the semantic index's nearest codes for it."""

    start: int
    end: int
    candidates: list[str]


class SuggestionRecord(BaseModel):
    code: str
    confidence: float
    status: str
    features: dict[str, float]
    evidence_valid: bool
    mentions: int


class UsageRecord(BaseModel):
    """What the model cost for one chart (LLM reasoner only)."""

    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    tool_calls: int
    model_latency_ms: int
    dropped: dict[str, int] = Field(default_factory=dict)
    failure: str | None = None


class ChartRecord(BaseModel):
    id: str
    gold: list[str]
    mentions: list[MentionRecord] = Field(default_factory=list)
    phrases: list[PhraseRecord] = Field(default_factory=list)
    suggestions: list[SuggestionRecord] = Field(default_factory=list)
    route: str = "escalate"
    escalations: list[str] = Field(default_factory=list)
    latency_s: float = 0.0
    error: str | None = None
    usage: UsageRecord | None = None

    def all_mention_codes(self) -> set[str]:
        """What "all mentions" mode scores: every mention's best reading, whatever its assertion."""
        return {undot(c) for m in self.mentions for c in m.codes}

    def suggested_codes(self) -> set[str]:
        """What "guidelines" mode scores: the codes the reasoner would bill."""
        return {undot(s.code) for s in self.suggestions}

    def candidate_codes(self, k: int) -> set[str]:
        """Every mention's top-k candidate codes (its best reading first), and every unmatched
        phrase's top-k semantic candidates."""
        lists = [m.candidates for m in self.mentions] + [p.candidates for p in self.phrases]
        return {undot(c) for ranked in lists for c in ranked[:k]}


class RunInfo(BaseModel):
    dataset: str
    fingerprint: str
    setting: str
    semantic: bool = False
    reasoner: str = "offline"
    workers: int = 1
    wall_s: float = 0.0
    charts_timed: int = 0


def fingerprint(setting: str, semantic: bool = False, reasoner: str = "offline") -> str:
    """A hash of everything that decides the output: code, rules, prompts, data files, the
    setting and the reasoner (for a model: its name and endpoint)."""
    h = hashlib.sha256(f"{setting} semantic={semantic} reasoner={reasoner}".encode())
    for folder, pattern in (
        ("agent", "**/*.py"),
        ("tools", "**/*.py"),
        ("rules", "**/*.yaml"),
        ("prompts", "*.md"),
        ("data", "*.json"),
    ):
        for path in sorted((_ROOT / folder).glob(pattern)):
            h.update(path.relative_to(_ROOT).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


# -- worker side -------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(data_dir: str, setting: str, semantic: bool, reasoner: str = "offline") -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if semantic:
        # One thread per worker: the pool already uses every core.
        import torch

        torch.set_num_threads(1)
    from agent.coder import Coder
    from core.settings import Settings

    # The model endpoint, if any, comes from the environment (CODESENSE_LLM_*).
    settings = Settings(
        data_dir=Path(data_dir),
        setting=setting,
        semantic_retrieval=semantic,
        reasoner="llm" if reasoner == "llm" else "offline",
    )
    # The graph alone: an eval stores no runs and writes no audit events.
    _WORKER["coder"] = Coder(settings=settings)
    _WORKER["setting"] = setting


def code_one(chart: LabelledChart) -> ChartRecord:
    """Code one labelled chart with this process's service and keep what scoring needs."""
    from agent.scoring import features_for_draft
    from core.contract import Evidence
    from core.errors import CodeSenseError
    from tools.chart import Chart
    from tools.evidence import evidence_problems
    from tools.extract import text_document

    coder = _WORKER["coder"]
    gold = sorted({undot(c) for c in chart.codes})
    t0 = time.perf_counter()
    try:
        doc = text_document(chart.text, "d1", source_name=chart.id)
        structured = Chart(chart_id=f"eval-{chart.id}", documents=[doc])
        state = coder.run(structured, _WORKER["setting"], run_id=f"eval-{chart.id}")
    except CodeSenseError as err:
        return ChartRecord(id=chart.id, gold=gold, error=str(err))
    except Exception as err:  # a bug on one chart must not lose an hour's run: counted, logged
        log.exception("chart %s failed", chart.id)
        return ChartRecord(id=chart.id, gold=gold, error=f"{type(err).__name__}: {err}")
    latency = time.perf_counter() - t0
    result = state["result"]
    mentions_in = state.get("mentions", [])
    semantic: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for cand in state.get("candidates", []):
        if cand.best.origin == "semantic" and cand.best.span is not None:
            semantic.setdefault(tuple(cand.best.span), []).append((cand.best.score, cand.code))
    mentions: list[MentionRecord] = []
    for m_in, m_out in zip(mentions_in, result.mentions, strict=True):
        # A mention's candidates: its term matches, the tabular neighbours of the best one (as
        # the mention lists them), then its semantic neighbours, most similar first.
        nearest = sorted(semantic.pop((m_out.start, m_out.end), []), key=lambda sc: -sc[0])
        ordered = [c.code for c in m_in.candidates] + [code for _, code in nearest]
        ranked = list(dict.fromkeys([*m_out.codes, *ordered]))
        mentions.append(
            MentionRecord(
                start=m_out.start,
                end=m_out.end,
                assertion=m_out.assertion,
                section=m_out.section,
                codes=m_out.codes,
                candidates=ranked[:KEEP_CANDIDATES],
                sources=sorted({c.origin for c in m_in.candidates}),
                span_valid=doc.text[m_out.start : m_out.end] == m_out.text,
            )
        )
    suggestions: list[SuggestionRecord] = []
    drafts = state.get("drafts", [])
    for draft, sug in zip(drafts, result.suggestions, strict=True):
        problems = [
            p
            for e in sug.evidence
            for p in evidence_problems(structured, Evidence(**e.model_dump()))
        ]
        feats = features_for_draft(draft, mentions_in)
        suggestions.append(
            SuggestionRecord(
                code=sug.code,
                confidence=sug.confidence,
                status=sug.status,
                features=feats.as_dict(),
                evidence_valid=not problems and bool(sug.evidence),
                mentions=len(draft.decision.mention_ids),
            )
        )
    phrases = [
        PhraseRecord(
            start=span[0],
            end=span[1],
            candidates=[code for _, code in sorted(hits, key=lambda sc: -sc[0])][:KEEP_CANDIDATES],
        )
        for span, hits in sorted(semantic.items())
    ]
    usage = state.get("usage")
    return ChartRecord(
        id=chart.id,
        gold=gold,
        mentions=mentions,
        phrases=phrases,
        suggestions=suggestions,
        route=result.route,
        escalations=[e.reason for e in result.escalations],
        latency_s=round(latency, 4),
        usage=UsageRecord(
            model=usage.model,
            requests=usage.requests,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            tool_calls=usage.tool_calls,
            model_latency_ms=usage.latency_ms,
            dropped=usage.dropped_by_reason,
            failure=usage.failure,
        )
        if usage is not None
        else None,
    )


# -- parent side -------------------------------------------------------------------------------


def load_records(out_dir: Path) -> list[ChartRecord]:
    path = out_dir / PREDICTIONS_FILE
    if not path.is_file():
        return []
    records: list[ChartRecord] = []
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                records.append(ChartRecord.model_validate_json(line))
            except ValueError:
                # A line cut short by an interrupted run: that chart is simply coded again.
                log.warning("skipping an unreadable line in %s", path.name)
    return records


def run_eval(
    charts: list[LabelledChart],
    out_dir: Path,
    dataset: str,
    data_dir: Path,
    setting: str = "outpatient",
    workers: int | None = None,
    fresh: bool = False,
    progress: Callable[[int, int], None] | None = None,
    semantic: bool = False,
    reasoner: str = "offline",
    engine: str = "local",
    scheduler: str | None = None,
) -> tuple[list[ChartRecord], RunInfo]:
    """Code every chart not already in `out_dir`, in parallel; return all records in input order.

    `semantic` turns semantic-index candidates on (only when the index is built); `reasoner`
    "llm" codes through the model endpoint the CODESENSE_LLM_* settings name. `engine` and
    `scheduler` choose where charts are coded, as for `codesense batch` (apps/batch/engines.py).
    """
    from tools.semantic import SemanticRetriever

    out_dir.mkdir(parents=True, exist_ok=True)
    semantic = semantic and SemanticRetriever.available(data_dir)
    tag = reasoner_tag(reasoner)
    info = RunInfo(
        dataset=dataset,
        fingerprint=fingerprint(setting, semantic, tag),
        setting=setting,
        semantic=semantic,
        reasoner=tag,
    )
    pred_path, run_path = out_dir / PREDICTIONS_FILE, out_dir / RUN_FILE
    previous = _previous_run(run_path)
    if fresh or previous is None or previous.fingerprint != info.fingerprint:
        if previous is not None and not fresh:
            log.warning("code, rules or settings changed since the last run: starting over")
        pred_path.unlink(missing_ok=True)
    else:
        info = previous.model_copy(update={"dataset": dataset})
    run_path.write_bytes(orjson.dumps(info.model_dump(), option=orjson.OPT_INDENT_2))

    _drop_partial_line(pred_path)
    wanted = {c.id for c in charts}
    done = {r.id: r for r in load_records(out_dir) if r.id in wanted}
    todo = [c for c in charts if c.id not in done]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    if todo:
        _warm_term_index(data_dir)
        t0 = time.perf_counter()
        with pred_path.open("ab") as sink:
            for record in _code_all(
                todo, data_dir, setting, workers, semantic, reasoner, engine, scheduler
            ):
                sink.write(record.model_dump_json().encode() + b"\n")
                sink.flush()
                done[record.id] = record
                if progress is not None:
                    progress(len(done), len(charts))
        info.wall_s += time.perf_counter() - t0
        info.charts_timed += len(todo)
        info.workers = workers
        run_path.write_bytes(orjson.dumps(info.model_dump(), option=orjson.OPT_INDENT_2))
    elif progress is not None:
        progress(len(done), len(charts))
    return [done[c.id] for c in charts if c.id in done], info


def _drop_partial_line(path: Path) -> None:
    """Cut a line an interrupted run left half written, so new records start on a line."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _previous_run(path: Path) -> RunInfo | None:
    if not path.is_file():
        return None
    try:
        return RunInfo.model_validate_json(path.read_bytes())
    except ValueError:
        return None


def _warm_term_index(data_dir: Path) -> None:
    """Build the term index cache once here, so workers load it instead of each building it."""
    from tools.lookup import TermIndex

    TermIndex.load_or_build(data_dir / "cache")


def reasoner_tag(reasoner: str) -> str:
    """ "offline", or "llm:<model>@<endpoint>" from the settings: what the run's records mean."""
    if reasoner != "llm":
        return "offline"
    from core.settings import Settings

    settings = Settings(reasoner="llm")
    return f"llm:{settings.llm_model}@{settings.llm_base_url}"


def _code_all(
    charts: list[LabelledChart],
    data_dir: Path,
    setting: str,
    workers: int,
    semantic: bool,
    reasoner: str = "offline",
    engine: str = "local",
    scheduler: str | None = None,
) -> Iterator[ChartRecord]:
    """Code the charts where `codesense batch` would: this process (one worker), a local
    process pool, or dask."""
    from apps.batch.engines import run_tasks

    yield from run_tasks(
        code_one,
        charts,
        engine="dask" if engine == "dask" else "local",
        workers=workers,
        scheduler=scheduler,
        init=_init_worker,
        init_args=(str(data_dir), setting, semantic, reasoner),
    )
