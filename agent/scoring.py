"""A first confidence score per code and the route per chart (a documented heuristic).

Confidence starts from how well the chart's words matched the code's term (tightness of the match
and its source), then rises with where the diagnosis was stated (an assessment or discharge
diagnosis counts more than a review of systems) and with repeated support, and falls with every
validation warning, a repaired or OCR'd PDF, and an uncertain diagnosis coded as established.
The weights are hand-set; a calibrated mapping fitted on labelled charts replaces them later.

    confidence = 0.30 + 0.35 * match + 0.25 * section + 0.05 * extra_support - penalties

A code's status: `escalate` when validation failed, `review` below the auto threshold or when a
check asked for review, else `auto`. The chart's route is the most severe of its codes' statuses
and its own escalations.
"""

from __future__ import annotations

from agent.schema import Escalation, Route
from tools.mentions import Mention
from tools.validate import RuleCheck

_SEVERITY: dict[Route, int] = {"auto": 0, "review": 1, "escalate": 2}


def confidence(
    match_score: float,
    mentions: list[Mention],
    section_weights: list[float],
    checks: list[RuleCheck],
    document_penalty: float = 0.0,
) -> float:
    section = max(section_weights, default=0.5)
    support = min(len(mentions) - 1, 2) / 2 if mentions else 0.0
    score = 0.30 + 0.35 * match_score + 0.25 * section + 0.05 * support
    warnings = sum(1 for c in checks if c.result == "warn")
    score -= min(0.1 * warnings, 0.2)
    if any(c.result == "fail" for c in checks):
        score = min(score, 0.3)
    if any(m.assertion == "possible" for m in mentions):
        score -= 0.15
    score -= document_penalty
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


def chart_route(statuses: list[Route], escalations: list[Escalation]) -> Route:
    route: Route = "auto"
    for s in statuses:
        if _SEVERITY[s] > _SEVERITY[route]:
            route = s
    if escalations:
        route = "escalate"
    return route
