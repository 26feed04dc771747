"""The semantic index, built tiny: embedding, incremental and resumable builds, look-up, one writer."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from core.errors import CodeSenseError
from tools.semantic import SemanticEntry, SemanticIndex, SemanticIndexMissing, iter_entries

ENTRIES = [
    SemanticEntry(code="R59.9", text="Enlarged lymph nodes, unspecified", origin="title"),
    SemanticEntry(code="R63.4", text="Abnormal weight loss", origin="title"),
    SemanticEntry(code="R42", text="Dizziness and giddiness", origin="title"),
    SemanticEntry(code="N20.0", text="Calculus of kidney", origin="title"),
    SemanticEntry(code="I10", text="Essential (primary) hypertension", origin="title"),
    SemanticEntry(code="I10", text="High blood pressure", origin="inclusion"),
    SemanticEntry(code="J18.9", text="Pneumonia, unspecified organism", origin="title"),
    SemanticEntry(code="K35.80", text="Unspecified acute appendicitis", origin="title"),
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SemanticIndex:
    index = SemanticIndex.open(tmp_path_factory.mktemp("semantic"), create=True)
    assert index.build(ENTRIES[:5]) == (5, 0)
    return index


def test_nearest_meaning_without_shared_words(tiny: SemanticIndex):
    hits = tiny.search(["kidney stone", "the patient lost a lot of weight", "raised BP"], k=3)
    assert [h[0].code for h in hits] == ["N20.0", "R63.4", "I10"]
    assert all(0.0 < h.similarity <= 1.0 for h in hits[0])
    assert hits[0][0].similarity > hits[0][-1].similarity


def test_build_is_incremental_and_drops_stale_entries(tiny: SemanticIndex):
    # Resuming after the first five: only the rest are embedded.
    assert tiny.build(ENTRIES) == (3, 0)
    assert len(tiny) == len(ENTRIES)
    assert tiny.build(ENTRIES) == (0, 0)
    assert tiny.build(ENTRIES[:-1]) == (0, 1)
    # One hit per code, even when a code has several texts.
    codes = [h.code for h in tiny.search(["hypertension"], k=5)[0]]
    assert len(codes) == len(set(codes))


def test_progress_is_reported(tmp_path: Path):
    index = SemanticIndex.open(tmp_path, create=True)
    seen: list[tuple[int, int]] = []
    index.build(ENTRIES[:3], progress=lambda done, total: seen.append((done, total)), batch=2)
    assert seen == [(0, 3), (2, 3), (3, 3)]


def test_reopening_finds_the_persisted_index(tiny: SemanticIndex):
    again = SemanticIndex.open(tiny.folder.parent)
    assert len(again) == len(tiny)


def test_missing_index_says_how_to_build_it(tmp_path: Path):
    with pytest.raises(SemanticIndexMissing, match="codesense index build"):
        SemanticIndex.open(tmp_path)


def test_a_second_writer_is_refused(tmp_path: Path):
    index = SemanticIndex.open(tmp_path, create=True)
    with (index.folder / "build.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(CodeSenseError, match="another process"):
            index.build(ENTRIES[:1])


def test_full_index_covers_titles_inclusions_and_index_entries():
    entries = list(iter_entries())
    origins = {e.origin for e in entries}
    assert {"title", "inclusion", "index", "lexicon"} <= origins
    assert len({e.key for e in entries}) == len(entries)
    # 7th-character extensions are left out: they differ only by encounter.
    assert not any(e.code == "S72.001A" for e in entries)
    assert any(e.code == "S72.001" for e in entries)


def test_semantic_mentions_add_neighbours_and_phrase_mentions(tiny: SemanticIndex, term_index):
    from tools.chart import Chart
    from tools.extract import structure, text_document
    from tools.mentions import MentionsInput, find_mentions
    from tools.semantic import SemanticRetriever, semantic_mentions

    text = "The boy had lost weight. He denied kidney stones."
    doc = structure(text_document(text, "d1"))
    chart = Chart(chart_id="c1", documents=[doc])
    found = find_mentions(MentionsInput(document=doc), term_index).mentions
    assert "lost weight" not in [m.text for m in found]  # the term index matches nothing there
    out = semantic_mentions(chart, found, term_index, SemanticRetriever(tiny.folder.parent), k=3)
    phrase = next(m for m in out if m.text == "lost weight")
    # A phrase mention: its own span, its assertion read by ConText, semantic candidates only.
    assert text[phrase.start : phrase.end] == "lost weight" and phrase.assertion == "present"
    assert phrase.candidates[0].code == "R63.4" and phrase.codes == []
    assert {c.origin for c in phrase.candidates} == {"semantic"}
    assert all(c.span == (phrase.start, phrase.end) for c in phrase.candidates)
    stones = next(m for m in out if m.text == "kidney stones")
    assert stones.assertion == "negated"
    # The term mention keeps its own candidates first; semantic ones follow, none repeated.
    before = next(m for m in found if m.text == "kidney stones")
    assert stones.candidates[: len(before.candidates)] == before.candidates
    codes = [c.code for c in stones.candidates]
    assert len(codes) == len(set(codes))
    assert [m.start for m in out] == sorted(m.start for m in out)


def test_the_retriever_remembers_recent_phrases_and_forgets_safely(
    tiny: SemanticIndex, monkeypatch
):
    from tools import semantic
    from tools.semantic import SemanticRetriever

    monkeypatch.setattr(semantic, "_RECENT", 2)
    retriever = SemanticRetriever(tiny.folder.parent)
    first = retriever.search(["kidney stone", "raised BP"], k=2)
    # Over the bound: earlier phrases are forgotten, never those of the query being answered.
    again = retriever.search(["kidney stone", "lost weight", "dizzy"], k=2)
    assert again[0] == first[0] and again[1][0].code == "R63.4"
    assert retriever.search(["raised BP"], k=2) == [first[1]]
