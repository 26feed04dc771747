"""Confidence per code, calibrated on labelled charts, and the route per chart.

A code's confidence is the probability that a coder would agree with it, read off a logistic model
over features of the draft: how well the chart's words matched the code's term and where that term
comes from, where the diagnosis was stated and how often, how ambiguous the mention was, the
validation warnings and document problems against it, and how often the code itself was right
when suggested on the labelled charts (smoothed towards the overall rate for rare codes). The model's weights are fitted on CodiEsp
train by `evals/calibrate.py` and shipped in `data/calibration.json`; without that file a hand-set
heuristic stands in:

    confidence = 0.30 + 0.35 * match + 0.25 * section + 0.05 * extra_support - penalties

A code's status: `escalate` when validation failed, `review` below the auto threshold or when a
check asked for review, else `auto`. The chart's route is the most severe of its codes' statuses
and its own escalations. Thresholds come from settings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from agent.state import DraftSuggestion
from core.contract import Escalation, Route, RuleCheck
from tools.extract.sections import section_weight
from tools.mentions import Mention

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "calibration.json"

_SEVERITY: dict[Route, int] = {"auto": 0, "review": 1, "escalate": 2}


@dataclass(frozen=True, slots=True)
class ConfidenceFeatures:
    """What the confidence of one drafted code rests on: the code, and numbers for the model."""

    code: str
    match: float  # tightness x source of the best term match, 0-1
    origin_lexicon: float
    origin_title: float
    origin_inclusion: float
    origin_index: float
    origin_semantic: float
    section: float  # the strongest section weight among its mentions
    support: float  # log(1 + number of mentions)
    margin: float  # best score minus the runner-up's for the same mention
    residual: float  # the term is an "Other ..." / "Unspecified ..." residual
    symptom: float  # chapter 18 symptom code
    words: float  # content words the mention matched, capped at 5
    possible: float  # an uncertain mention coded as established
    warnings: float
    failed: float
    penalty: float  # repaired PDF, OCR

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items() if k != "code"}


class Calibration(BaseModel):
    """A logistic model from features to the probability a code is right (`data/calibration.json`)."""

    version: int = 1
    features: list[str]
    weights: list[float]
    bias: float
    fitted_on: str = ""
    charts: int = 0
    codes: int = 0
    ece: dict[str, float] = Field(default_factory=dict)
    auto_threshold: float | None = None
    # How often each code was right when suggested in the fitting run ([right, suggested]), the
    # share right over all codes, and how many codes' worth of that share a code's own record is
    # blended with: "hypertension" -> I10 is nearly always right, a bare "tumor" -> D49.9 never.
    code_record: dict[str, tuple[int, int]] = Field(default_factory=dict)
    base_rate: float = 0.5
    prior_strength: float = 5.0

    def code_prior(self, code: str) -> float:
        """The code's smoothed share right, as log-odds (the model's `code_prior` feature)."""
        right, seen = self.code_record.get(code, (0, 0))
        return prior_logit(right, seen, self.base_rate, self.prior_strength)

    def probability(self, features: ConfidenceFeatures) -> float:
        values = features.as_dict()
        values["code_prior"] = self.code_prior(features.code)
        z = self.bias + sum(
            w * values.get(n, 0.0) for n, w in zip(self.features, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def prior_logit(right: int, seen: int, base_rate: float, strength: float) -> float:
    share = (right + strength * base_rate) / (seen + strength)
    share = min(max(share, 1e-3), 1 - 1e-3)
    return math.log(share / (1 - share))


@lru_cache(maxsize=2)
def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration | None:
    if not path.is_file():
        return None
    return Calibration.model_validate_json(path.read_bytes())


def features_for_draft(
    draft: DraftSuggestion, mentions: list[Mention], document_penalty: float = 0.0
) -> ConfidenceFeatures:
    """The confidence features of one draft, from the mentions it rests on and its checks."""
    supporting = [mentions[i] for i in draft.decision.mention_ids]
    code = draft.decision.code
    best = None
    margin = 1.0
    for m in supporting:
        for rank, cand in enumerate(m.candidates):
            if cand.code != code:
                continue
            if best is None or cand.score > best.score:
                best = cand
                others = [c.score for j, c in enumerate(m.candidates) if j != rank]
                margin = cand.score - max(others, default=0.0)
            break
    origin = best.origin if best is not None else "title"
    term = (best.term if best is not None else "").lower()
    checks = draft.checks
    words = max((len(m.text.split()) for m in supporting), default=1)
    return ConfidenceFeatures(
        code=draft.code,
        match=draft.decision.match_score,
        origin_lexicon=float(origin == "lexicon"),
        origin_title=float(origin == "title"),
        origin_inclusion=float(origin == "inclusion"),
        origin_index=float(origin == "index"),
        origin_semantic=float(origin == "semantic"),
        section=max((section_weight(m.section) for m in supporting), default=0.5),
        support=math.log1p(len(supporting)),
        margin=round(max(min(margin, 1.0), -1.0), 3),
        residual=float(term.startswith(("other", "unspecified"))),
        symptom=float(code.startswith("R")),
        words=float(min(words, 5)),
        possible=float(any(m.assertion == "possible" for m in supporting)),
        warnings=float(sum(1 for c in checks if c.result == "warn")),
        failed=float(any(c.result == "fail" for c in checks)),
        penalty=document_penalty,
    )


def confidence(features: ConfidenceFeatures, calibration: Calibration | None = None) -> float:
    """The calibrated probability that the code is right, or the heuristic without a model."""
    model = calibration or load_calibration()
    if model is not None:
        # Text charts teach the model nothing about repaired PDFs or OCR: their penalty stays
        # the hand-set one, taken off the probability. A failed check is one of the model's
        # features (on CodiEsp half of such codes are right): routing, not the score, holds them.
        score = model.probability(features) - features.penalty
        return round(min(max(score, 0.01), 0.99), 3)
    return heuristic_confidence(features)


def heuristic_confidence(f: ConfidenceFeatures) -> float:
    """The hand-set score used before calibration, kept as the fallback."""
    support = min(math.expm1(f.support) - 1, 2) / 2
    score = 0.30 + 0.35 * f.match + 0.25 * f.section + 0.05 * support
    score -= min(0.1 * f.warnings, 0.2)
    if f.failed:
        score = min(score, 0.3)
    if f.possible:
        score -= 0.15
    score -= f.penalty
    return round(min(max(score, 0.01), 0.99), 3)


def code_status(
    score: float, checks: list[RuleCheck], needs_review: bool, auto: float, review: float
) -> Route:
    if any(c.result == "fail" for c in checks) and needs_review:
        return "escalate" if score < review else "review"
    if score < review:
        return "escalate"
    if needs_review or score < auto:
        return "review"
    return "auto"


def chart_route(
    statuses: list[Route], escalations: list[Escalation]
) -> tuple[Route, list[Escalation]]:
    """The chart's route and its escalations: the most severe code status; `review` with the
    escalation `no_codes` when nothing was coded; `escalate` when any other escalation stands
    (unreadable pages, evidence refused, a reasoner that failed)."""
    escalations = list(escalations)
    route: Route = max(statuses, key=_SEVERITY.__getitem__, default="auto")
    if not statuses:
        route = "review"
        escalations.append(
            Escalation(reason="no_codes", detail="no diagnosis asserted for coding was found")
        )
    if any(e.reason != "no_codes" for e in escalations):
        route = "escalate"
    return route, escalations
