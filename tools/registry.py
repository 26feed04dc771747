"""The deterministic tools a model may call, each with a name, a description and the JSON schema
of its pydantic input.

Every tool is a plain function `(ToolContext, input model) -> output model` over data we hold: the
term index, the chart's numbered spans, the rule packs, the code set. A model's call arrives as a
name and a JSON string; `call_tool` parses it against the tool's input model and returns JSON for
the model plus a record for the audit log (name, hashes, codes, never text). Bad arguments, an
unknown tool or an unknown code come back to the model as an error object, never as an
exception: the model may try again within its budget of calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.codes import is_code, normalize
from core.contract import RuleCheck, Setting
from core.errors import CodeSenseError, UnknownCode
from tools.chart import Chart
from tools.codeset import CodeSet
from tools.evidence import cite, evidence_context
from tools.lookup import TermIndex
from tools.rule_lookup import RuleLookupInput, lookup_rules
from tools.rules.load import RuleSet
from tools.spans import ChartView
from tools.untrusted import visible_text
from tools.validate import ProposedCode, ValidateInput, validate_codes

MAX_LIST = 25


@dataclass
class ToolContext:
    """What the tools of one chart work on."""

    chart: Chart
    view: ChartView
    index: TermIndex
    rules: RuleSet
    setting: Setting
    codes: CodeSet = field(default_factory=CodeSet.load)


class ToolInput(BaseModel):
    # A model that invents an argument gets told so instead of having it silently ignored.
    model_config = ConfigDict(extra="forbid")


# -- find candidate codes for a phrase --------------------------------------------------------


class FindCodesInput(ToolInput):
    phrase: str = Field(
        description="words from the chart or a condition, e.g. 'type 2 DM w CKD 3a'"
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIST)


class CodeHit(BaseModel):
    code: str
    description: str
    billable: bool
    term: str = ""
    origin: str = ""


class FindCodesOutput(BaseModel):
    candidates: list[CodeHit]


def find_codes(ctx: ToolContext, inp: FindCodesInput) -> FindCodesOutput:
    """Find candidate ICD-10-CM codes for a phrase in the term index (tabular titles, inclusion
    terms, index tables, the project's lexicon), best and most specific first."""
    hits = []
    for cand in ctx.index.lookup(inp.phrase[:300], max_candidates=inp.limit):
        info = ctx.codes.get(cand.code)
        hits.append(
            CodeHit(
                code=info.code,
                description=info.description,
                billable=info.billable,
                term=cand.term,
                origin=cand.origin,
            )
        )
    return FindCodesOutput(candidates=hits)


# -- fetch a span with its sentence and section -------------------------------------------------


class GetSpanInput(ToolInput):
    span_id: int = Field(description="a span id from the data block")


class SpanOutput(BaseModel):
    span_id: int
    section: str
    page: int
    text: str
    sentence: str
    instruction_like: bool
    previous_span_id: int | None
    next_span_id: int | None


def get_span(ctx: ToolContext, inp: GetSpanInput) -> SpanOutput:
    """Fetch one span of the chart: its visible text, its whole sentence, section and page, and
    the ids of the spans before and after it."""
    span = ctx.view.span(inp.span_id)
    if span is None:
        raise CodeSenseError(f"no span {inp.span_id}; ids run from 1 to {len(ctx.view.spans)}")
    evidence = cite(ctx.chart, span.doc_id, span.start, span.end)
    around = evidence_context(ctx.chart, evidence)
    doc = ctx.chart.document(span.doc_id)
    n = len(ctx.view.spans)
    return SpanOutput(
        span_id=span.id,
        section=span.section,
        page=span.page,
        text=span.text,
        # Only what a reader sees: the sentence may run through hidden PDF text.
        sentence=visible_text(doc, around.sentence_start, around.sentence_end).strip(),
        instruction_like=span.instruction_like,
        previous_span_id=span.id - 1 if span.id > 1 else None,
        next_span_id=span.id + 1 if span.id < n else None,
    )


# -- look up rules by code and by meaning --------------------------------------------------------


class FindRulesInput(ToolInput):
    query: str | None = Field(
        default=None, description="a situation in words, e.g. 'cough with pneumonia'"
    )
    code: str | None = Field(default=None, description="rules that name this code")
    limit: int = Field(default=5, ge=1, le=MAX_LIST)


class RuleFound(BaseModel):
    id: str
    title: str
    citation: str
    kind: str
    severity: str
    setting: str


class FindRulesOutput(BaseModel):
    rules: list[RuleFound]


def find_rules(ctx: ToolContext, inp: FindRulesInput) -> FindRulesOutput:
    """Look up the coding rules (ICD-10-CM Official Guidelines, code edits, payer rules) that name
    a code or match a situation by meaning, best first, each with its citation."""
    if not inp.query and not inp.code:
        raise CodeSenseError("give a query, a code or both")
    found = lookup_rules(
        RuleLookupInput(query=inp.query, code=inp.code, setting=ctx.setting, limit=inp.limit),
        ctx.rules,
    )
    return FindRulesOutput(
        rules=[
            RuleFound(
                id=h.id,
                title=h.title,
                citation=h.citation,
                kind=h.kind,
                severity=h.severity,
                setting=h.setting,
            )
            for h in found.hits
        ]
    )


# -- validate a code list ---------------------------------------------------------------------


class ValidateCodesInput(ToolInput):
    codes: list[str] = Field(description="ICD-10-CM codes, principal first", max_length=50)


class CodeChecked(BaseModel):
    proposed: str
    code: str | None = Field(description="the code after safe fixes; null when it cannot stand")
    description: str
    needs_review: bool
    checks: list[RuleCheck]


class ValidateCodesOutput(BaseModel):
    codes: list[CodeChecked]
    conflicts: list[RuleCheck]


def check_codes(ctx: ToolContext, inp: ValidateCodesInput) -> ValidateCodesOutput:
    """Validate a code list: existence in the code set, billability and 7th characters,
    Excludes1 conflicts, manifestation sequencing, code-first and use-additional notes, and the
    rule packs' checks; each code comes back with its checks and the code after safe fixes."""
    proposed = [
        ProposedCode(code=normalize(c), role="principal" if n == 0 else "secondary")
        for n, c in enumerate(inp.codes[:50])
    ]
    out = validate_codes(ValidateInput(codes=proposed, setting=ctx.setting), rules=ctx.rules)
    return ValidateCodesOutput(
        codes=[
            CodeChecked(
                proposed=c.proposed,
                code=c.code,
                description=c.description,
                needs_review=c.needs_review,
                checks=c.checks,
            )
            for c in out.codes
        ],
        conflicts=out.conflicts,
    )


# -- walk the code set ----------------------------------------------------------------------------


class WalkCodeSetInput(ToolInput):
    code: str = Field(description="a code, category or block, e.g. 'E11.2' or 'E08-E13'")
    relation: Literal["entry", "children", "siblings", "notes"] = Field(
        default="entry",
        description="entry: the code itself; children / siblings: the codes below it or beside "
        "it; notes: its instructional notes (excludes, code first, use additional, 7th "
        "characters), inherited ones included",
    )


class CodeRow(BaseModel):
    code: str
    description: str
    billable: bool


class NoteRow(BaseModel):
    kind: str
    text: str
    origin: str


class WalkCodeSetOutput(BaseModel):
    code: str
    description: str
    billable: bool
    parent: str | None
    codes: list[CodeRow] = Field(default_factory=list)
    notes: list[NoteRow] = Field(default_factory=list)
    seventh_character: dict[str, str] = Field(default_factory=dict)


def walk_code_set(ctx: ToolContext, inp: WalkCodeSetInput) -> WalkCodeSetOutput:
    """Walk the ICD-10-CM tabular list: one entry and, as asked, its children, its siblings or
    its instructional notes."""
    info = ctx.codes.get(inp.code)
    related: list[str] = []
    if inp.relation == "children":
        related = info.children
    elif inp.relation == "siblings" and info.parent:
        related = [c for c in ctx.codes.get(info.parent).children if c != info.code]
    out = WalkCodeSetOutput(
        code=info.code,
        description=info.description,
        billable=info.billable,
        parent=info.parent,
        codes=[_row(ctx.codes, c) for c in related[: MAX_LIST * 2]],
    )
    if inp.relation == "notes":
        out.notes = [NoteRow(kind=n.kind, text=n.text, origin=n.origin) for n in info.notes]
        out.seventh_character = info.seventh_character
    return out


def _row(codes: CodeSet, code: str) -> CodeRow:
    info = codes.get(code)
    return CodeRow(code=info.code, description=info.description, billable=info.billable)


# -- check codes someone assigned (Audit Sentinel) ------------------------------------------------


class CheckAssignedInput(ToolInput):
    codes: list[str] = Field(
        description="ICD-10-CM codes already assigned to this chart, first-listed first",
        min_length=1,
        max_length=50,
    )


class AssignedFinding(BaseModel):
    code: str
    kind: str
    severity: str
    message: str
    suggested: list[str]
    quotes: list[str]
    rules: list[str] = Field(description="rule id: citation")


class CheckAssignedOutput(BaseModel):
    risk: float
    supported_codes: list[str]
    findings: list[AssignedFinding]


def check_assigned_codes(ctx: ToolContext, inp: CheckAssignedInput) -> CheckAssignedOutput:
    """Check codes already assigned to this chart against its documentation (Audit Sentinel):
    each finding is unsupported, missed, specificity, conflict (Excludes1), combination,
    incomplete (not billable, 7th character), sequencing or hcc_meat, with the chart text and
    the guideline it rests on, and the chart's risk score."""
    # Sentinel codes the chart with the whole graph, which itself uses this registry.
    from agent.sentinel import audit_offline

    out = audit_offline(ctx.chart, inp.codes, ctx.setting, ctx.index, ctx.rules)
    return CheckAssignedOutput(
        risk=out.risk,
        supported_codes=out.supported_codes,
        findings=[
            AssignedFinding(
                code=f.code,
                kind=f.kind,
                severity=f.severity,
                message=f.message,
                suggested=f.suggested,
                quotes=[e.quote for e in f.evidence[:3]],
                rules=[f"{r.id}: {r.citation}" for r in f.rules],
            )
            for f in out.findings[:MAX_LIST]
        ],
    )


# -- the registry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[ToolInput]
    run: Callable[[ToolContext, Any], BaseModel]

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the tool's input, as a model's function definition takes it."""
        return self.input_model.model_json_schema()


def _describe(fn: Callable[..., Any]) -> str:
    return " ".join((fn.__doc__ or "").split())


TOOLS: tuple[Tool, ...] = (
    Tool("find_codes", _describe(find_codes), FindCodesInput, find_codes),
    Tool("get_span", _describe(get_span), GetSpanInput, get_span),
    Tool("find_rules", _describe(find_rules), FindRulesInput, find_rules),
    Tool("validate_codes", _describe(check_codes), ValidateCodesInput, check_codes),
    Tool("walk_code_set", _describe(walk_code_set), WalkCodeSetInput, walk_code_set),
    Tool(
        "check_assigned_codes",
        _describe(check_assigned_codes),
        CheckAssignedInput,
        check_assigned_codes,
    ),
)


class ToolRecord(BaseModel):
    """One tool call as the audit log keeps it: which tool, the hashes, the codes it was about."""

    name: str
    arguments_sha256: str
    output_sha256: str
    ok: bool
    codes: list[str] = Field(default_factory=list)


class Registry:
    """The tools a model may call, by name; `extra` adds tools defined elsewhere."""

    def __init__(self, extra: tuple[Tool, ...] = ()) -> None:
        self.tools: dict[str, Tool] = {t.name: t for t in (*TOOLS, *extra)}

    def specs(self) -> list[dict[str, Any]]:
        """Function definitions in the shape OpenAI-compatible endpoints take."""
        return [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters(),
                },
            }
            for t in self.tools.values()
        ]

    def call(self, ctx: ToolContext, name: str, arguments: str) -> tuple[str, ToolRecord]:
        """Run the named tool on a model's JSON arguments: (JSON for the model, audit record)."""
        tool = self.tools.get(name)
        ok = False
        codes: list[str] = []
        if tool is None:
            body: dict[str, Any] = {"error": f"unknown tool; available: {', '.join(self.tools)}"}
        else:
            try:
                inp = tool.input_model.model_validate_json(arguments or "{}")
                codes = _codes_in(inp)
                body = tool.run(ctx, inp).model_dump(mode="json")
                ok = True
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "arguments"
                body = {"error": f"invalid arguments: {where}: {first['msg']}"}
            except (UnknownCode, CodeSenseError) as err:
                body = {"error": str(err)}
        output = json.dumps(body, ensure_ascii=False)
        record = ToolRecord(
            name=name if tool is not None else "unknown_tool",
            arguments_sha256=_sha256(arguments or ""),
            output_sha256=_sha256(output),
            ok=ok,
            codes=codes,
        )
        return output, record


def _codes_in(inp: BaseModel) -> list[str]:
    values: list[str] = []
    for value in inp.model_dump().values():
        items = value if isinstance(value, list) else [value]
        values.extend(normalize(v) for v in items if isinstance(v, str) and is_code(normalize(v)))
    return sorted(set(values))


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
