"""Combination codes and the "with" convention (Section I.A.15), and chapter 15 trimesters."""

from __future__ import annotations

import re
from functools import lru_cache

from agent.guidelines.work import Work, shared_matcher
from agent.state import CodeDecision
from core.errors import CodeSenseError
from tools.codeset import CodeSet
from tools.rules.codes import render
from tools.rules.load import RuleSet
from tools.rules.schema import (
    Combine,
    TrimesterSpecific,
)
from tools.rules.text import compiled, find_text

MAX_PASSES = 4
_SEVENTH_POSITION = 7
_ORDINAL = {1: "first", 2: "second", 3: "third"}


def combine(work: Work) -> None:
    """Combination codes: when every group of a rule is coded, its combination code replaces
    the parts it names in `remove` ("with" presumes the link, Section I.A.15)."""
    rules: list[Combine] = work.in_force(Combine)
    first_parts = _first_parts(work.rules, work.codes)
    for _ in range(MAX_PASSES):
        fired = False
        # A rule none of whose first group is coded cannot fire (nearly all of ~60, each pass):
        # passed over on a set look. What may fire is read again after every change.
        may_fire = first_parts.rules_of(work.decisions)
        for rule in rules:
            if rule.id not in may_fire:
                continue
            while _combine_once(work, rule):
                fired = True
                may_fire = first_parts.rules_of(work.decisions)
        if not fired:
            return


class _FirstParts:
    """The combination rules whose first group holds a code, learnt once per code."""

    def __init__(self, rules: RuleSet, codes: CodeSet) -> None:
        self._first = [
            (r.id, shared_matcher(tuple(r.when[0]), codes)) for r in rules.of_kind(Combine)
        ]
        self._by_code: dict[str, frozenset[str]] = {}

    def rules_of(self, decisions: list[CodeDecision]) -> set[str]:
        found: set[str] = set()
        for d in decisions:
            ids = self._by_code.get(d.code)
            if ids is None:
                ids = frozenset(rule_id for rule_id, m in self._first if m.matches(d.code))
                self._by_code[d.code] = ids
            found |= ids
        return found


@lru_cache(maxsize=4)
def _first_parts(rules: RuleSet, codes: CodeSet) -> _FirstParts:
    return _FirstParts(rules, codes)


def _combine_once(work: Work, rule: Combine) -> bool:
    # A combination made once stays made, even after a later step refined it (O99.280 made
    # trimester-specific as O99.282 must not bring O99.280 back).
    if rule.add and any(c.id == rule.id for d in work.decisions for c in d.rules):
        return False
    used: list[CodeDecision] = []
    for group in rule.when:
        found = next(
            (
                d
                for d in work.coded(group)
                if all(d is not u for u in used)
                and not (rule.same_category and used and d.code[:3] != used[0].code[:3])
            ),
            None,
        )
        if found is None:
            return False
        used.append(found)
    if rule.unless_coded and work.coded(rule.unless_coded):
        return False
    if rule.unless_text and compiled(rule.unless_text).search(work.sentence_text(used)):
        return False
    if rule.when_text and not compiled(rule.when_text).search(work.sentence_text(used)):
        return False
    values = {str(n): d.code[:3] for n, d in enumerate(used, start=1)}
    added: list[str] = []
    for template in rule.add:
        code = render(template, values)
        known = work.known(code) if code else None
        if known is None:
            return False
        added.append(known)
    present = {d.code for d in work.decisions}
    removable = [d for d in work.coded(rule.remove) if d.code not in added] if rule.remove else []
    new = [c for c in added if c not in present]
    if not new and not removable:
        return False
    parts = " + ".join(d.code for d in used)
    mention_ids = [i for d in used for i in d.mention_ids]
    spans = [s for d in used for s in d.spans]
    targets = [
        work.add(
            code,
            f"combination code for {parts} ({rule.title})",
            mention_ids,
            spans,
            match_score=max(d.match_score for d in used),
        )
        for code in added
    ]
    keep = targets[0] if targets else next((d for d in used if d not in removable), None)
    for d in removable:
        work.remove(d, into=keep)
    result = " + ".join(added) if added else ", ".join(d.code for d in used if d not in removable)
    dropped = f"; {', '.join(d.code for d in removable)} not coded" if removable else ""
    for target in targets or ([keep] if keep else []):
        work.note(target, rule, f"{parts} -> {result}{dropped}")
    return True


def trimester_specific(work: Work) -> None:
    """Pregnancy codes take the documented trimester (I.C.15.a.3), or the puerperium when
    their own statement says the condition came after delivery."""
    _puerperium_specific(work)
    _trimester_specific(work)
    for rule in work.in_force(TrimesterSpecific):
        _fetus_not_specified(work, rule)


