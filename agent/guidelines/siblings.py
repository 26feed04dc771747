"""Choosing among sibling codes by the words of the chart clause: the side of the body, an axis
such as intractable / not intractable, and "with X" versus "without X".

The term index reads a phrase by its words and may land on any sibling that shares them: "acute
suppurative otitis media" is as close to the right ear's H66.001 as to the left ear's H66.002.
The siblings are found in the code set itself (codes of one category whose titles are the same
once the axis words are left out), and the choice is the sibling whose axis words the clause of
the mention says, nearest the mention first ("left ear" after "otitis media", "L knee" before
"OA"). Nothing here lists codes: the titles carry the axis.
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent.guidelines.work import Work
from agent.state import CodeDecision
from tools.codeset import CodeSet
from tools.normalize import stem
from tools.rules.schema import ChooseByWords
from tools.rules.text import compiled

# Words a title comparison leaves out: they join a phrase, they name no axis.
_FILLER = frozenset({"of", "the", "and", "side", "unspecified", "unilateral", "a", "an"})
_WORD = re.compile(r"[a-z0-9]+")
# A clause ends at these: a side or a "without" beyond them belongs to another condition.
_CLAUSE_END = re.compile(r"[;\n]|\.\s")
_WITH = re.compile(r"\b(with|without)\s+([a-z]+(?:\s+[a-z]+)?)", re.IGNORECASE)


def choose_by_words(work: Work) -> None:
    """Each decision resting on mentions takes the sibling its clauses' words choose; a code
    read from chart text alone (an add-code rule's) reads the clause of its own evidence."""
    for rule in work.in_force(ChooseByWords):
        codes = work.matcher(rule.codes)
        for d in list(work.decisions):
            if not (d.mention_ids or d.spans) or not codes.matches(d.code):
                continue
            target = _by_axis(work, rule, d) if rule.values else None
            if rule.with_without and target is None:
                target = _by_with_without(work, d)
            if rule.site_words is not None and target is None:
                target = _by_site(work, rule.site_words, d)
            if target is None or target == d.code:
                continue
            old = d.code
            d = work.recode(d, target)
            work.note(d, rule, f"{old} -> {target}: {rule.message}")
        if rule.both is not None and rule.axis is not None:
            _both_covers_each(work, rule)


def _both_covers_each(work: Work, rule: ChooseByWords) -> None:
    """The sibling that says both values is the one condition: a sibling beside it that says
    one of them is that condition again ("stenosis of the left ICA; stenosis of the right ICA"
    read as bilateral I65.23 from one clause and right I65.21 from the other: I65.23 alone,
    Section I.B.13)."""
    assert rule.axis is not None
    codes = work.matcher(rule.codes)
    for d in list(work.decisions):
        if d not in work.decisions or not codes.matches(d.code):
            continue
        if _title_value(work.description(d.code), rule, work) != rule.both:
            continue
        for sibling in _siblings(work.codes, d.code, rule.axis):
            other = work.find(sibling)
            if other is None or _title_value(work.description(sibling), rule, work) is None:
                continue
            work.remove(other, into=d)
            work.note(d, rule, f"{sibling} -> {d.code}: {rule.message}")


def descend_by_words(work: Work) -> None:
    """A category the term index stopped at ("H40.11", primary open-angle glaucoma) descends to
    the leaf below it whose axis words the clause says ("OS, mild stage" -> H40.1121); axes the
    clause says nothing of keep their unspecified leaf. Nothing is chosen when the words leave
    more than one leaf and no unspecified one."""
    rules = work.in_force(ChooseByWords)
    for d in list(work.decisions):
        if not d.mention_ids or not work.known(d.code) or work.codes.is_billable(d.code):
            continue
        if work.codes.lacks_only_seventh(d.code):
            continue
        leaves = _leaves(work.codes, d.code)
        stems = list(dict.fromkeys(without_seventh(c) for c in leaves))
        if leaves and all(_encounter_seventh(work.codes, c) for c in stems):
            # Injury leaves differ by the encounter's 7th character too (S93.411A/D/S): the
            # axes choose the code before it, validation adds the encounter's letter.
            leaves = stems
        if not leaves or len(leaves) > 200:
            continue
        used = []
        for rule in rules:
            if not rule.values or not work.matcher(rule.codes).matches(d.code):
                continue
            said = _said(work, rule, d) or ({rule.default} if rule.default else set())
            wanted = next(iter(said)) if len(said) == 1 else rule.both if said else None
            if wanted is None:
                continue
            kept = [c for c in leaves if _title_value(work.description(c), rule, work) == wanted]
            if kept:
                leaves = kept
                used.append(rule)
        if not used:
            continue
        if len(leaves) > 1:
            leaves = [c for c in leaves if "unspecified" in work.description(c).lower()]
        if len(leaves) > 1:
            leaves = [min(leaves, key=lambda c: -work.description(c).lower().count("unspecified"))]
        if len(leaves) != 1:
            continue
        old, d.code = d.code, leaves[0]
        work.note(d, used[0], f"{old} -> {d.code}: the clause's words choose the code below it")


def _encounter_seventh(codes: CodeSet, code: str) -> bool:
    """The code lacks only a 7th character that says the encounter (injuries: A, D, S), not
    one that is an axis of its own (a glaucoma's stage)."""
    try:
        if not codes.lacks_only_seventh(code):
            return False
        meaning = codes.get(code).seventh_character.get("A", "")
    except Exception:  # noqa: BLE001 - an unknown code has no 7th character
        return False
    return meaning.lower().startswith("initial encounter")


def without_seventh(code: str) -> str:
    """S93.411A -> S93.411; S82.51XA -> S82.51 (the placeholder goes with the letter)."""
    return code[:-1].rstrip("X").rstrip(".") if len(code.replace(".", "")) == 7 else code


# --- one axis of named values -----------------------------------------------------------------


def _by_axis(work: Work, rule: ChooseByWords, d: CodeDecision) -> str | None:
    assert rule.axis is not None
    siblings = _siblings(work.codes, d.code, rule.axis)
    if not siblings:
        return None
    value_of = {code: _title_value(work.description(code), rule, work) for code in siblings}
    said = _said(work, rule, d)
    if not said:
        return None
    wanted = next(iter(said)) if len(said) == 1 else rule.both
    if wanted is None or _title_value(work.description(d.code), rule, work) == wanted:
        return None
    return next((c for c, v in value_of.items() if v == wanted), None)


def _said(work: Work, rule: ChooseByWords, d: CodeDecision) -> set[str]:
    """The values the decision's clauses say; else the rule's `said_by_fact`, when it names one."""
    said: set[str] = set()
    for i in d.mention_ids:
        said |= _clause_values(work, i, rule)
    if not d.mention_ids:
        for text, start, end in _span_clauses(work, d):
            said |= _values_in(text, start, end, rule)
    if not said and rule.said_by_fact is not None:
        value = getattr(work.facts, rule.said_by_fact, None)
        if value in {v.name for v in rule.values}:
            said = {value}
    return said


def _title_value(title: str, rule: ChooseByWords, work: Work) -> str | None:
    """The axis value a code's title says; with the rule's chart fact known, a value's
    `title_when` for it ("right" is "right nondominant" for a left-handed patient)."""
    fact = getattr(work.facts, rule.fact) if rule.fact else None
    found = [
        v.name
        for v in rule.values
        if compiled(v.title_when.get(fact, v.title) if fact else v.title).search(title)
    ]
    return found[0] if len(found) == 1 else None


def _clause_values(work: Work, mention_id: int, rule: ChooseByWords) -> set[str]:
    """The axis values the mention's own words say, else the nearest after it in its clause,
    else the nearest before it."""
    text, start, end = _clause(work, mention_id)
    return _values_in(text, start, end, rule)


def _values_in(text: str, start: int, end: int, rule: ChooseByWords) -> set[str]:
    """The axis values said in text[start:end], else the nearest after it, else before it."""
    patterns = [(v.name, re.compile(v.text)) for v in rule.values]
    inside = {name for name, p in patterns if p.search(text, start, end)}
    if inside:
        return inside
    after = [(m.start(), name) for name, p in patterns if (m := p.search(text, end))]
    if after:
        return {min(after)[1]}
    before = [
        (m.end(), name) for name, p in patterns for m in p.finditer(text, 0, start) if m.end()
    ]
    if before:
        return {max(before)[1]}
    return set()


def _span_clauses(work: Work, d: CodeDecision) -> list[tuple[str, int, int]]:
    """The clause of each evidence span of a decision without mentions, with the span's
    offsets in it ("Alzheimer's dementia" read by an add-code rule, then "moderate stage")."""
    chart = work.request.chart
    if chart is None:
        return []
    clauses = []
    for span in d.spans:
        doc = chart.document(span.doc_id).text
        for _, s, e in work.sentences_of_span(span.doc_id, span.start, span.end):
            cuts = [c.end() for c in _CLAUSE_END.finditer(doc, s, span.start)]
            lo = max(cuts, default=s)
            stop = _CLAUSE_END.search(doc, span.end, max(e, span.end))
            hi = stop.start() if stop else max(e, span.end)
            clauses.append((doc[lo:hi], span.start - lo, span.end - lo))
    return clauses


def _clause(work: Work, mention_id: int) -> tuple[str, int, int]:
    """The mention's clause (its sentence cut at semicolons and line ends) and the mention's
    offsets in it."""
    m = work.mentions[mention_id]
    chart = work.request.chart
    if chart is None:
        return m.text, 0, len(m.text)
    doc = chart.document(m.doc_id).text
    s, e = min(m.sentence_start, m.start), max(m.sentence_end, m.end)
    cuts = [c.end() for c in _CLAUSE_END.finditer(doc, s, m.start)]
    lo = max(cuts, default=s)
    stop = _CLAUSE_END.search(doc, m.end, e)
    hi = stop.start() if stop else e
    return doc[lo:hi], m.start - lo, m.end - lo


@lru_cache(maxsize=4096)
def _key(title: str, axis: str) -> tuple[str, ...]:
    # Singular forms: a bilateral title writes the plural ("Occlusion and stenosis of bilateral
    # carotid arteries" is the sibling of "... of left carotid artery").
    rest = compiled(axis).sub(" ", title.lower())
    return tuple(sorted(stem(w) for w in _WORD.findall(rest) if w not in _FILLER))


def _siblings(codes: CodeSet, code: str, axis: str) -> list[str]:
    """Billable codes of the code's category whose titles equal its title without the axis."""
    return list(_sibling_codes(codes, code, axis))


# Facts of the code set, asked again by every chart that codes the same category.
@lru_cache(maxsize=8192)
def _sibling_codes(codes: CodeSet, code: str, axis: str) -> tuple[str, ...]:
    try:
        title = codes.title(code)
    except Exception:  # noqa: BLE001 - an unknown code has no siblings
        return ()
    key = _key(title, axis)
    leaves = _leaves(codes, code[:3])
    if _encounter_seventh(codes, code):
        # S92.353 (the encounter's letter still to come) is a sibling of S92.355, not S92.355A.
        leaves = list(dict.fromkeys(without_seventh(c) for c in leaves))
    # A sibling's lowered title holds every word of the key (the axis is cut out with a space,
    # so no word forms across it): most of a category's leaves fail that look before the regex.
    # A key word is a singular form: its title may write the plural, which holds all of the
    # singular but its last letter ("artery" in "arteries").
    words = sorted({w[:-1] if len(w) > 3 else w for w in key}, key=len, reverse=True)
    return tuple(
        c
        for c in leaves
        if c != code and _holds(codes.title(c).lower(), words) and _key(codes.title(c), axis) == key
    )


def _holds(text: str, words: list[str]) -> bool:
    return all(w in text for w in words)


def _leaves(codes: CodeSet, category: str) -> list[str]:
    return list(_leaf_codes(codes, category))


@lru_cache(maxsize=4096)
def _leaf_codes(codes: CodeSet, category: str) -> tuple[str, ...]:
    try:
        return tuple(codes.leaves_under(category))
    except Exception:  # noqa: BLE001 - not a category of this code set
        return ()


# --- "with X" versus "without X" --------------------------------------------------------------


def _by_with_without(work: Work, d: CodeDecision) -> str | None:
    """A sibling whose title swaps one "with" for "without" (or back), where the clause says
    "without X" ("no X", "w/o X") or "with X" for that X."""
    title = work.description(d.code)
    words = title.lower().split()
    clauses = [_clause(work, i)[0].lower() for i in d.mention_ids]
    for c in _leaves(work.codes, d.code[:3]):
        if c == d.code:
            continue
        other = work.description(c).lower().split()
        if len(other) != len(words):
            continue
        diff = [k for k, (a, b) in enumerate(zip(words, other, strict=True)) if a != b]
        if len(diff) != 1 or {words[diff[0]], other[diff[0]]} != {"with", "without"}:
            continue
        k = diff[0]
        x = " ".join(other[k + 1 : k + 3]).rstrip(",")
        head = re.escape(x.split()[0].rstrip(","))
        says_without = any(
            re.search(rf"\b(?:without|w/o|no)\s+(?:\w+\s+)?{head}", cl) for cl in clauses
        )
        says_with = any(re.search(rf"\b(?:with|w/)\s+(?:\w+\s+)?{head}", cl) for cl in clauses)
        if other[k] == "without" and says_without:
            return c
        if other[k] == "with" and says_with and not says_without:
            return c
    return None


# --- the site an "unspecified" code leaves out ----------------------------------------------

_NOT_A_SITE = frozenset({"other", "with", "without", "specified", "nos"})
_SITE_FILLER = _FILLER | {
    "due",
    "to",
    "in",
    "by",
    "or",
    "on",
    "at",
    "part",
    "parts",
}


@lru_cache(maxsize=8192)
def _content(title: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(title.lower()) if w not in _SITE_FILLER)


def _with_phrases(title: str) -> frozenset[tuple[str, str]]:
    """The "with X" / "without X" phrases of a title, in their own order of words."""
    return frozenset((m.group(1).lower(), m.group(2).lower()) for m in _WITH.finditer(title))


def _by_site(work: Work, synonyms: dict[str, str], d: CodeDecision) -> str | None:
    """ "Cellulitis, unspecified" (L03.90) with "cellulitis of left lower leg" in its clause is
    L03.116 "Cellulitis of left lower limb": the code of the category whose title has every
    word of the current title and further words all said in the clause (the most such words;
    none chosen on a tie)."""
    title = work.description(d.code)
    if "unspecified" not in title.lower():
        return None
    # The title's own "with" / "without" stay in the candidate's title: S61.229 "laceration with
    # foreign body of unspecified finger without damage to nail" is not S61.321 "... with damage".
    full = _content(title)
    phrases = _with_phrases(title)
    clauses = [_clause(work, i)[0] for i in d.mention_ids]

    def said(word: str) -> bool:
        pattern = synonyms.get(word) or rf"(?i)\b{re.escape(word)}\b"
        return any(re.search(pattern, c) for c in clauses)

    leaves = _leaves(work.codes, d.code[:3])
    if _encounter_seventh(work.codes, d.code):
        # S61.229 (the encounter's letter still to come) is compared with S61.221, not S61.221A.
        leaves = list(dict.fromkeys(without_seventh(c) for c in leaves))
    best: list[tuple[int, str]] = []
    for c in leaves:
        words = _content(work.description(c))
        extra = words - full
        # "Other ..." is where nothing more specific fits, and "with / without" is an axis of
        # its own (R11.10 "vomiting, unspecified" is not R11.11 "without nausea").
        if c == d.code or not full <= words or not extra or extra & _NOT_A_SITE:
            continue
        if _with_phrases(work.description(c)) != phrases:
            continue
        if all(said(w) for w in extra):
            best.append((len(extra), c))
    if not best:
        return None
    best.sort(reverse=True)
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None
    return best[0][1]
