"""Sequencing: the principal (inpatient) or first-listed (outpatient) diagnosis and the order
of the rest, by the setting's rule, then the ordering rules: the tabular's "code first" notes,
rule-pack "sequence before" pairs (sepsis before the localized infection, chapter 15 first),
and codes that may never come first (manifestations, external causes, Z3A weeks, R65.2-).
"""

from __future__ import annotations

from agent.guidelines.work import STATEMENT_SECTIONS, Work
from agent.state import CodeDecision
from core.errors import UnknownCode
from tools.rules.schema import NeverFirst, Principal, SequenceBefore, TabularCodeFirst
from tools.rules.text import compiled

MAX_MOVES = 50


def sequence(work: Work) -> None:
    decisions = work.decisions
    if not decisions:
        return
    principal_rules: list[Principal] = work.in_force(Principal)
    sections = principal_rules[0].sections if principal_rules else list(STATEMENT_SECTIONS)

    def order(d: CodeDecision) -> tuple[int, tuple[int, int]]:
        in_statement = [
            (0, work.mentions[i].start)
            for i in d.mention_ids
            if work.mentions[i].section in sections
        ]
        if in_statement:
            return (0, min(in_statement))
        return (1, work.position(d))

    decisions.sort(key=order)
    for rule in work.in_force(TabularCodeFirst)[:1]:
        _code_first(work, decisions, rule)
    stated_first = decisions[0] if order(decisions[0])[0] == 0 else None
    for pair in work.in_force(SequenceBefore):
        keep = stated_first if pair.keep_stated_first and work.setting == "inpatient" else None
        _before(work, decisions, pair, keep)
    for never in work.in_force(NeverFirst):
        _never_first(work, decisions, never)
    # The never-first rules may not undo each other: re-check them all together.
    rules = work.in_force(NeverFirst)
    if any(_banned(work, r, decisions[0]) for r in rules):
        eligible = next((d for d in decisions if not any(_banned(work, r, d) for r in rules)), None)
        if eligible is not None:
            decisions.remove(eligible)
            decisions.insert(0, eligible)
    position = "principal diagnosis" if work.setting == "inpatient" else "first-listed diagnosis"
    for n, d in enumerate(decisions):
        d.role = "principal" if n == 0 else "secondary"
    if principal_rules:
        first = decisions[0]
        where = (
            "the first condition of the diagnostic statement"
            if order(first)[0] == 0
            else "no diagnostic statement names a condition: first documented"
        )
        work.note(first, principal_rules[0], f"{first.code} is the {position}: {where}")


def _move_before(decisions: list[CodeDecision], mover: CodeDecision, anchor: CodeDecision) -> None:
    decisions.remove(mover)
    decisions.insert(decisions.index(anchor), mover)


def _code_first(work: Work, decisions: list[CodeDecision], rule: TabularCodeFirst) -> None:
    for _ in range(MAX_MOVES):
        moved = False
        for n, d in enumerate(decisions):
            try:
                info = work.codes.get(d.code)
            except UnknownCode:
                continue
            prefixes = [
                p
                for note in info.notes
                if note.kind == "code_first"
                for p in work.codes.note_prefixes(note.text)
            ]
            if not prefixes:
                continue
            # Only codes listed after d can move before it.
            for other in decisions[n + 1 :]:
                if work.codes.matches_prefixes(other.code, prefixes):
                    _move_before(decisions, other, d)
                    work.note(other, rule, f"tabular note at {d.code}: code first {other.code}")
                    moved = True
                    break
            if moved:
                break
        if not moved:
            return


def _before(
    work: Work,
    decisions: list[CodeDecision],
    rule: SequenceBefore,
    keep: CodeDecision | None = None,
) -> None:
    """Move each `first` code before the earliest `then` code listed ahead of it; `keep` (the
    provider's stated principal diagnosis) is never moved from first place."""
    first, then = work.matcher(rule.first), work.matcher(rule.then)
    for _ in range(MAX_MOVES):
        moved = False
        for n, later in enumerate(decisions):
            if not first.matches(later.code):
                continue
            anchor = next(
                (
                    d
                    for d in decisions[:n]
                    if then.matches(d.code) and not first.matches(d.code) and d is not keep
                ),
                None,
            )
            if anchor is not None:
                _move_before(decisions, later, anchor)
                work.note(later, rule, f"{later.code} sequenced before {anchor.code}")
                moved = True
                break
        if not moved:
            return


def _banned(work: Work, rule: NeverFirst, decision: CodeDecision) -> bool:
    """The rule's codes; with `text`, only when a sentence of the code says it."""
    if not work.matcher(rule.codes).matches(decision.code):
        return False
    if rule.chart_text is not None and not _chart_says(work, rule.chart_text):
        return False
    return rule.text is None or bool(compiled(rule.text).search(work.sentence_text([decision])))


def _chart_says(work: Work, pattern: str) -> bool:
    chart = work.request.chart
    return chart is not None and any(compiled(pattern).search(doc.text) for doc in chart.documents)


def _never_first(work: Work, decisions: list[CodeDecision], rule: NeverFirst) -> None:
    if not _banned(work, rule, decisions[0]):
        return
    eligible = next((d for d in decisions if not _banned(work, rule, d)), None)
    if eligible is None:
        return
    first = decisions[0]
    decisions.remove(eligible)
    decisions.insert(0, eligible)
    work.note(first, rule, f"{first.code} may not be sequenced first: {eligible.code} goes first")
