"""Guideline steps on mentions: which mentions may be coded at all, and what becomes of the
family and past conditions that may not ("Father had colon cancer" is not C18.9; it may be
Z80.0 when the family history is relevant to the encounter).
"""

from __future__ import annotations

from agent.guidelines.work import Work
from agent.state import CodeDecision, TextSpan
from tools.rules.schema import (
    AssertionGuard,
    HistoryCode,
    HistoryRelevance,
    MentionSense,
    SuppressAssertion,
)
from tools.rules.text import compiled, find_text

# The floor under the rule packs: even with every pack deleted, these mentions are never coded
# as the condition they name (and an uncertain one never outpatient).
FLOOR_FORBID = ("negated", "family", "hypothetical")
FLOOR_RULE_ID = "guard.assertion"


# How far along its line a sense rule looks on either side of a mention.
SENSE_WINDOW = 60


def mention_senses(work: Work) -> None:
    """Mentions whose words mean something else where they stand (rules/guidelines
    `mention-sense`): the abbreviation read by its section and neighbours, the disease word
    inside a procedure, order or education phrase."""
    rules: list[MentionSense] = work.in_force(MentionSense)
    chart = work.request.chart
    if not rules or chart is None:
        return
    for i, mention in enumerate(work.mentions):
        if i in work.rejected or not mention.candidates:
            continue
        text = chart.document(mention.doc_id).text
        line_start = text.rfind("\n", 0, mention.start) + 1
        line_end = text.find("\n", mention.end)
        line_end = len(text) if line_end < 0 else line_end
        before = text[max(line_start, mention.start - SENSE_WINDOW) : mention.start]
        after = text[mention.end : min(line_end, mention.end + SENSE_WINDOW)]
        best = mention.candidates[0].code
        for rule in rules:
            if rule.sections and mention.section not in rule.sections:
                continue
            if rule.assertions and mention.assertion not in rule.assertions:
                continue
            if rule.mention and not compiled(rule.mention).search(mention.text):
                continue
            if not work.matcher(rule.codes).matches(best):
                continue
            if rule.before and not compiled(rule.before).search(before):
                continue
            if rule.after and not compiled(rule.after).search(after):
                continue
            if rule.read_as is not None:
                work.mentions[i] = mention.model_copy(update={"assertion": rule.read_as})
            else:
                work.reject(i, f"'{mention.text}': {rule.message} ({rule.citation})", rule.id)
            break


def suppress_mentions(work: Work) -> None:
    """Reject mentions by assertion (negated, family, hypothetical, historical, uncertain)."""
    rules: list[SuppressAssertion] = work.in_force(SuppressAssertion)
    for i, mention in enumerate(work.mentions):
        if not mention.candidates:
            work.reject(i, "no candidate code", None)
            continue
        for rule in rules:
            if mention.assertion in rule.assertions and mention.section not in rule.unless_sections:
                work.reject(i, f"{rule.message} ({rule.citation})", rule.id)
                break
        else:
            if mention.assertion in FLOOR_FORBID or (
                mention.assertion == "possible" and work.setting == "outpatient"
            ):
                work.reject(i, f"{mention.assertion} mention: not coded", FLOOR_RULE_ID)


def code_mentions(work: Work) -> None:
    """Each mention left takes its top-ranked candidate; mentions of one code share it."""
    for i, mention in enumerate(work.mentions):
        if i in work.rejected:
            continue
        best = mention.candidates[0]
        decision = work.find(best.code)
        if decision is None:
            work.add(
                best.code,
                rationale=(
                    f"'{mention.text}' ({mention.section.replace('_', ' ')}, "
                    f"{mention.assertion}) matches the {best.origin} term '{best.term}'"
                ),
                mention_ids=[i],
                match_score=best.score,
            )
        else:
            work.absorb(decision, [i])
            decision.match_score = max(decision.match_score, best.score)


