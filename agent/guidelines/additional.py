"""Codes read from chart text (statuses, long-term drugs, weeks of gestation, places, secondary
sites), "use additional code" companions, and the encounter behind 7th characters.
"""

from __future__ import annotations

from agent.guidelines.work import Work
from agent.state import TextSpan
from tools.rules.codes import render, template_fields
from tools.rules.schema import (
    AddCode,
    RequireCode,
)
from tools.rules.text import DEFAULT_GUARD, find_text


def add_codes(work: Work) -> None:
    """Codes read from chart text: long-term drug use, statuses, weeks of gestation, place of
    occurrence, secondary sites. Codes in `replaces` from the same sentence give way."""
    chart = work.request.chart
    if chart is None:
        return
    facts = work.facts.values()
    for rule in work.in_force(AddCode):
        if rule.when_coded and not work.coded(rule.when_coded):
            continue
        if rule.unless_coded and work.coded(rule.unless_coded):
            continue
        if rule.encounters and work.encounter not in rule.encounters:
            continue
        guard = rule.unless_before if rule.unless_before is not None else DEFAULT_GUARD
        templated = bool(template_fields(rule.code))
        for match in find_text(chart, rule.pattern, rule.sections, guard, after=rule.unless_after):
            code = render(rule.code, {**facts, **match.groups})
            code = work.known(code) if code else None
            if code is None:
                continue
            blocked = work.blocked(match.doc_id, match.start, match.end)
            if blocked and not work.may_rest_on(blocked, code):
                continue
            span = TextSpan(doc_id=match.doc_id, start=match.start, end=match.end)
            replaced = [
                d
                for d in (work.coded(rule.replaces) if rule.replaces else [])
                if d.code != code
                and any(
                    work.mentions[i].doc_id == match.doc_id
                    and match.sentence_start <= work.mentions[i].start < match.sentence_end
                    for i in d.mention_ids
                )
            ]
            quote = chart.document(match.doc_id).text[match.start : match.end]
            noted = any(c.id == rule.id for d in work.decisions if d.code == code for c in d.rules)
            decision = work.add(code, f"'{quote}' -> {code} ({rule.title})", spans=[span])
            for old in replaced:
                work.remove(old, into=decision)
            gone = f"; replaces {', '.join(o.code for o in replaced)}" if replaced else ""
            if not noted or replaced:
                work.note(decision, rule, f"'{quote}' documented: {code} added{gone}")
            if templated:
                break


def require_codes(work: Work) -> None:
    """'Use additional code': a code that needs a companion gets it, or the default."""
    for rule in work.in_force(RequireCode):
        for d in work.coded(rule.when_coded):
            if work.find(d.code) is not d:
                continue
            met = [o for o in work.coded(rule.need) if o is not d]
            if met:
                work.note(d, rule, f"{d.code}: {rule.message} - met by {met[0].code}")
                continue
            if rule.default is None:
                work.note(d, rule, f"{d.code}: {rule.message} - none documented", "warn")
                continue
            default = work.known(rule.default)
            if default is None:
                continue
            added = work.add(
                default,
                f"required with {d.code} ({rule.title}); the chart gives no more detail",
                d.mention_ids,
                d.spans,
                match_score=min(d.match_score, 0.7),
            )
            work.note(
                added,
                rule,
                f"{d.code}: {rule.message} - none more specific documented: {default} added",
                "warn",
            )


def encounter_notes(work: Work) -> None:
    """Injury and external cause codes record the encounter fact that sets their 7th character."""
    source = work.facts.sources.get("encounter")
    rule = work.rules.get(source) if source else None
    if rule is None or work.encounter is None:
        return
    letter = {"initial": "A", "subsequent": "D", "sequela": "S"}.get(work.encounter, "?")
    for d in work.decisions:
        if work.known(d.code) and work.codes.get(d.code).seventh_character:
            work.note(d, rule, f"{work.encounter} encounter documented: 7th character {letter}")