def _trimester_specific(work: Work) -> None:
    trimester = work.facts.trimester
    if trimester is None:
        return
    for rule in work.in_force(TrimesterSpecific):
        codes = work.matcher(rule.codes)
        for d in list(work.decisions):
            if not codes.matches(d.code):
                continue
            title = work.description(d.code)
            if "unspecified trimester" not in title.lower():
                continue
            wanted = title.lower().replace(
                "unspecified trimester", f"{_ORDINAL[trimester]} trimester"
            )
            parent = work.codes.get(d.code).parent
            siblings = work.codes.get(parent).children if parent else []
            target = next((c for c in siblings if work.description(c).lower() == wanted), None)
            if target is None:
                # The fetus character sits below the trimester: O36.5990 "..., unspecified
                # trimester, not applicable or unspecified" -> O36.5930 ("..., third trimester, ...").
                leaves = work.codes.leaves_under(d.code[:3])
                target = next((c for c in leaves if work.description(c).lower() == wanted), None)
            if target is None:
                continue
            old, d.code = d.code, target
            source = work.facts.sources.get("trimester") or work.facts.sources.get(
                "gestation_weeks"
            )
            work.note(
                d, rule, f"{old} -> {target}: {_ORDINAL[trimester]} trimester documented ({source})"
            )


def _fetus_not_specified(work: Work, rule: TrimesterSpecific) -> None:
    """A pregnancy code that takes the fetus as its 7th character and was read without it
    ("Oligohydramnios" O41.03-) is for a single gestation or an unidentified fetus: 0, "not
    applicable or unspecified" (tabular notes at O31-O36, O40-O41, O60.1-O69: "7th character
    0 is for single gestations and multiple gestations where the fetus is unspecified")."""
    codes = work.matcher(rule.codes)
    for d in list(work.decisions):
        if not codes.matches(d.code) or len(d.code.replace(".", "")) >= _SEVENTH_POSITION:
            continue
        try:
            table = work.codes.get(d.code).seventh_character
        except CodeSenseError:
            continue
        if not table.get("0", "").lower().startswith("not applicable"):
            continue
        try:
            target = work.codes.with_seventh(d.code, "0")
        except CodeSenseError:
            continue
        old = d.code
        d = work.recode(d, target)
        work.note(d, rule, f"{old} -> {target}: single gestation or fetus not identified")


_TRIMESTER = re.compile(r" (?:first|second|third|unspecified) trimester\b")


def _plain(title: str) -> str:
    """A title in lower case without commas ("Mild to moderate pre-eclampsia, complicating
    childbirth" and "Severe pre-eclampsia complicating childbirth" are written alike)."""
    return " ".join(title.lower().replace(",", " ").split())


def childbirth_specific(work: Work) -> None:
    """A delivery in this encounter takes the "in childbirth" code (I.C.15.a.3: "Whenever
    delivery occurs during the current admission, and there is an 'in childbirth' option for
    the obstetric complication being coded, the 'in childbirth' code should be assigned"):
    O14.13 "Severe pre-eclampsia, third trimester" becomes O14.14 "... complicating
    childbirth", O24.410 "Gestational diabetes mellitus in pregnancy, diet controlled" O24.420
    "... in childbirth, diet controlled". Runs after the words have chosen
    among siblings: a delivery on the record outranks the words "in pregnancy" of a clause."""
    for rule in work.in_force(TrimesterSpecific):
        if not _delivered(work, rule):
            continue
        codes = work.matcher(rule.codes)
        for d in list(work.decisions):
            if not codes.matches(d.code):
                continue
            title = _plain(work.description(d.code))
            if "childbirth" in title or "puerperium" in title:
                continue
            bare = _TRIMESTER.sub("", title)
            wanted = {
                bare.replace("in pregnancy", "in childbirth"),
                bare.replace("complicating pregnancy", "complicating childbirth"),
                bare.replace("pregnancy", "childbirth"),
                f"{bare} complicating childbirth",
            } - {bare}
            leaves = work.codes.leaves_under(d.code[:3])
            target = next((c for c in leaves if _plain(work.description(c)) in wanted), None)
            if target is None:
                continue
            old, d.code = d.code, target
            work.note(d, rule, f"{old} -> {target}: delivery in this encounter (in childbirth)")


def _delivered(work: Work, rule: TrimesterSpecific) -> bool:
    """Delivery in this encounter, as the rule reads it: an outcome of delivery coded, or the
    chart's words ("delivered by cesarean section", "SVD")."""
    if rule.childbirth_when_coded and work.coded(rule.childbirth_when_coded):
        return True
    chart = work.request.chart
    return bool(
        rule.childbirth_text and chart is not None and find_text(chart, rule.childbirth_text)
    )


def _puerperium_specific(work: Work) -> None:
    """A "postpartum preeclampsia with severe features" is O14.15 (complicating the puerperium),
    not the unspecified trimester O14.10: the sibling whose title names the puerperium."""
    for rule in work.in_force(TrimesterSpecific):
        if rule.puerperium_text is None:
            continue
        codes = work.matcher(rule.codes)
        said = compiled(rule.puerperium_text)
        for d in list(work.decisions):
            if not codes.matches(d.code):
                continue
            if "unspecified trimester" not in work.description(d.code).lower():
                continue
            if not said.search(work.sentence_text([d])):
                continue
            parent = work.codes.get(d.code).parent
            siblings = work.codes.get(parent).children if parent else []
            found = [c for c in siblings if "puerperium" in work.description(c).lower()]
            if len(found) != 1:
                continue
            old, d.code = d.code, found[0]
            work.note(d, rule, f"{old} -> {found[0]}: complicating the puerperium")
