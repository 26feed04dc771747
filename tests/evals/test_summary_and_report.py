"""Every figure of a run from hand-made records, and the report written from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.calibrate import calibrated, fit
from evals.report import CHAPTERS_PNG, RELIABILITY_PNG, THRESHOLDS_PNG, write_report
from evals.runner import ChartRecord, MentionRecord, PhraseRecord, RunInfo, SuggestionRecord
from evals.summary import lowest_precise_threshold, summarise


def _mention(code: str, *candidates: str, assertion: str = "present") -> MentionRecord:
    return MentionRecord(
        start=0,
        end=4,
        assertion=assertion,
        section="unknown",
        codes=[code],
        candidates=[code, *candidates],
    )


def _suggestion(code: str, confidence: float, status: str, valid: bool = True) -> SuggestionRecord:
    return SuggestionRecord(
        code=code,
        confidence=confidence,
        status=status,
        features={},
        evidence_valid=valid,
        mentions=1,
    )


@pytest.fixture(scope="module")
def records() -> list[ChartRecord]:
    return [
        ChartRecord(
            id="a",
            gold=["E119", "R599", "T1490"],
            # Negated mentions count in all-mentions mode; R59.1 is a near miss for R59.9.
            mentions=[
                _mention("E11.9"),
                _mention("R59.1", "R59.9"),
                _mention("T14.90XA", assertion="negated"),
            ],
            suggestions=[
                _suggestion("E11.9", 0.9, "auto"),
                _suggestion("R59.1", 0.4, "review"),
            ],
            route="review",
            latency_s=0.2,
        ),
        ChartRecord(
            id="b",
            gold=["K3580", "W19XXX"],  # W19.XXX is not a 2026 code: left out of valid gold
            mentions=[_mention("I10")],
            phrases=[PhraseRecord(start=5, end=9, candidates=["K35.80"])],
            suggestions=[_suggestion("I10", 0.8, "auto", valid=False)],
            route="auto",
            latency_s=0.4,
        ),
        ChartRecord(id="c", gold=["I10"], error="empty text"),
    ]


def test_scorings_modes_and_candidates(records: list[ChartRecord]):
    s = summarise(records, RunInfo(dataset="t", fingerprint="x", setting="outpatient"))
    assert (s.charts, s.errors, s.gold_codes, s.valid_gold_codes) == (2, 1, 5, 4)
    valid = s.scorings["all-mentions"]["valid gold"].micro
    # Predicted E11.9, R59.1, T14.90XA, I10 against E11.9, R59.9, T14.90, K35.80.
    assert (valid.tp, valid.fp, valid.fn) == (2, 2, 2)
    exact = s.scorings["all-mentions"]["valid gold, exact"].micro
    assert exact.tp == 1  # T14.90XA is not T14.90 character for character
    guideline = s.scorings["guidelines"]["valid gold"].micro
    assert (guideline.tp, guideline.fp) == (1, 2)
    assert s.scorings["all-mentions"]["category"].micro.tp == 3
    assert s.recall_at_k[1] == pytest.approx(0.75)  # the phrase's K35.80 counts
    assert s.recall_at_k[10] == pytest.approx(1.0)
    assert s.near_misses == 1 and s.near_miss_pairs[0][:2] == ("R599", "R591")


def test_a_gold_category_of_today_is_read_by_a_code_beneath_it():
    # CodiEsp's "R51" (headache) is a category in 2026: R51.9 reads it in the headline scoring,
    # and in suggestion correctness; "categories as written" keeps the old, stricter figure.
    record = ChartRecord(
        id="h",
        gold=["R51"],
        mentions=[_mention("R51.9")],
        suggestions=[_suggestion("R51.9", 0.7, "review")],
        route="review",
        latency_s=0.1,
    )
    s = summarise([record], RunInfo(dataset="t", fingerprint="x", setting="outpatient"))
    read = s.scorings["all-mentions"]["valid gold"].micro
    written = s.scorings["all-mentions"]["valid gold, categories as written"].micro
    assert (read.tp, read.fp, read.fn) == (1, 0, 0)
    assert (written.tp, written.fp, written.fn) == (0, 1, 1)
    assert (s.routing.right_codes, s.routing.wrong_codes) == (1, 0)


def test_evidence_routing_calibration_and_latency(records: list[ChartRecord]):
    s = summarise(
        records,
        RunInfo(
            dataset="t",
            fingerprint="x",
            setting="outpatient",
            wall_s=1.0,
            charts_timed=2,
            workers=2,
        ),
    )
    assert s.evidence_validity == pytest.approx(2 / 3, abs=1e-4)
    assert s.routing.chart_routes == {"auto": 0.5, "review": 0.5}
    # Wrong: R59.1 (caught, review) and I10 (auto, slipped through).
    assert (s.routing.wrong_codes, s.routing.wrong_caught) == (2, 1)
    assert (s.routing.right_codes, s.routing.right_held) == (1, 0)
    assert s.calibration.codes == 3
    assert s.latency.charts_per_s == 2.0 and s.latency.workers == 2
    chapters = {c.chapter: c for c in s.chapters}
    assert chapters["4"].f1 == 1.0 and chapters["11"].recall == 0.0


def test_report_has_the_tables_and_plots(records: list[ChartRecord], tmp_path: Path):
    s = summarise(records, RunInfo(dataset="t", fingerprint="x", setting="outpatient"))
    path = write_report(s, tmp_path, command="codesense eval t")
    text = path.read_text(encoding="utf-8")
    for needle in (
        "| all-mentions | valid gold |",
        "recall",
        "Expected calibration error",
        "codesense eval t",
    ):
        assert needle in text
    for png in (RELIABILITY_PNG, CHAPTERS_PNG, THRESHOLDS_PNG):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "summary.json").is_file()


def test_lowest_precise_threshold():
    confs = [0.95] * 30 + [0.7] * 30
    right = [True] * 29 + [False] + [True] * 15 + [False] * 15
    assert lowest_precise_threshold(confs, right) == 0.95
    assert lowest_precise_threshold([0.5] * 30, [False] * 30) is None


def test_logistic_fit_recovers_probabilities():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, size=(4000, 1))
    p_true = 1 / (1 + np.exp(-(4 * x[:, 0] - 2)))
    y = (rng.uniform(size=4000) < p_true).astype(float)
    weights, bias = fit(x, y, l2=0.01)
    assert weights[0] == pytest.approx(4, abs=0.5) and bias == pytest.approx(-2, abs=0.3)
    from agent.scoring import Calibration

    model = Calibration(features=["match"], weights=[float(weights[0])], bias=bias)
    probs = calibrated(model, x)
    assert float(np.mean(np.abs(np.asarray(probs) - p_true))) < 0.05
