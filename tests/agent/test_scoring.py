"""Calibrated confidence: features of a draft, the fitted model shipped in data/, thresholds."""

from __future__ import annotations

from dataclasses import replace

from agent.scoring import (
    CALIBRATION_FILE,
    Calibration,
    code_status,
    confidence,
    features_for_draft,
    heuristic_confidence,
    load_calibration,
)
from agent.state import CodeDecision, DraftSuggestion
from core.contract import RuleCheck
from core.settings import Settings
from tools.lookup import Candidate
from tools.mentions import Mention


def _mention(code: str, score: float, assertion: str = "present", *others: Candidate) -> Mention:
    return Mention(
        text="type 2 diabetes with nephropathy",
        doc_id="d1",
        start=0,
        end=32,
        assertion=assertion,  # type: ignore[arg-type]
        section="assessment_plan",
        codes=[code],
        candidates=[Candidate(code=code, term="t", origin="title", score=score), *others],
        sentence_start=0,
        sentence_end=32,
    )


def _draft(code: str, ids: list[int], checks: list[RuleCheck] | None = None) -> DraftSuggestion:
    decision = CodeDecision(code=code, mention_ids=ids, rationale="r", match_score=0.9)
    return DraftSuggestion(decision=decision, code=code, description="", checks=checks or [])


def test_features_of_a_draft():
    runner_up = Candidate(code="E11.9", term="t", origin="title", score=0.5)
    mentions = [_mention("E11.21", 0.9, "present", runner_up), _mention("E11.21", 0.8, "possible")]
    warn = RuleCheck(id="x", result="warn", message="m")
    f = features_for_draft(_draft("E11.21", [0, 1], [warn]), mentions, document_penalty=0.1)
    assert f.match == 0.9 and f.origin_title == 1.0 and f.origin_lexicon == 0.0
    assert f.margin == 0.4  # 0.9 against the runner-up's 0.5
    assert f.possible == 1.0 and f.warnings == 1.0 and f.failed == 0.0
    assert f.section > 0.5 and f.penalty == 0.1 and f.words == 5.0
    assert set(f.as_dict()) >= {"match", "support", "margin", "penalty"}


def test_shipped_calibration_is_a_probability_that_rises_with_the_match():
    model = load_calibration()
    assert model is not None and CALIBRATION_FILE.is_file()
    assert len(model.features) == len(model.weights)
    assert model.ece and all(v < 0.1 for v in model.ece.values())
    weak = features_for_draft(_draft("E11.21", [0]), [_mention("E11.21", 0.3)])
    strong = features_for_draft(_draft("E11.21", [0]), [_mention("E11.21", 1.0)])
    weak = replace(weak, match=0.3)
    assert 0.0 < confidence(weak) < confidence(strong) < 1.0


def test_failed_validation_and_document_penalty_lower_confidence():
    ok = features_for_draft(_draft("E11.21", [0]), [_mention("E11.21", 1.0)])
    f = features_for_draft(
        _draft("E11.21", [0], [RuleCheck(id="x", result="fail", message="m")]),
        [_mention("E11.21", 1.0)],
    )
    assert confidence(f) < confidence(ok)
    assert heuristic_confidence(f) <= 0.3
    flat = Calibration(features=["match"], weights=[0.0], bias=0.0)  # always 0.5
    g = features_for_draft(_draft("E11.21", [0]), [_mention("E11.21", 1.0)], 0.2)
    assert confidence(g, flat) == 0.3
    assert 0.01 <= heuristic_confidence(g) <= 0.99


def test_thresholds_come_from_settings():
    s = Settings()
    assert 0 < s.review_threshold <= s.auto_threshold < 1
    assert code_status(0.99, [], False, s.auto_threshold, s.review_threshold) == "auto"
    assert code_status(s.auto_threshold - 0.01, [], False, s.auto_threshold, 0.0) == "review"
    assert code_status(0.0, [], False, 0.5, 0.1) == "escalate"
