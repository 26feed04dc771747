"""Audit Sentinel: codes someone already assigned, checked against what the documentation supports.

The chart is coded by the same graph as any chart (offline, deterministic), which says what the
documentation supports, each mention with its assertion, and how the guideline rules order and
combine the codes. The assigned codes are then compared with that, and checked on their own
with the code set (billable, 7th character, Excludes1) and the rule packs (combination codes,
sequencing), and each supported HCC code for MEAT evidence in its problem entry. Nothing here
knows a particular note: every finding comes from a mention's assertion, a code-set fact or a
rule, and cites it.

"E11.9 + N18.31" on a note saying "type 2 diabetes with CKD stage 3a" is a `combination` finding
(E11.22, Section I.A.15); "J18.9" on "possible pneumonia" in a clinic note is `unsupported`
(uncertain, outpatient: Section IV.H); "R07.9" on "denies chest pain" is `unsupported` (negated).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from agent.state import CodingState
from core.codes import is_code, normalize
from core.contract import (
    AssignedCode,
    Evidence,
    Finding,
    FindingKind,
    RuleCitation,
    Setting,
    Severity,
    Suggestion,
    risk_score,
)
from core.errors import UnknownCode
from core.settings import Settings
from tools.chart import Chart
from tools.codeset import APRIL_UPDATE_START, CODE_SET_VERSION, CodeSet
from tools.edits import EditInput, hcc_flags, meat_evidence
from tools.evidence import EvidenceError, cite
from tools.lookup import TermIndex
from tools.mentions import Mention
from tools.rules.checks import check_code_list, missed_combinations
from tools.rules.load import RuleSet
from tools.rules.schema import (
    Combine,
    Hcc,
    NeverFirst,
    Rule,
    SequenceBefore,
    SuppressAssertion,
)
from tools.rules.text import compiled

# Where the code set's own conventions are written (checks that are not rule-pack rules).
CODE_SET_CITATIONS: dict[str, str] = {
    "code.billable": "Section I.B.2 (level of detail: report codes to their full number of "
    "characters); ICD-10-CM Tabular List",
    "code.seventh_character": "Section I.A.5 (7th characters); Section I.B.2",
    "excludes1": "Section I.A.12.a (Excludes1: never coded together); ICD-10-CM Tabular List",
    "code.specificity": "Section I.B.2; Section I.A.9 (unspecified codes only when the record "
    "supports nothing more specific)",
    "code.supported": "Section III and IV (code the conditions documented as present and "
    "treated); Section I.A.19 (code assignment rests on the provider's documentation)",
    "code.missed": "Section III.B and IV.J (code all documented conditions that coexist and "
    "affect care)",
}
_FINDING_ORDER: tuple[FindingKind, ...] = (
    "incomplete",
    "conflict",
    "unsupported",
    "combination",
    "specificity",
    "sequencing",
    "hcc_meat",
    "missed",
)
MAX_CODES = 100
_SEPARATORS = re.compile(r"[,;\s]+")


def parse_codes(codes: Iterable[str] | str, codeset: CodeSet | None = None) -> list[str]:
    """Assigned codes as given ("E11.22, i10", "E11.22;I10", "E11.22 I10" or a list), normalised and deduplicated in order.

    Every entry must be an item of the code set below the block level (a category such as
    "E11" is accepted: it is then reported `incomplete`); anything else is refused with one
    line naming the entries at fault."""
    raw = [codes] if isinstance(codes, str) else list(codes)
    entries = [e for item in raw for e in _SEPARATORS.split(str(item)) if e.strip()]
    if not entries:
        raise UnknownCode("no codes to audit: give the assigned codes, e.g. E11.22,I10")
    if len(entries) > MAX_CODES:
        raise UnknownCode(f"{len(entries)} codes given; at most {MAX_CODES} per chart")
    cs = codeset or CodeSet.load()
    out: list[str] = []
    bad: list[str] = []
    for entry in entries:
        code = normalize(entry)
        if not is_code(code) or not cs.exists(code):
            bad.append(entry[:24])
            continue
        if code not in out:
            out.append(code)
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise UnknownCode(f"not ICD-10-CM codes in {CODE_SET_VERSION}: {shown}")
    return out


class SentinelCheck:
    """One chart's assigned codes against its coded state; `findings()` does the work."""

    def __init__(
        self,
        state: CodingState,
        assigned: list[str],
        rules: RuleSet,
        codeset: CodeSet | None = None,
    ) -> None:
        assert state.chart is not None and state.result is not None
        self.state = state
        self.chart: Chart = state.chart
        self.setting: Setting = state.setting
        self.assigned = assigned
        self.rules = rules
        self.cs = codeset or CodeSet.load()
        self.suggestions = state.result.suggestions
        self.supported = [s.code for s in self.suggestions]
        self.out: list[Finding] = []
        # Assigned codes already explained by a finding, and codes a finding already proposes.
        self.explained: set[str] = set()
        self.proposed: set[str] = set()

    # -- the report ---------------------------------------------------------------------------

    def assigned_codes(self) -> list[AssignedCode]:
        explained_unsupported = {f.code for f in self.out if f.kind == "unsupported"}
        return [
            AssignedCode(
                code=code,
                position=i,
                description=self.cs.get(code).description,
                supported=code not in explained_unsupported and bool(self._spans_for(code)),
            )
            for i, code in enumerate(self.assigned)
        ]

    def findings(self) -> list[Finding]:
        self.out = []
        self._incomplete()
        self._conflicts()
        self._support(unsupported_only=True)
        self._rule_pack()
        self._support(unsupported_only=False)
        self._principal()
        self._hcc_meat()
        self._missed()
        order = {k: i for i, k in enumerate(_FINDING_ORDER)}
        self.out.sort(key=lambda f: (order[f.kind], self._position(f.code)))
        return self.out

    def _add(
        self,
        code: str,
        kind: FindingKind,
        severity: Severity,
        message: str,
        evidence: list[Evidence] | None = None,
        rules: list[RuleCitation] | None = None,
        suggested: list[str] | None = None,
    ) -> None:
        self.out.append(
            Finding(
                code=code,
                kind=kind,
                severity=severity,
                evidence=_unique(evidence or []),
                rules=rules or [],
                message=message,
                suggested=suggested or [],
            )
        )
        if kind != "missed":
            self.explained.add(code)
        self.proposed.update(suggested or [])

    def _position(self, code: str) -> int:
        return self.assigned.index(code) if code in self.assigned else len(self.assigned)

    # -- the code set -------------------------------------------------------------------------

    def _incomplete(self) -> None:
        """Not billable: a category or subcategory, or a code lacking its 7th character."""
        for code in self.assigned:
            info = self.cs.get(code)
            if info.billable:
                continue
            below = [s for s in self.supported if s.startswith(code) and s != code]
            if info.kind in ("chapter", "block"):
                what = f"{code} is a {info.kind} heading, not a code"
            elif self.cs.lacks_only_seventh(code):
                what = f"{code} ({info.description}) lacks its 7th character"
                options = ", ".join(f"{k} {v}" for k, v in info.seventh_character.items())
                what += f" ({options})"
            else:
                what = f"{code} ({info.description}) is not billable: it has codes below it"
            rule_id = (
                "code.seventh_character" if self.cs.lacks_only_seventh(code) else "code.billable"
            )
            supported = f"; the documentation supports {', '.join(below)}" if below else ""
            self._add(
                code,
                "incomplete",
                "high",
                what + supported + ".",
                evidence=[e for s in self.suggestions if s.code in below for e in s.evidence],
                rules=[_code_set_rule(rule_id, what)],
                suggested=below,
            )

    def _conflicts(self) -> None:
        """Excludes1 pairs among the assigned codes: the two may not be coded together."""
        for i, a in enumerate(self.assigned):
            for b in self.assigned[i + 1 :]:
                notes = [
                    n for n in (self.cs.excludes1_source(a, b), self.cs.excludes1_source(b, a)) if n
                ]
                if not notes:
                    continue
                cited = "; ".join(f"at {n.origin}: '{n.text}'" for n in notes)
                message = f"{a} and {b} may not be coded together (Excludes1 {cited})."
                keep = [c for c in (a, b) if c in self.supported]
                self._add(
                    b,
                    "conflict",
                    "high",
                    message
                    + (
                        f" The documentation supports {', '.join(keep)}."
                        if keep and len(keep) == 1
                        else ""
                    ),
                    evidence=self._spans_for(a) + self._spans_for(b),
                    rules=[_code_set_rule("excludes1", message)],
                    suggested=keep if len(keep) == 1 else [],
                )

    # -- the rule packs -----------------------------------------------------------------------

    def _rule_pack(self) -> None:
        """Combination codes coded as parts, and sequencing rules, on the assigned order (of
        the codes with support: an unsupported code combines with nothing)."""
        unsupported = {f.code for f in self.out if f.kind == "unsupported"}
        standing = [c for c in self.assigned if c not in unsupported]
        text = "\n".join(d.text for d in self.chart.documents)
        for missed in missed_combinations(
            standing, self.setting, self.rules, APRIL_UPDATE_START, self.cs
        ):
            rule = missed.rule
            if rule.unless_text and compiled(rule.unless_text).search(text):
                continue  # the record says the conditions are unrelated
            message = (
                f"{' + '.join(missed.parts)} coded separately: the combination code is "
                f"{', '.join(missed.wanted)} ({rule.citation})"
            )
            self._add(
                missed.parts[0],
                "combination",
                "medium",
                message,
                evidence=[e for p in missed.parts for e in self._spans_for(p)],
                rules=[RuleCitation(id=rule.id, citation=rule.citation, message=message)],
                suggested=[w for w in missed.wanted if self.cs.exists(w)],
            )
            self.explained.update(p for p in missed.parts if p in self.assigned)
        checks = check_code_list(standing, self.setting, self.rules, APRIL_UPDATE_START, self.cs)
        for code, found in zip(standing, checks, strict=True):
            for check in found:
                order = self.rules.get(check.id)
                if isinstance(order, NeverFirst | SequenceBefore):
                    citation = RuleCitation(
                        id=order.id, citation=order.citation, message=check.message
                    )
                    self._add(
                        code,
                        "sequencing",
                        "medium" if isinstance(order, NeverFirst) else "low",
                        check.message,
                        evidence=self._spans_for(code),
                        rules=[citation],
                    )

    # -- the documentation --------------------------------------------------------------------

    def _support(self, unsupported_only: bool) -> None:
        """Each assigned code the coder did not code: no present-tense support (only negated,
        family, historical, hypothetical mentions, or uncertain ones in an outpatient chart),
        found first; then, once the rule packs had their say, a more specific or combination
        code the documentation supports instead."""
        for code in self.assigned:
            if code in self.supported or code in self.explained:
                continue
            category = code[:3]
            same = [s for s in self.suggestions if s.code[:3] == category]
            linked = self._linked_mentions(code)
            used_by = None if same else self._coded_from(linked)
            if unsupported_only:
                if not same and used_by is None:
                    self._unsupported(code, linked)
            elif same:
                self._more_specific(code, same)
            elif used_by is not None:
                self._coded_otherwise(code, used_by)

    def _more_specific(self, code: str, same: list[Suggestion]) -> None:
        info = self.cs.get(code)
        better = [s.code for s in same]
        descendant = any(s.startswith(code) for s in better)
        vague = descendant or _is_unspecified(info.description)
        evidence = [e for s in same for e in s.evidence]
        if vague:
            message = (
                f"{code} ({info.description}) is less specific than the documentation supports: "
                f"{', '.join(f'{s.code} ({s.description})' for s in same)}."
            )
            self._add(
                code,
                "specificity",
                "medium",
                message,
                evidence=evidence,
                rules=[_code_set_rule("code.specificity", message)],
                suggested=better,
            )
        else:
            message = (
                f"{code} ({info.description}) is not what the documentation describes; it "
                f"supports {', '.join(f'{s.code} ({s.description})' for s in same)}."
            )
            self._add(
                code,
                "unsupported",
                "high",
                message,
                evidence=evidence,
                rules=[_code_set_rule("code.supported", message)],
                suggested=better,
            )

    def _coded_otherwise(self, code: str, used_by: Suggestion) -> None:
        """The condition behind `code` is documented, but the guidelines code it as part of
        `used_by` (a combination code the rules formed, or a more specific reading)."""
        info = self.cs.get(code)
        combine = [
            r
            for check in used_by.rules
            if (r := self.rules.get(check.id)) is not None and isinstance(r, Combine)
        ]
        if combine:
            rule = combine[0]
            message = (
                f"{code} ({info.description}) is documented with a related condition: the "
                f"guidelines combine them as {used_by.code} ({used_by.description})."
            )
            self._add(
                code,
                "combination",
                "medium",
                message,
                evidence=used_by.evidence,
                rules=[RuleCitation(id=rule.id, citation=rule.citation, message=rule.title)],
                suggested=[used_by.code],
            )
            return
        message = (
            f"{code} ({info.description}): the documentation supports the more specific "
            f"{used_by.code} ({used_by.description})."
        )
        self._add(
            code,
            "specificity",
            "medium",
            message,
            evidence=used_by.evidence,
            rules=[_code_set_rule("code.specificity", message)],
            suggested=[used_by.code],
        )

    def _unsupported(self, code: str, linked: list[int]) -> None:
        info = self.cs.get(code)
        mentions = self.state.mentions
        countable = [i for i in linked if self._counts(mentions[i])]
        rejected = {r.mention_id: r for r in self.state.rejections}
        if countable and not all(i in rejected for i in countable):
            return  # documented as present; the coder's own choice differs only in reading
        citations: list[RuleCitation] = []
        reasons: list[str] = []
        for i in linked:
            m = mentions[i]
            rejection = rejected.get(i)
            rule: Rule | None = self._assertion_rule(m) if not self._counts(m) else None
            if rule is None and rejection is not None and rejection.rule_id:
                rule = self.rules.get(rejection.rule_id)
            if rule is not None and rule.id not in {c.id for c in citations}:
                message = getattr(rule, "message", None) or rule.title
                citations.append(RuleCitation(id=rule.id, citation=rule.citation, message=message))
            reasons.append(f"'{_short(m.text)}' ({m.assertion})")
        if linked:
            message = (
                f"{code} ({info.description}) has no present-tense support: the chart mentions "
                f"it only as {', '.join(dict.fromkeys(reasons))}."
            )
        else:
            message = f"{code} ({info.description}): nothing in the chart documents it."
        if not citations:
            citations = [_code_set_rule("code.supported", message)]
        self._add(
            code,
            "unsupported",
            "high",
            message,
            evidence=[self._mention_evidence(i) for i in linked if self._cites(i)],
            rules=citations,
        )

    def _principal(self) -> None:
        """The first-listed / principal code the guidelines choose, when it was assigned but
        not first."""
        principal = next((s for s in self.suggestions if s.role == "principal"), None)
        if principal is None or not self.assigned or self.assigned[0] == principal.code:
            return
        if principal.code not in self.assigned or self.assigned[0] in self.explained:
            return
        if any(f.kind == "sequencing" for f in self.out):
            return
        rule_id = "principal.inpatient" if self.setting == "inpatient" else "principal.outpatient"
        rule = self.rules.get(rule_id)
        position = "principal diagnosis" if self.setting == "inpatient" else "first-listed code"
        message = (
            f"{self.assigned[0]} is sequenced first, but the documentation makes "
            f"{principal.code} ({principal.description}) the {position}."
        )
        self._add(
            self.assigned[0],
            "sequencing",
            "medium" if self.setting == "inpatient" else "low",
            message,
            evidence=principal.evidence,
            rules=[RuleCitation(id=rule.id, citation=rule.citation, message=rule.title)]
            if rule is not None
            else [],
            suggested=[principal.code],
        )

    def _hcc_meat(self) -> None:
        """Each supported, billable assigned code that maps to an HCC needs MEAT evidence."""
        found = self.rules.of_kind(Hcc, self.setting, APRIL_UPDATE_START)
        if not found:
            return
        rule = found[0]
        standing = [c for c in self.assigned if self.cs.is_billable(c) and c not in self.explained]
        if not standing:
            return
        facts = self.state.facts
        flags = hcc_flags(
            EditInput(
                codes=standing,
                setting=self.setting,
                age=facts.age,
                sex="male" if facts.sex == "male" else "female" if facts.sex == "female" else None,
            ),
            self.rules,
        )
        for code, flag in zip(standing, flags, strict=True):
            if flag is None:
                continue
            spans = [(e.doc_id, e.start, e.end) for e in self._spans_for(code)]
            if not spans:
                continue
            meat = meat_evidence(self.chart, spans, rule)
            if any(meat.values()):
                continue
            message = (
                f"{code} maps to {flag.model} HCC {flag.hcc} ({flag.label}) but its problem entry "
                "shows no MEAT (monitored, evaluated, assessed, treated): the diagnosis is "
                "listed without how it was managed."
            )
            self._add(
                code,
                "hcc_meat",
                "medium" if flag.in_model else "low",
                message,
                evidence=self._spans_for(code),
                rules=[RuleCitation(id=rule.id, citation=rule.citation, message=rule.title)],
            )

    def _missed(self) -> None:
        """Codes the documentation supports that nobody assigned (nor a finding proposed)."""
        for s in self.suggestions:
            if s.code in self.assigned or s.code in self.proposed:
                continue
            if any(a != s.code and s.code.startswith(a) for a in self.assigned):
                continue  # an incomplete assigned code already names it
            severity: Severity = "high" if s.hcc is not None else "medium"
            if s.status != "auto":
                severity = "low" if severity == "medium" else "medium"
            message = f"{s.code} ({s.description}) is documented as {s.role} but was not assigned."
            self._add(
                s.code,
                "missed",
                severity,
                message,
                evidence=s.evidence,
                rules=[_code_set_rule("code.missed", message)]
                + [
                    RuleCitation(id=r.id, citation=rule.citation, message=r.message)
                    for r in s.rules
                    if (rule := self.rules.get(r.id)) is not None and r.result == "pass"
                ][:2],
            )

    # -- helpers ------------------------------------------------------------------------------

    def _counts(self, mention: Mention) -> bool:
        """A mention supports its code unless a rule of this setting suppresses its assertion
        where it stands: "possible pneumonia" counts in an inpatient discharge diagnosis, not
        in a clinic note nor in an inpatient progress note."""
        return mention.assertion == "present" or self._assertion_rule(mention) is None

    def _assertion_rule(self, mention: Mention) -> SuppressAssertion | None:
        for rule in self.rules.of_kind(SuppressAssertion, self.setting, APRIL_UPDATE_START):
            if mention.assertion in rule.assertions and mention.section not in rule.unless_sections:
                return rule
        return None

    def _linked_mentions(self, code: str) -> list[int]:
        """Mentions that read as `code` (exactly, else within its category)."""
        exact, near = [], []
        for i, m in enumerate(self.state.mentions):
            readings = set(m.codes) | {c.code for c in m.candidates}
            if code in readings or any(r.startswith(code) for r in readings):
                exact.append(i)
            elif any(r[:3] == code[:3] for r in readings):
                near.append(i)
        return exact or near

    def _coded_from(self, linked: list[int]) -> Suggestion | None:
        """The suggestion a coder made from one of these (present) mentions, if any."""
        by_code = {s.code: s for s in self.suggestions}
        for draft in self.state.drafts:
            if draft.code in by_code and any(
                i in linked and self._counts(self.state.mentions[i])
                for i in draft.decision.mention_ids
            ):
                return by_code[draft.code]
        return None

    def _spans_for(self, code: str) -> list[Evidence]:
        """The chart text supporting `code`: the coder's evidence, else present mentions."""
        for s in self.suggestions:
            if s.code == code:
                return list(s.evidence)
        linked = self._linked_mentions(code)
        return [
            self._mention_evidence(i)
            for i in linked
            if self._counts(self.state.mentions[i]) and self._cites(i)
        ]

    def _cites(self, i: int) -> bool:
        try:
            self._mention_evidence(i)
        except (EvidenceError, KeyError):
            return False
        return True

    def _mention_evidence(self, i: int) -> Evidence:
        m = self.state.mentions[i]
        return cite(self.chart, m.doc_id, m.start, m.end)


