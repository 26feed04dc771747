"""Specificity: categories read as their unspecified code, a code giving way to a more specific one,
one condition documented twice coded once, and default types (diabetes of unstated type is E11).
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.guidelines.siblings import without_seventh
from agent.guidelines.work import STATEMENT_SECTIONS, Work
from agent.state import CodeDecision
from tools.codeset import CodeSet
from tools.rules.codes import CodeMatcher
from tools.rules.schema import (
    MergeIntoStatement,
    MostSpecific,
    Recode,
)
from tools.rules.text import compiled


def default_codes(work: Work) -> None:
    """A category the term index stopped at ("E11", "I25.1") is read as its unspecified code
    (E11.9, I25.10) before the rules run, as validation would: rules then see the final code.
    Codes that lack only their 7th character keep waiting for the encounter."""
    for rule in work.in_force(MostSpecific)[:1]:
        for d in list(work.decisions):
            if not work.known(d.code) or work.codes.is_billable(d.code):
                continue
            if work.codes.lacks_only_seventh(d.code):
                continue
            child = work.codes.unspecified_child(d.code)
            if child is None:
                continue
            old = d.code
            d = work.recode(d, child)
            work.note(
                d,
                rule,
                f"{old} is a category: {child}, its unspecified code, as nothing more specific is documented here",
            )


def most_specific(work: Work) -> None:
    """'E11' gives way to 'E11.22' when both are chosen: the specific code carries both."""
    for rule in work.in_force(MostSpecific)[:1]:
        bare = {id(d): d.code.replace(".", "") for d in work.decisions}
        for d in list(work.decisions):
            child = next(
                (
                    o
                    for o in work.decisions
                    if o is not d and o.code != d.code and bare[id(o)].startswith(bare[id(d)])
                ),
                None,
            )
            if child is not None:
                work.remove(d, into=child)
                work.note(child, rule, f"{d.code} is less specific than {child.code}: not coded")
        # An "unspecified" code gives way to a specified code of its category: the same
        # condition documented once vaguely ("CKD") and once precisely ("CKD stage 3b").
        for d in list(work.decisions):
            if not _unspecified(work, d.code):
                continue
            same = [
                o
                for o in work.decisions
                if o is not d
                and o.code[:3] == d.code[:3]
                and not _unspecified(work, o.code)
                and _shares_a_title_word(work, d.code, o.code)
            ]
            sides = _side_siblings(work, d.code)
            if sides:
                # Only the side is unspecified ("bimalleolar fracture of unspecified lower
                # leg"): the condition is named; it gives way to itself with a side, never to
                # another condition of the category ("other fracture of left lower leg").
                same = [o for o in same if without_seventh(o.code) in sides]
            # The code of the longer phrase that holds this one comes first ("right lower
            # quadrant abdominal pain" for "lower quadrant abdominal pain"), then the one the
            # diagnostic statement names (the problem list's "mild intermittent asthma" is not
            # what "asthma" means when the assessment says "moderate persistent"), then any.
            stated = [o for o in same if work.stated_in(o, STATEMENT_SECTIONS)]
            specific = next(
                (
                    o
                    for o in same
                    if d.mention_ids and all(_inside(work, i, o) for i in d.mention_ids)
                ),
                next(iter(stated or same), None),
            )
            if specific is not None:
                work.remove(d, into=specific)
                work.note(specific, rule, f"{d.code} is the unspecified form of {specific.code}")
        # Overlapping readings of one phrase ("right upper quadrant abdominal pain" also read as
        # "upper quadrant abdominal pain"): the longer phrase's code of the same category wins.
        for d in list(work.decisions):
            wider = next(
                (
                    o
                    for o in work.decisions
                    if o is not d
                    and o.code[:3] == d.code[:3]
                    and d.mention_ids
                    and (
                        all(_inside(work, i, o) for i in d.mention_ids)
                        or (_residual(work, d.code) and not _residual(work, o.code))
                        and all(_overlaps(work, i, o) for i in d.mention_ids)
                    )
                ),
                None,
            )
            if wider is not None:
                work.remove(d, into=wider)
                work.note(wider, rule, f"{d.code} reads part of the phrase coded {wider.code}")


def _unspecified(work: Work, code: str) -> bool:
    """A code whose title calls it unspecified (N18.9, J45.909, C50.919, F17.200). An
    intracranial injury "with loss of consciousness of unspecified duration" (S06.5X9A, the 6th
    character 9) names its injury: only the duration is unspecified, and the subdural
    hemorrhage is not the unspecified form of a subarachnoid one (S06.6X0A) beside it."""
    title = _UNSPECIFIED_DURATION.sub("", work.description(code).lower())
    return "unspecified" in title


_UNSPECIFIED_DURATION = re.compile(r"\bof unspecified duration\b")


def _shares_a_title_word(work: Work, a: str, b: str) -> bool:
    """An injury-chapter category gathers unrelated conditions (T78 holds anaphylaxis by food,
    unspecified anaphylaxis and angioedema), and so does a factor category (Z59 holds
    homelessness and food insecurity): there two codes are one condition only when their
    titles share a word ("Anaphylactic shock, unspecified" and "Anaphylactic reaction due to
    peanuts", not "Angioneurotic edema"; "Homelessness, unspecified", not "Food insecurity").
    Elsewhere a category is one condition."""
    if a[0] not in "STZ":
        return True
    return bool((_title_words(work, a) - {"unspecified"}) & _title_words(work, b))


_TITLE_WORD = re.compile(r"[a-z]{4,}")


def _title_words(work: Work, code: str) -> set[str]:
    return set(_TITLE_WORD.findall(work.description(code).lower()))


def _residual(work: Work, code: str) -> bool:
    """A code for what its category names nowhere else ("Other fracture of lower leg")."""
    return work.description(code).lower().startswith("other ")


def _overlaps(work: Work, mention_id: int, decision: CodeDecision) -> bool:
    """The mention shares chart text with one of the decision's mentions (two readings of
    words they have in common: "bimalleolar fracture" and "fracture of the left ankle")."""
    m = work.mentions[mention_id]
    return any(
        o.doc_id == m.doc_id and o.start < m.end and m.start < o.end and o is not m
        for o in (work.mentions[j] for j in decision.mention_ids)
    )


_SIDES = ("right", "left")


@lru_cache(maxsize=4096)
def _side_titles(codes: CodeSet, category: str) -> dict[str, str]:
    named = {without_seventh(c) for c in codes.leaves_under(category)}
    return {codes.title(c).lower(): c for c in named}


def _side_siblings(work: Work, code: str) -> set[str]:
    """The codes that name this code's condition with a side, when only its side is
    unspecified (S82.843 "... of unspecified lower leg": S82.841, S82.842); else none."""
    title = work.description(code).lower()
    if title.count("unspecified") != 1:
        return set()
    try:
        titles = _side_titles(work.codes, code[:3])
    except Exception:  # noqa: BLE001 - not a category of this code set
        return set()
    found = {titles.get(title.replace("unspecified", side)) for side in _SIDES}
    return {without_seventh(c) for c in found if c is not None}


def _inside(work: Work, mention_id: int, decision: CodeDecision) -> bool:
    m = work.mentions[mention_id]
    return any(
        o.doc_id == m.doc_id
        and o.start <= m.start
        and m.end <= o.end
        and (o.start, o.end) != (m.start, m.end)
        for o in (work.mentions[j] for j in decision.mention_ids)
    )


def merge_into_statement(work: Work) -> None:
    """One condition documented twice, vaguely elsewhere ("COPD") and precisely in the
    diagnostic statement ("COPD with acute exacerbation"), is coded once; when the statement's
    own code is the unspecified one and the other is specific, the specific code is kept."""
    for rule in work.in_force(MergeIntoStatement):
        groups = [work.matcher(g) for g in rule.groups]
        for d in list(work.decisions):
            if not d.mention_ids or work.stated_in(d, rule.statement_sections):
                continue
            candidates = [
                o
                for o in work.decisions
                if o is not d
                and _same_condition(work, rule, groups, o.code, d.code)
                and work.stated_in(o, rule.statement_sections)
            ]
            if not candidates:
                continue
            # Of the statement's codes for the condition, the one whose title reads most like
            # this one's: the history's "mild NPDR OS without macular edema" joins the left
            # eye's mild retinopathy, not the right eye's moderate one with edema.
            words = _title_words(work, d.code)
            target = max(candidates, key=lambda o: len(words & _title_words(work, o.code)))
            kept = target.code
            if (
                target.code[:3] == d.code[:3]
                and "unspecified" in work.description(target.code).lower()
                and "unspecified" not in work.description(d.code).lower()
            ):
                kept = d.code
            work.remove(d, into=target)
            if kept != target.code:
                work.note(
                    target,
                    rule,
                    f"the statement's {target.code} made specific to {kept} from the same "
                    "provider's documentation elsewhere in the note",
                )
                target.code = kept
            else:
                work.note(
                    target,
                    rule,
                    f"{d.code} documented outside the diagnostic statement is the same "
                    f"condition: coded once as {target.code}",
                )


def _same_condition(
    work: Work, rule: MergeIntoStatement, groups: list[CodeMatcher], a: str, b: str
) -> bool:
    if rule.same_category and a[:3] == b[:3] and _shares_a_title_word(work, a, b):
        return True
    if any(g.matches(a) and g.matches(b) for g in groups):
        return True
    # "recurrent depressive episodes ... current episode moderate" in the history reads F32.1;
    # the statement's F33.1 excludes it: one condition, as the provider finally states it.
    return rule.excludes1 and bool(
        work.known(a)
        and work.known(b)
        and (work.codes.excludes1_conflict(a, b) or work.codes.excludes1_conflict(b, a))
    )


def recode(work: Work) -> None:
    """E13.621 from "diabetic foot ulcer" becomes E11.621: type 2 is the default (I.C.4.a.2)."""
    for rule in work.in_force(Recode):
        if rule.when_coded and not work.coded(rule.when_coded):
            continue
        for d in list(work.decisions):
            prefix = next((p for p in rule.from_codes if d.code.startswith(p)), None)
            if prefix is None:
                continue
            sentence = work.sentence_text([d])
            if rule.unless_text and compiled(rule.unless_text).search(sentence):
                continue
            if rule.when_text and not compiled(rule.when_text).search(sentence):
                continue
            target = work.known(rule.to + d.code[len(prefix) :])
            if target is None or target == d.code:
                continue
            old = d.code
            d = work.recode(d, target)
            work.note(d, rule, f"{old} recoded as {target}")
