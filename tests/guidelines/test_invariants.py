"""No suggested code rests on a negated, family, hypothetical or outpatient-uncertain mention:
on the sample charts, and the checker itself catches a violation."""

from __future__ import annotations

import pytest

from agent.guidelines.invariants import non_asserted_support
from core.contract import ChartResult, Evidence, MentionOut, Suggestion
from tests.conftest import ADMIN, EXAMPLES


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("clinic_progress_note.txt", "outpatient"),
        ("ed_note.txt", "outpatient"),
        ("radiology_report.txt", "outpatient"),
        ("discharge_summary.txt", "inpatient"),
        ("clinic_followup.pdf", "outpatient"),
    ],
)
def test_examples_code_nothing_from_non_asserted_mentions(service, name, setting):
    result = service.code_file(ADMIN, EXAMPLES / name, setting=setting)
    assert result.suggestions
    assert non_asserted_support(result) == []


def _result(setting: str, assertion: str, code: str) -> ChartResult:
    span = Evidence(doc_id="d", page=1, start=0, end=12, quote="colon cancer", section="x")
    return ChartResult(
        chart_id="c",
        run_id="r",
        setting=setting,  # type: ignore[arg-type]
        code_set="ICD-10-CM 2026-04",
        rules_version="sha256:x",
        reasoner="test",
        route="review",
        suggestions=[
            Suggestion(
                code=code,
                description="",
                role="principal",
                confidence=0.5,
                status="review",
                evidence=[span],
                rationale="",
            )
        ],
        mentions=[
            MentionOut(
                text="colon cancer",
                doc_id="d",
                start=0,
                end=12,
                assertion=assertion,  # type: ignore[arg-type]
                section="x",
                codes=["C18.9"],
            )
        ],
    )


def test_the_checker_finds_violations():
    assert len(non_asserted_support(_result("outpatient", "negated", "C18.9"))) == 1
    assert len(non_asserted_support(_result("outpatient", "family", "C18.9"))) == 1
    assert non_asserted_support(_result("outpatient", "family", "Z80.0")) == []
    assert len(non_asserted_support(_result("outpatient", "possible", "C18.9"))) == 1
    assert non_asserted_support(_result("inpatient", "possible", "C18.9")) == []
    assert non_asserted_support(_result("outpatient", "historical", "Z85.038")) == []
