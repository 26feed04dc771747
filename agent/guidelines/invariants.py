"""The assertion invariant, checked on a finished result: no suggested code rests on a negated,
family (except family history codes Z80-Z84), hypothetical or, outpatient, uncertain mention.

Used by the tests and by `bench/assertion_audit.py`, which counts violations on the examples,
the guideline test notes and CodiEsp dev.
"""

from __future__ import annotations

from pydantic import BaseModel

from core.contract import ChartResult
from tools.rules.codes import CodeMatcher

FAMILY_HISTORY_CODES = CodeMatcher(["Z80-Z84"])


class Violation(BaseModel):
    code: str
    assertion: str
    quote: str


def forbidden(assertion: str, setting: str) -> bool:
    return assertion in ("negated", "hypothetical", "family") or (
        assertion == "possible" and setting == "outpatient"
    )


def non_asserted_support(result: ChartResult) -> list[Violation]:
    """Every (code, evidence span) where the span is a mention the code may not rest on; a span
    that is not itself a mention (text a rule read) counts when it overlaps one."""
    by_span = {(m.doc_id, m.start, m.end): m for m in result.mentions}
    found: list[Violation] = []
    for s in result.suggestions:
        for e in s.evidence:
            exact = by_span.get((e.doc_id, e.start, e.end))
            candidates = (
                [exact]
                if exact is not None
                else [
                    m
                    for m in result.mentions
                    if m.doc_id == e.doc_id and m.start < e.end and e.start < m.end
                ]
            )
            for m in candidates:
                if not forbidden(m.assertion, result.setting):
                    continue
                if m.assertion == "family" and FAMILY_HISTORY_CODES.matches(s.code):
                    continue
                found.append(Violation(code=s.code, assertion=m.assertion, quote=e.quote))
    return found
