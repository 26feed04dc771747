"""Rule-pack checks on a finished code list, whoever produced it (the offline reasoner, an LLM
reasoner, or codes an auditor brings): sequencing, combination codes coded as separate parts,
missing "use additional" codes. Only problems are reported; the engine records what it applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.contract import CheckResult, RuleCheck
from tools.codeset import APRIL_UPDATE_START, CodeSet
from tools.rules.codes import CodeMatcher, render, shared_matcher
from tools.rules.load import RuleSet
from tools.rules.schema import Combine, NeverFirst, RequireCode, RuleBase, SequenceBefore

_RESULT: dict[str, CheckResult] = {"error": "fail", "warning": "warn", "info": "pass"}


def check_code_list(
    codes: list[str],
    setting: str,
    rules: RuleSet,
    on: date | None = None,
    codeset: CodeSet | None = None,
) -> list[list[RuleCheck]]:
    """Per code (in sequence order, the first is principal / first-listed), the rules it breaks."""
    day = on or APRIL_UPDATE_START
    out: list[list[RuleCheck]] = [[] for _ in codes]
    if not codes:
        return out
    cs = codeset or CodeSet.load()

    def matcher(selectors: list[str]) -> CodeMatcher:
        return shared_matcher(tuple(selectors), cs.is_manifestation)

    def report(i: int, rule: RuleBase, message: str) -> None:
        out[i].append(
            RuleCheck(
                id=rule.id, result=_RESULT[rule.severity], message=f"{message} ({rule.citation})"
            )
        )

    for never in rules.of_kind(NeverFirst, setting, day):
        if never.text is not None or never.chart_text is not None:
            continue  # decided on the chart's words (an incidental finding), not the codes
        if matcher(never.codes).matches(codes[0]) and len(codes) > 1:
            report(0, never, f"{codes[0]} may not be sequenced first: {never.title}")
    for pair in rules.of_kind(SequenceBefore, setting, day):
        first, then = matcher(pair.first), matcher(pair.then)
        for i, code in enumerate(codes):
            if not first.matches(code):
                continue
            earlier = [c for c in codes[:i] if then.matches(c) and not first.matches(c)]
            if pair.keep_stated_first and setting == "inpatient":
                # the principal diagnosis the provider stated may stay first (Section II)
                earlier = [c for c in earlier if c != codes[0]]
            if earlier:
                report(i, pair, f"{code} should be sequenced before {earlier[0]}: {pair.title}")
    for missed in missed_combinations(codes, setting, rules, day, cs):
        report(
            missed.index,
            missed.rule,
            f"{' + '.join(missed.parts)} coded separately: the combination code is "
            f"{', '.join(missed.wanted)} unless the record says they are unrelated",
        )
    for need in rules.of_kind(RequireCode, setting, day):
        needed = matcher(need.need)
        for i, code in enumerate(codes):
            if matcher(need.when_coded).matches(code) and not any(
                needed.matches(c) for j, c in enumerate(codes) if j != i
            ):
                report(i, need, f"{code}: {need.message}")
    return out


@dataclass(frozen=True)
class MissedCombination:
    """Codes a combination rule joins, coded as separate parts: the rule, the position of the
    first part in the list, the parts as coded and the combination code(s) the rule names."""

    rule: Combine
    index: int
    parts: list[str]
    wanted: list[str]


def missed_combinations(
    codes: list[str], setting: str, rules: RuleSet, day: date, cs: CodeSet
) -> list[MissedCombination]:
    """Each combination rule whose parts are all in `codes` while its combination code is not
    (and no code the rule lets stand instead). The Sentinel reads these fields, never the
    check's message. A one-part rule read from the record's words ("poorly controlled"
    diabetes is E11.65) combines nothing in a code list: it is not asked of one."""
    out: list[MissedCombination] = []
    for combo in rules.of_kind(Combine, setting, day):
        if not combo.add or (len(combo.when) == 1 and combo.when_text):
            continue
        used: list[int] = []
        for group in combo.when:
            m = shared_matcher(tuple(group), cs.is_manifestation)
            hit = next((i for i, c in enumerate(codes) if m.matches(c) and i not in used), None)
            if hit is None:
                break
            used.append(hit)
        else:
            if combo.unless_coded:
                unless = shared_matcher(tuple(combo.unless_coded), cs.is_manifestation)
                if any(unless.matches(c) for c in codes):
                    continue
            values = {str(n): codes[i][:3] for n, i in enumerate(used, start=1)}
            wanted = [w for w in (render(t, values) for t in combo.add) if w]
            if any(w in codes for w in wanted):
                continue
            out.append(MissedCombination(combo, used[0], [codes[i] for i in used], wanted))
    return out
