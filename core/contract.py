"""The output contract (schema version 1): what integrators, the API, Slack and the CLI receive.

Every type a chart result is made of lives here and nowhere else, so tools, the graph and the
surfaces share one definition. Fields keep their meaning across releases; new fields may be
added (see docs/output-contract.md). A suggestion without evidence is not representable:
`evidence` has at least one span.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

SCHEMA_VERSION = 1

Route = Literal["auto", "review", "escalate"]
Setting = Literal["outpatient", "inpatient"]
Assertion = Literal["present", "negated", "possible", "historical", "family", "hypothetical"]
CheckResult = Literal["pass", "warn", "fail"]
Role = Literal["principal", "secondary"]
MeatElement = Literal["monitored", "evaluated", "assessed", "treated"]
ReviewerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]


class Evidence(BaseModel):
    """A span of chart text cited for a code: `quote == document.text[start:end]`, visible."""

    doc_id: str
    page: int
    start: int
    end: int
    quote: str
    section: str


class RuleCheck(BaseModel):
    """One rule applied to a code or to the chart: the `rules` entry of a suggestion."""

    id: str
    result: CheckResult
    message: str


class DrgSummary(BaseModel):
    """The MS-DRG an inpatient chart groups to, as the grouper reports it."""

    grouper: str
    drg: int | None
    description: str | None
    mdc: int | None
    mdc_description: str | None
    severity: str
    return_code: str
    assumptions: list[str] = Field(default_factory=list)


class HccFlag(BaseModel):
    """A code that maps to a CMS-HCC category, and the MEAT evidence found for it."""

    model: str
    hcc: str
    label: str
    in_model: bool = Field(description="False when a higher HCC of its hierarchy supersedes it")
    meat: dict[MeatElement, list[Evidence]] = Field(default_factory=dict)


class Escalation(BaseModel):
    reason: str
    detail: str


class Suggestion(BaseModel):
    code: str
    system: Literal["ICD-10-CM"] = "ICD-10-CM"
    description: str
    role: Role
    confidence: float = Field(ge=0.0, le=1.0)
    status: Route
    evidence: list[Evidence] = Field(min_length=1)
    rationale: str
    rules: list[RuleCheck] = Field(default_factory=list)
    # CMS-HCC category of the code and the MEAT evidence found for it (risk adjustment).
    hcc: HccFlag | None = None


class MentionOut(BaseModel):
    text: str
    doc_id: str
    start: int
    end: int
    assertion: Assertion
    section: str
    codes: list[str]


class Query(BaseModel):
    """A documentation (CDI) query: non-leading, citing the chart's clinical indicators."""

    topic: str
    question: str
    evidence: list[Evidence] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list, description="the codes the query concerns")
    rule_id: str = ""


class AuditSummary(BaseModel):
    events: int = 0
    head: str = ""


class ChartResult(BaseModel):
    schema_version: Literal[1] = 1
    chart_id: str
    run_id: str
    setting: Setting
    code_set: str
    rules_version: str
    reasoner: str
    route: Route
    escalations: list[Escalation] = Field(default_factory=list)
    suggestions: list[Suggestion] = Field(default_factory=list)
    mentions: list[MentionOut] = Field(default_factory=list)
    queries: list[Query] = Field(default_factory=list)
    # Inpatient: the MS-DRG the codes group to (None outpatient or when no grouper rule is on).
    drg: DrgSummary | None = None
    audit: AuditSummary = Field(default_factory=AuditSummary)


class AddedCode(BaseModel):
    """A code a reviewer added: on chart evidence, or on the reviewer's stated reason."""

    code: str
    description: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str = ""


class ReviewOutcome(BaseModel):
    """The decision applied: what the reviewer kept, dropped and added, and the final codes."""

    decision_id: str
    reviewer: str
    decided_at: str
    accepted: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    added: list[AddedCode] = Field(default_factory=list)
    # Suggested codes the reviewer neither accepted nor rejected: they stand as suggested.
    undecided: list[str] = Field(default_factory=list)
    reason: str = ""
    codes: list[str] = Field(default_factory=list)


class ReviewedChartResult(ChartResult):
    """The output contract plus the human decision (a field added, none changed)."""

    review: ReviewOutcome | None = None


# --- Audit Sentinel: codes someone else assigned, checked against the documentation ----------

FindingKind = Literal[
    "unsupported",  # no present-tense support (only negated, family, historical, ...)
    "missed",  # the documentation supports a code that was not assigned
    "specificity",  # a more specific code is supported than the one assigned
    "conflict",  # an Excludes1 pair was assigned together
    "combination",  # codes assigned separately that must be one combination code
    "incomplete",  # not billable, or a 7th character missing
    "sequencing",  # the wrong principal / first-listed code
    "hcc_meat",  # an HCC code without MEAT evidence
]
Severity = Literal["high", "medium", "low"]
# How much one finding of each severity weighs in the chart risk score (see `AuditReport`).
SEVERITY_WEIGHT: dict[Severity, float] = {"high": 0.5, "medium": 0.25, "low": 0.1}


class RuleCitation(BaseModel):
    """The rule behind a finding: its id (`codesense rules show ID` for guideline rules, or a
    code-set check such as `excludes1`), where it is written, and what it says here."""

    id: str
    citation: str
    message: str


class Finding(BaseModel):
    """One problem with the assigned codes, with the chart text and the rule it rests on."""

    code: str = Field(description="the assigned code at fault, or the code missed")
    kind: FindingKind
    severity: Severity
    evidence: list[Evidence] = Field(default_factory=list)
    rules: list[RuleCitation] = Field(default_factory=list)
    message: str
    suggested: list[str] = Field(
        default_factory=list, description="the code(s) the documentation supports instead"
    )


class AssignedCode(BaseModel):
    """An assigned code as checked: its position (0 = principal / first-listed) and title."""

    code: str
    position: int = Field(ge=0)
    description: str = ""
    supported: bool = Field(description="present-tense chart support was found for it")


class AuditReport(BaseModel):
    """An Audit Sentinel report: the assigned codes, the findings, and the chart risk score.

    `risk` is 1 - prod(1 - w) over the findings, with w = 0.5 for a high, 0.25 for a medium and
    0.1 for a low severity finding (`SEVERITY_WEIGHT`): 0 when nothing was found, one high
    finding alone gives 0.5, and every further finding moves it toward 1 without reaching it.
    It orders charts for an auditor's attention; it is not a probability of a denial.
    """

    schema_version: Literal[1] = 1
    run_id: str
    chart_id: str
    setting: Setting
    assigned: list[AssignedCode]
    findings: list[Finding] = Field(default_factory=list)
    risk: float = Field(ge=0.0, le=1.0)
    supported_codes: list[str] = Field(
        default_factory=list, description="what the coder codes from the documentation, in order"
    )
    code_set: str
    rules_version: str
    reasoner: str
    versions: dict[str, str] = Field(default_factory=dict)
    source_run_id: str | None = Field(
        default=None, description="the coding run whose chart was audited, if any"
    )
    audit: AuditSummary = Field(default_factory=AuditSummary)


def risk_score(findings: list[Finding]) -> float:
    """The chart risk score of `AuditReport.risk`."""
    clean = 1.0
    for finding in findings:
        clean *= 1.0 - SEVERITY_WEIGHT[finding.severity]
    return round(1.0 - clean, 4)