def check(
    state: CodingState | dict[str, Any],
    assigned: list[str],
    rules: RuleSet,
    codeset: CodeSet | None = None,
) -> tuple[list[AssignedCode], list[Finding]]:
    """The assigned codes as checked and the findings, from a coded chart's final state."""
    coded = state if isinstance(state, CodingState) else CodingState.model_validate(state)
    sentinel = SentinelCheck(coded, assigned, rules, codeset)
    findings = sentinel.findings()
    return sentinel.assigned_codes(), findings


class SentinelOutcome(BaseModel):
    """An audit without a store: the checked codes, the findings, the risk, what is supported."""

    assigned: list[AssignedCode]
    findings: list[Finding]
    risk: float
    supported_codes: list[str]


@lru_cache(maxsize=1)
def _offline_graph() -> Any:
    from agent.graph import build_graph

    return build_graph(human_review=False).compile()


def audit_offline(
    chart: Chart,
    codes: list[str] | str,
    setting: Setting,
    index: TermIndex,
    rules: RuleSet,
    settings: Settings | None = None,
) -> SentinelOutcome:
    """Code the chart with the offline reasoner and check `codes` against it: what a tool (a
    model's "check assigned codes") or a test uses when nothing is to be stored."""
    from agent.context import CodingContext
    from agent.reasoners import OfflineReasoner
    from agent.state import CodingInput

    assigned = parse_codes(codes)
    context = CodingContext(settings or Settings(), index, OfflineReasoner(), rules.version, rules)
    state = _offline_graph().invoke(
        CodingInput(
            chart_id=chart.chart_id,
            run_id=f"sentinel-{chart.chart_id}",
            setting=setting,
            chart=chart,
        ),
        context=context,
    )
    checked, findings = check(state, assigned, rules)
    result = state["result"]
    return SentinelOutcome(
        assigned=checked,
        findings=findings,
        risk=risk_score(findings),
        supported_codes=[s.code for s in result.suggestions] if result is not None else [],
    )


def _code_set_rule(rule_id: str, message: str) -> RuleCitation:
    return RuleCitation(id=rule_id, citation=CODE_SET_CITATIONS[rule_id], message=message)


def _is_unspecified(description: str) -> bool:
    text = description.lower()
    return "unspecified" in text or "without complication" in text or text.endswith(" nos")


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _unique(evidence: list[Evidence]) -> list[Evidence]:
    seen: dict[tuple[str, int, int], Evidence] = {}
    for e in evidence:
        seen.setdefault((e.doc_id, e.start, e.end), e)
    return list(seen.values())
