"""Where a code may come from: never a medication list, lab value or problem list alone, and never
a procedure that is only planned or considered.
"""

from __future__ import annotations

from agent.guidelines.work import STATEMENT_SECTIONS, Work
from tools.rules.schema import (
    SuppressSource,
    SuppressWhenText,
)
from tools.rules.text import compiled


def suppress_sources(work: Work) -> None:
    """Never code from a medication list, a lab value, a copied-forward problem list alone."""
    for rule in work.in_force(SuppressSource):
        codes = work.matcher(rule.codes)
        for d in list(work.decisions):
            if d.spans or not d.mention_ids or not codes.matches(d.code):
                continue
            if not all(work.mentions[i].section in rule.sections for i in d.mention_ids):
                continue
            if rule.only_with_statement and not any(
                o is not d and work.stated_in(o, STATEMENT_SECTIONS) for o in work.decisions
            ):
                continue
            work.remove(d)
            for i in d.mention_ids:
                work.reject(i, f"{rule.message} ({rule.citation})", rule.id)


def suppress_when_text(work: Work) -> None:
    """Codes whose every supporting sentence says they are planned, considered or a candidacy."""
    for rule in work.in_force(SuppressWhenText):
        codes = work.matcher(rule.codes)
        regex = compiled(rule.text)
        for d in list(work.decisions):
            if not codes.matches(d.code):
                continue
            chart = work.request.chart
            sentences = work.sentences_of([d])
            if chart is None or not sentences:
                continue
            if all(regex.search(chart.document(doc).text[s:e]) for doc, s, e in sentences):
                work.remove(d)
                for i in d.mention_ids:
                    work.reject(i, f"{rule.message} ({rule.citation})", rule.id)