def history_codes(work: Work) -> None:
    """Family and past conditions: their history code (kept later only when relevant), or the
    condition itself when the sentence shows it is still treated ("history of breast cancer,
    on anastrozole")."""
    rules: list[HistoryCode] = work.in_force(HistoryCode)
    if not rules:
        return
    # A mention whose words mean something else where they stand ("the link with asthma" in
    # counseling) names no relative's or past disease either.
    senses = {r.id for r in work.in_force(MentionSense)}
    for i in sorted(work.rejected):
        mention = work.mentions[i]
        if mention.assertion not in ("family", "historical") or not mention.candidates:
            continue
        if work.rejected[i].rule_id in senses:
            continue
        disease = mention.candidates[0].code
        sentence = work.mention_sentence(i)
        for rule in rules:
            if rule.assertion != mention.assertion:
                continue
            target = next(
                (m.to for m in rule.map if work.matcher(m.from_codes).matches(disease)), None
            )
            if target is None:
                continue
            if rule.current_text and compiled(rule.current_text).search(sentence):
                work.unreject(i)
                decision = work.add(
                    disease,
                    f"'{mention.text}' is written as history but is still treated",
                    [i],
                    match_score=mention.candidates[0].score,
                )
                work.note(
                    decision,
                    rule,
                    f"'{mention.text}' is documented as history, but the sentence shows current "
                    f"treatment: coded as the current condition {disease}, not history {target}",
                )
                break
            if rule.unless_text and compiled(rule.unless_text).search(sentence):
                continue
            decision = work.add(
                target,
                f"{mention.assertion} '{mention.text}' -> {target}",
                [i],
                match_score=mention.candidates[0].score,
            )
            kind = "family history" if rule.assertion == "family" else "personal history"
            work.note(decision, rule, f"{kind} of '{mention.text}' ({disease}) -> {target}")
            break


def history_relevance(work: Work) -> None:
    """History codes stay only when the history bears on this encounter (Section III.A, IV.J)."""
    for rule in work.in_force(HistoryRelevance):
        codes = work.matcher(rule.codes)
        for decision in list(work.decisions):
            if not codes.matches(decision.code):
                continue
            why = _relevance(work, rule, decision)
            if why is not None:
                work.note(decision, rule, f"{decision.code} kept: {why}")
                continue
            work.remove(decision)
            for i in decision.mention_ids:
                work.reject(i, f"{rule.message} ({rule.citation})", rule.id)


def _relevance(work: Work, rule: HistoryRelevance, decision: CodeDecision) -> str | None:
    stated = [i for i in decision.mention_ids if work.mentions[i].section in rule.relevant_sections]
    if stated:
        return f"stated in the {work.mentions[stated[0]].section.replace('_', ' ')}"
    spans = [s for s in decision.spans if _section_of(work, s) in rule.relevant_sections]
    if spans:
        return f"stated in the {_section_of(work, spans[0]).replace('_', ' ')}"
    related = (
        [d for d in work.coded(rule.relevant_with) if d is not decision]
        if rule.relevant_with
        else []
    )
    if related:
        return f"relevant to {related[0].code}"
    chart = work.request.chart
    if rule.relevant_text and chart is not None:
        hits = find_text(chart, rule.relevant_text, guard=None)
        if hits:
            doc = chart.document(hits[0].doc_id)
            return f"'{doc.text[hits[0].start : hits[0].end]}' documented"
    return None


def _section_of(work: Work, span: TextSpan) -> str:
    chart = work.request.chart
    return chart.document(span.doc_id).section_at(span.start) if chart else ""


def guard_assertions(work: Work) -> None:
    """No code rests on a negated, family, hypothetical or (outpatient) uncertain mention, except
    the history codes a guard rule allows (family history -> Z80-Z84)."""
    guards: list[AssertionGuard] = work.in_force(AssertionGuard)
    forbid = set(FLOOR_FORBID)
    for g in guards:
        forbid.update(g.forbid)
    if work.setting == "outpatient":
        forbid.add("possible")
    for decision in list(work.decisions):
        bad = [
            i
            for i in decision.mention_ids
            if work.mentions[i].assertion in forbid
            and not work.may_rest_on(work.mentions[i].assertion, decision.code)
        ]
        spans = [
            s
            for s in decision.spans
            if (a := work.blocked(s.doc_id, s.start, s.end))
            and not work.may_rest_on(a, decision.code)
        ]
        if not bad and not spans:
            continue
        decision.mention_ids = [i for i in decision.mention_ids if i not in bad]
        decision.spans = [s for s in decision.spans if s not in spans]
        rule_id = guards[0].id if guards else FLOOR_RULE_ID
        for i in bad:
            work.reject(
                i, f"{work.mentions[i].assertion} mention may not support {decision.code}", rule_id
            )
        if not decision.mention_ids and not decision.spans:
            work.remove(decision)
