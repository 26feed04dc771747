"""The output contract (schema version 1): what integrators, the API and the CLI's JSON receive.

Fields keep their meaning across releases; new fields may be added. A suggestion without evidence
is not representable: `evidence` has at least one span.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.edits import DrgSummary, HccFlag
from tools.evidence import Evidence
from tools.validate import RuleCheck

SCHEMA_VERSION = 1

Route = Literal["auto", "review", "escalate"]
Setting = Literal["outpatient", "inpatient"]
Assertion = Literal["present", "negated", "possible", "historical", "family", "hypothetical"]


class Escalation(BaseModel):
    reason: str
    detail: str


class Suggestion(BaseModel):
    code: str
    system: Literal["ICD-10-CM"] = "ICD-10-CM"
    description: str
    role: Literal["principal", "secondary"]
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
