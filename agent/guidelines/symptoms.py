"""Signs and symptoms beside a definitive diagnosis (Section I.B.4-6)."""

from __future__ import annotations

from agent.guidelines.work import NOT_A_DIAGNOSIS, Work
from tools.rules.codes import ANY
from tools.rules.schema import (
    SymptomIntegral,
    SymptomsOutsideStatement,
)
from tools.rules.text import compiled


def symptoms(work: Work) -> None:
    """Symptoms give way to the definitive diagnosis that accounts for them (I.B.4-5); those not
    routinely part of it stay (I.B.6)."""
    for rule in work.in_force(SymptomsOutsideStatement):
        symptom = work.matcher(rule.symptoms)
        unrelated = compiled(rule.unrelated_text) if rule.unrelated_text else None
        definitive = [
            d
            for d in work.decisions
            if not symptom.matches(d.code)
            and not NOT_A_DIAGNOSIS.matches(d.code)
            and work.stated_in(d, rule.statement_sections)
            and not (unrelated and unrelated.search(work.sentence_text([d])))
        ]
        if not definitive or _statement_says(work, rule.unexplained_text, rule.statement_sections):
            continue
        for d in list(work.decisions):
            if symptom.matches(d.code) and not work.stated_in(d, rule.statement_sections):
                work.remove(d)
                work.note(
                    definitive[0],
                    rule,
                    f"{d.code} ('{work.mentions[d.mention_ids[0]].text}') documented outside the "
                    "diagnostic statement: not coded beside a definitive diagnosis"
                    if d.mention_ids
                    else f"{d.code}: not coded beside a definitive diagnosis",
                )
                for i in d.mention_ids:
                    work.reject(
                        i, f"symptom outside the diagnostic statement ({rule.citation})", rule.id
                    )
    for integral in work.in_force(SymptomIntegral):
        symptom = work.matcher(integral.symptoms)
        if ANY in integral.diagnoses:
            causes = [
                d
                for d in work.decisions
                if not symptom.matches(d.code)
                and not NOT_A_DIAGNOSIS.matches(d.code)
                and not d.code.startswith("R")
            ]
        else:
            diagnosis = work.matcher(integral.diagnoses)
            causes = [
                d
                for d in work.decisions
                if diagnosis.matches(d.code) and not symptom.matches(d.code)
            ]
        if not causes:
            continue
        unexplained = compiled(integral.unexplained_text) if integral.unexplained_text else None
        for d in list(work.decisions):
            if not symptom.matches(d.code):
                continue
            if unexplained is not None and unexplained.search(work.sentence_text([d])):
                continue
            cause = next(
                (c for c in causes if not integral.excludes1 or _excluded(work, d.code, c.code)),
                None,
            )
            if cause is None:
                continue
            work.remove(d)
            work.note(
                cause,
                integral,
                f"{d.code} ({work.description(d.code)}) not coded separately: integral to "
                f"{cause.code}",
            )
            for i in d.mention_ids:
                work.reject(i, f"integral to {cause.code} ({integral.citation})", integral.id)


def _statement_says(work: Work, pattern: str | None, sections: list[str]) -> bool:
    """Some text of the diagnostic statement's sections matches `pattern`."""
    chart = work.request.chart
    if pattern is None or chart is None:
        return False
    found = compiled(pattern)
    return any(
        found.search(doc.text, s.start, s.end)
        for doc in chart.documents
        for s in doc.sections
        if s.name in sections
    )


def _excluded(work: Work, symptom: str, diagnosis: str) -> bool:
    """The Tabular's Excludes1 note of the symptom (or of its ancestors) names the diagnosis."""
    if not (work.known(symptom) and work.known(diagnosis)):
        return False
    return work.codes.excludes1_conflict(symptom, diagnosis) is not None
