"""The candidate reranker: the shipped model loads and validates, scores deterministically, refuses
weights out of step with its features, and changes a mention's reading when it should."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from agent.rerank import (
    FEATURES,
    RERANKER_FILE,
    STATIC_FEATURES,
    Reranker,
    Tree,
    candidate_features,
    load_reranker,
    other_readings,
    rerank_mentions,
    semantic_readings,
    with_priors,
)
from core.errors import CodeSenseError
from tools.chart import Chart
from tools.extract import structure, text_document
from tools.lookup import Candidate
from tools.mentions import Mention

NOTE = "Chest pain on the left side, with pleuritic pain on deep breathing."


def _mention(*candidates: Candidate, text: str = "pain", assertion: str = "present") -> Mention:
    start = NOTE.index(text)
    return Mention(
        text=text,
        doc_id="d1",
        start=start,
        end=start + len(text),
        assertion=assertion,  # type: ignore[arg-type]
        section="unknown",
        codes=[candidates[0].code],
        candidates=list(candidates),
        sentence_start=0,
        sentence_end=len(NOTE),
    )


def _chart() -> Chart:
    return Chart(chart_id="c1", documents=[structure(text_document(NOTE, "d1"))])


def _logistic(weights: dict[str, float], bias: float = 0.0, nil: float = 0.0) -> Reranker:
    names = list(weights)
    return Reranker(
        kind="logistic",
        features=names,
        weights=[weights[n] for n in names],
        bias=bias,
        nil_threshold=nil,
    )


PAIN = Candidate(code="R52", term="Pain, unspecified", origin="title", score=1.0)
CHEST = Candidate(code="R07.9", term="Chest pain, unspecified", origin="hierarchy", score=0.3)
CATEGORY = Candidate(code="R07", term="Pain in throat and chest", origin="title", score=0.9)


def test_shipped_model_loads_validates_and_names_only_known_features():
    model = load_reranker()
    assert model is not None and RERANKER_FILE.is_file()
    assert set(model.features) <= set(FEATURES)
    assert 0.0 <= model.nil_threshold < 0.5
    assert model.code_record and model.category_record and model.fitted_on
    # Its own figures say it beat the term index's order on the folds it was not fitted on.
    assert model.figures["train_cv_f1"] > model.figures["train_as_ranked_f1"]


def test_scores_are_deterministic_probabilities():
    model = load_reranker()
    assert model is not None
    mentions = [_mention(PAIN, CHEST), _mention(CHEST, PAIN, text="pleuritic pain")]
    blocks = candidate_features(mentions, {"d1": NOTE})
    assert all(b.shape == (2, len(STATIC_FEATURES)) for b in blocks)
    first = [
        model.probabilities(with_priors(b, ["R52", "R07.9"], ["pain"] * 2, model)) for b in blocks
    ]
    again = [
        model.probabilities(with_priors(b, ["R52", "R07.9"], ["pain"] * 2, model)) for b in blocks
    ]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
        assert ((a > 0) & (a < 1)).all()
    order = [m.codes for m in rerank_mentions(mentions, _chart(), model)]
    assert order == [m.codes for m in rerank_mentions(mentions, _chart(), model)]


def test_each_row_names_its_candidates_origin_and_its_mentions_assertion():
    semantic = Candidate(code="R07.89", term="Other chest pain", origin="semantic", score=0.7)
    mentions = [
        _mention(PAIN, CHEST, semantic, assertion="negated"),
        _mention(CATEGORY, text="pleuritic pain"),
        _mention(PAIN, text="deep breathing", assertion="family"),
    ]
    blocks = candidate_features(mentions, {"d1": NOTE})
    assert [b.shape for b in blocks] == [(n, len(STATIC_FEATURES)) for n in (3, 1, 1)]
    column = {name: i for i, name in enumerate(STATIC_FEATURES)}
    origins = [n for n in STATIC_FEATURES if n.startswith("origin_")]
    assertions = [n for n in STATIC_FEATURES if n.startswith("assert_")]
    for block, mention in zip(blocks, mentions, strict=True):
        for row, candidate in zip(block, mention.candidates, strict=True):
            hot = [n for n in origins if row[column[n]] == 1.0]
            assert hot == [f"origin_{candidate.origin}"]
            assert all(row[column[n]] in (0.0, 1.0) for n in origins)
            said = [n for n in assertions if row[column[n]] == 1.0]
            assert said == (
                [] if mention.assertion == "present" else [f"assert_{mention.assertion}"]
            )
            assert row[column["n_candidates"]] == sum(
                c.origin != "semantic" for c in mention.candidates
            )
    # The mention's own columns are the same on each of its rows.
    first = blocks[0]
    for name in ("n_candidates", "mention_words", "section", "position", "chart_mentions"):
        assert (first[:, column[name]] == first[0, column[name]]).all()


def test_weights_out_of_step_with_features_fail_loudly():
    with pytest.raises(ValidationError, match="out of step"):
        Reranker(kind="logistic", features=["rank", "score"], weights=[1.0])
    with pytest.raises(ValidationError, match="does not compute"):
        Reranker(kind="logistic", features=["rank", "colour"], weights=[1.0, 2.0])
    with pytest.raises(ValidationError, match="named twice"):
        Reranker(kind="logistic", features=["rank", "rank"], weights=[1.0, 2.0])
    leaf_on_third = Tree(feature=[2, -1, -1], threshold=[0.5, 0, 0], left=[1, -1, -1],
                         right=[2, -1, -1], value=[0, 1, -1])  # fmt: skip
    with pytest.raises(ValidationError, match="does not name"):
        Reranker(kind="boosted", features=["rank", "score"], trees=[leaf_on_third])
    model = _logistic({"rank": 1.0})
    with pytest.raises(CodeSenseError, match="columns"):
        model.probabilities(np.zeros((2, len(STATIC_FEATURES))))  # the prior columns missing


def test_a_tampered_model_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "reranker.json"
    bad.write_text('{"kind": "logistic", "features": ["rank", "score"], "weights": [1.0]}')
    with pytest.raises(CodeSenseError, match="not a valid reranker model"):
        load_reranker(bad)


def test_boosted_trees_score_with_numpy():
    # score <= 0.5 -> leaf -1, else leaf +1; bias 0.5, learning rate 0.5.
    tree = Tree(feature=[1, -1, -1], threshold=[0.5, 0, 0], left=[1, -1, -1],
                right=[2, -1, -1], value=[0, -1.0, 1.0])  # fmt: skip
    model = Reranker(
        kind="boosted", features=["rank", "score"], trees=[tree], learning_rate=0.5, bias=0.5
    )
    assert model.margin(np.asarray([[0.0, 0.2], [0.0, 0.9]])).tolist() == [0.0, 1.0]


def test_the_hook_refines_a_reading_and_never_replaces_it_with_another():
    # A model that prefers deeper codes: R07.9 (beneath the reading R07) becomes the reading.
    model = _logistic({"depth": 3.0, "rank": -0.5}, bias=-12.0)
    out = rerank_mentions([_mention(CATEGORY, CHEST, PAIN)], _chart(), model)
    assert out[0].codes == ["R07.9"]
    assert [c.code for c in out[0].candidates] == ["R07.9", "R07", "R52"]
    # R07.9 is not beneath R52: however much the model likes it, R52 stays the reading.
    out = rerank_mentions([_mention(PAIN, CHEST)], _chart(), model)
    assert out[0].codes == ["R52"]
    # A threshold above the best score leaves a present mention out, never a historical one.
    strict = _logistic({"depth": 3.0, "rank": -0.5}, bias=-12.0, nil=0.99)
    assert rerank_mentions([_mention(CATEGORY, CHEST)], _chart(), strict) == []
    past = [_mention(CATEGORY, CHEST, assertion="historical")]
    assert rerank_mentions(past, _chart(), strict)[0].codes == ["R07.9"]


def test_other_readings_are_listed_beside_the_reading_never_instead_of_it():
    # R07.9 scores 0.38 beside R52's 0.05: listed after the reading when the model lists others.
    model = _logistic({"depth": 3.0, "rank": -0.5}, bias=-12.0)
    assert rerank_mentions([_mention(PAIN, CHEST)], _chart(), model)[0].codes == ["R52"]
    listing = model.model_copy(update={"other_threshold": 0.3})
    out = rerank_mentions([_mention(PAIN, CHEST)], _chart(), listing)
    assert out[0].codes == ["R52", "R07.9"]
    assert [c.code for c in out[0].candidates] == ["R52", "R07.9"]
    # Never a sibling of any reading of the chart: another mention read as R07 is its rival.
    out = rerank_mentions([_mention(PAIN, CHEST), _mention(CATEGORY, PAIN)], _chart(), listing)
    assert [m.codes for m in out] == [["R52"], ["R07"]]
    # Each code once in the chart, best first; the reading itself is never listed again.
    lists = [(["R52", "R07.9", "N23"], [0.1, 0.5, 0.7], 0), (["N20.0", "N23"], [0.9, 0.8], 0)]
    assert other_readings(lists, 0.4) == [[2, 1], []]
    assert other_readings(lists, 0.6) == [[2], []]
    # A neoplasm's other site in the reading's behaviour column is a rival, not a second
    # neoplasm: the adenoma of the sigmoid colon is D12.5, not also D36.7 or D36.9. Another
    # column (its metastasis, C78.6) may still be listed.
    lists = [(["D12.5", "D36.7", "D36.9", "C78.6"], [0.9, 0.6, 0.5, 0.7], 0)]
    assert other_readings(lists, 0.4) == [[3]]


def test_a_left_out_mention_keeps_another_likely_reading_as_its_only_code():
    # R52 scores 0.05, under the threshold 0.1: the mention is left out as read; its candidate
    # R07.9 (0.38) clears the other readings' 0.3, so the mention stays with that code alone
    # and no candidates (the reasoner codes nothing from it).
    model = _logistic({"depth": 3.0, "rank": -0.5}, bias=-12.0, nil=0.1)
    listing = model.model_copy(update={"other_threshold": 0.3})
    out = rerank_mentions([_mention(PAIN, CHEST)], _chart(), listing)
    assert [(m.codes, m.candidates) for m in out] == [(["R07.9"], [])]
    # Without other readings, or when the other is not likely enough, it is left out.
    assert rerank_mentions([_mention(PAIN, CHEST)], _chart(), model) == []
    strict = model.model_copy(update={"other_threshold": 0.5})
    assert rerank_mentions([_mention(PAIN, CHEST)], _chart(), strict) == []
    # Never a sibling of a kept reading; the chart's order of mentions holds.
    kept = _mention(CATEGORY, text="pleuritic pain", assertion="historical")
    out = rerank_mentions([_mention(PAIN, CHEST), kept], _chart(), listing)
    assert [m.codes for m in out] == [["R07"]]
    lists = [(["R52", "R07.9", "N23"], [0.01, 0.5, 0.7], None), (["N20.0"], [0.9], 0)]
    assert other_readings(lists, 0.4) == [[2], []]


def test_without_a_model_or_when_turned_off_nothing_changes(monkeypatch):
    mentions = [_mention(PAIN, CHEST)]
    monkeypatch.setattr("agent.rerank.load_reranker", lambda: None)
    assert rerank_mentions(mentions, _chart()) == mentions
    monkeypatch.setenv("CODESENSE_RERANKER", "off")
    monkeypatch.setattr("agent.rerank.load_reranker", lambda: _logistic({"rank": 5.0}, bias=0.0))
    assert rerank_mentions(mentions, _chart()) == mentions


def _semantic(code: str, similarity: float, text: str = "pain") -> Candidate:
    start = NOTE.index(text)
    return Candidate(
        code=code,
        term=code,
        origin="semantic",
        score=similarity,
        span=(start, start + len(text)),
    )


def _phrase(*candidates: Candidate, text: str) -> Mention:
    """A phrase the term index matched nothing in: semantic candidates only, no reading yet."""
    return _mention(*candidates, text=text).model_copy(update={"codes": []})


def test_semantic_candidates_never_change_the_term_rows():
    plain = [_mention(CHEST), _mention(CATEGORY, PAIN, text="pleuritic pain")]
    with_sem = [
        _mention(CHEST, _semantic("R07.1", 0.8), _semantic("R52", 0.7)),
        plain[1],
        _phrase(_semantic("R06.00", 0.6, "deep breathing"), text="deep breathing"),
    ]
    before = candidate_features(plain, {"d1": NOTE})
    after = candidate_features(with_sem, {"d1": NOTE})
    assert np.array_equal(before[0], after[0][:1]) and np.array_equal(before[1], after[1])
    col = {f: i for i, f in enumerate(STATIC_FEATURES)}
    sem = after[0][1:]
    assert sem[:, col["origin_semantic"]].tolist() == [1.0, 1.0]
    assert sem[:, col["similarity"]].tolist() == [0.8, 0.7]
    assert sem[:, col["sem_rank"]].tolist() == [0.0, 1.0]
    # R07.1 shares its category with the mention's own term candidate R07.9; R52 is a term
    # candidate of another mention of the chart.
    assert sem[:, col["term_category"]].tolist() == [1.0, 0.0]
    assert sem[0, col["term_elsewhere"]] == 0 and sem[1, col["term_elsewhere"]] > 0
    assert after[2][0, col["phrase"]] == 1.0 and after[0][1, col["phrase"]] == 0.0
    assert before[0][:, col["origin_semantic"]].tolist() == [0.0]


def _with_semantic_model(nil: float = 0.5) -> Reranker:
    term = _logistic({"rank": -1.0}, bias=1.0)
    return term.model_copy(update={"semantic": _logistic({"similarity": 10.0}, -6.0, nil)})


def test_a_semantic_candidate_becomes_a_reading_only_through_the_semantic_model():
    model = _with_semantic_model()
    chest = _mention(PAIN, CHEST, _semantic("R06.89", 0.3), _semantic("R07.1", 0.9))
    breathing = _phrase(
        _semantic("R06.00", 0.5, "deep breathing"),
        _semantic("R06.89", 0.9, "deep breathing"),
        text="deep breathing",
    )
    out = rerank_mentions([chest, breathing], _chart(), model)
    # The term reading stays first; R07.1 (0.95) is added; R06.89 (0.95) reads the phrase,
    # whose evidence is its own span; a second R06 code would be that reading's rival.
    assert [m.codes for m in out] == [["R52", "R07.1"], ["R06.89"]]
    assert (out[1].start, out[1].end) == (breathing.start, breathing.end)
    assert NOTE[out[1].start : out[1].end] == "deep breathing"
    assert [c.code for c in out[0].candidates] == ["R52", "R07.9", "R07.1", "R06.89"]
    assert out[1].candidates[0].code == "R06.89"
    # Below the semantic threshold: nothing is added, and the phrase is left out.
    strict = _with_semantic_model(nil=0.99)
    out = rerank_mentions([chest, breathing], _chart(), strict)
    assert [m.codes for m in out] == [["R52"]]
    # Without a semantic model the semantic candidates are never read.
    plain = _logistic({"rank": -1.0}, bias=1.0)
    assert [m.codes for m in rerank_mentions([chest, breathing], _chart(), plain)] == [["R52"]]


def test_semantic_readings_one_a_mention_best_first_a_category_once():
    lists = [
        (["R07.1", "R06.00"], [0.6, 0.7], ["R52"]),
        (["R06.89", "K21.9"], [0.9, 0.8], []),
        (["R52", "K21.0"], [0.99, 0.75], ["R07.9"]),
    ]
    # R06.89 (0.9) reads the second; R06.00 is its rival and R07 is read by the third mention,
    # so the first gets none; K21.0 reads the third (its K21.9 rival went to no one).
    assert semantic_readings(lists, 0.5) == [None, 0, 1]
    assert semantic_readings(lists, 0.95) == [None, None, None]
