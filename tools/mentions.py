"""Clinical concept mentions with their assertion status, from the term index and medspaCy ConText.

The term index finds what a sentence names; ConText (medspaCy's defaults plus `rules/context.yaml`)
reads how it is said: "No evidence of pneumonia" is negated, "possible pneumonia, rule out" is
possible, "h/o MI" is historical, "mother had breast cancer" is family, "return if fever" is
hypothetical. A mention's section sets its status when the sentence itself is silent
("Mother: CHF" under FAMILY HISTORY is family history).
"""

from __future__ import annotations

import bisect
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.contract import Assertion
from core.errors import CodeSenseError
from tools.chart import Document
from tools.extract.pattern_check import add_rules
from tools.extract.sections import clinical_nlp, section_assertion
from tools.folding import bidi_ranges, fold
from tools.lookup import Candidate, ConceptMatch, TermIndex
from tools.normalize import load_lexicon
from tools.rulefiles import RULES_DIR, load_yaml_model
from tools.rules.codes import CodeMatcher

log = logging.getLogger(__name__)

CONTEXT_FILE = RULES_DIR / "context.yaml"

ContextCategory = Literal[
    "NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY", "TERMINATE"
]

# When a sentence carries several cues, the one that most changes what may be coded wins:
# "no family history of colon cancer" is negated, "possible history of MI" is possible.
_PRECEDENCE: list[tuple[str, Assertion]] = [
    ("is_negated", "negated"),
    ("is_family", "family"),
    ("is_hypothetical", "hypothetical"),
    ("is_uncertain", "possible"),
    ("is_historical", "historical"),
]

# The same order by ConText category, for a mention whose own words carry a cue.
_BY_CATEGORY: list[tuple[str, Assertion]] = [
    ("NEGATED_EXISTENCE", "negated"),
    ("FAMILY", "family"),
    ("HYPOTHETICAL", "hypothetical"),
    ("POSSIBLE_EXISTENCE", "possible"),
    ("HISTORICAL", "historical"),
]


# The words between a concept and an uncertainty cue after it that make the cue close a negated
# phrase of its own ("..., no esophagitis suspected"): it says that phrase's concept is absent.
_NEGATED_PHRASE = re.compile(r"(?:^|[,;:])\s*(?:no|not|without)\s+[^,;:()]*\w[^,;:()]*$", re.I)


def _closes_negated_phrase(span: Any, modifier: Any) -> bool:
    """An uncertainty cue after the concept that ends a "no X suspected" phrase reads X only."""
    if modifier.category.upper() != "POSSIBLE_EXISTENCE":
        return False
    start, _ = modifier.modifier_span
    if start < span.end:
        return False
    return _NEGATED_PHRASE.search(span.doc[span.end : start].text) is not None


def _cue_of_term(span: Any, modifier: Any, term: str) -> bool:
    """True when a ConText cue lies inside the mention and its words are words of the matched
    term itself ("without" in "Migraine without aura"), not of a gap the term index stepped
    over ("no" in "no ... malignancy" read as one order-free match). medspaCy lets a cue strictly
    inside its target modify it (its overlap test misses containment)."""
    start, end = modifier.modifier_span
    if not (span.start <= start and end <= span.end):
        return False
    cue = span.doc[start:end].text.lower()
    if re.search(rf"(?<!\w){re.escape(cue)}(?!\w)", term.lower()) is not None:
        return True
    # "Cholelithiasis without evidence of acute cholecystitis" read as "Cholelithiasis (without
    # cholecystitis)": a forward cue after the mention's first word whose negating word is the
    # term's own reaches only the words after it, which the term itself says are absent.
    first = cue.split()[0]
    return (
        start > span.start
        and modifier.direction.upper() == "FORWARD"
        and first in {"without", "w/o"}
        and re.search(rf"(?<!\w){re.escape(first)}(?!\w)", term.lower()) is not None
    )


class ContextRuleSpec(BaseModel):
    literal: str = Field(min_length=1)
    category: ContextCategory
    # PSEUDO: a phrase that holds a cue's words but modifies nothing ("not in exacerbation").
    direction: Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"] = (
        "BIDIRECTIONAL"
    )
    # How many tokens the cue reaches ("resolved" closes the phrase before it, not the line).
    max_scope: int | None = Field(default=None, ge=1)


class RelativeRoles(BaseModel):
    """Phrases that name a relative in a role around the patient ("lives with her daughter",
    "grandmother's prescription", "health-care proxy (son)"): each `phrases` template with
    `{relative}` filled from `relatives` is a PSEUDO cue, which takes the relative's word from
    the FAMILY cue and modifies nothing."""

    relatives: list[str] = Field(min_length=1)
    phrases: list[str] = Field(min_length=1)

    def literals(self) -> list[str]:
        return [p.format(relative=r) for p in self.phrases for r in self.relatives]


class ContextRules(BaseModel):
    version: int
    drop_defaults: list[str] = Field(default_factory=list)
    rules: list[ContextRuleSpec]
    relative_roles: RelativeRoles | None = None


class Mention(BaseModel):
    """A concept named in the chart, as the output contract lists it."""

    text: str
    doc_id: str
    start: int
    end: int
    assertion: Assertion
    section: str
    codes: list[str] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    sentence_start: int
    sentence_end: int
    cues: list[str] = Field(default_factory=list)


class MentionsInput(BaseModel):
    document: Document


class MentionsOutput(BaseModel):
    mentions: list[Mention]


@lru_cache(maxsize=2)
def load_context_rules(path: Path = CONTEXT_FILE) -> ContextRules:
    return load_yaml_model(path, ContextRules)


@lru_cache(maxsize=1)
def _context_pipeline() -> tuple[Any, Any]:
    """The clinical tokenizer and a ConText component with default + project rules (built once)."""
    from medspacy.context import ConText, ConTextRule

    nlp = clinical_nlp()
    spec = load_context_rules()
    context = ConText(nlp, rules=None, input_span_type="group", span_group_name="concepts")
    dropped = set(spec.drop_defaults)
    defaults = [r for r in ConTextRule.from_json(_default_rules_path()) if r.literal not in dropped]
    ours = [
        ConTextRule(
            literal=r.literal,
            category=r.category,
            direction=r.direction,
            max_scope=r.max_scope,
        )
        for r in spec.rules
    ]
    if spec.relative_roles is not None:
        ours += [
            ConTextRule(literal=literal, category="FAMILY", direction="PSEUDO")
            for literal in spec.relative_roles.literals()
        ]
    add_rules(context, as_phrases([*defaults, *ours], nlp.tokenizer))
    return nlp, context


# A token pattern that is a fixed list of words, each a word or one of a few, some optional:
# `{"LOWER": {"IN": ["is", "was"]}}, {"LOWER": "ruled"}, {"LOWER": "out"}`.
_PHRASE_KEYS = ({"LOWER"}, {"LOWER", "OP"})
# Most phrases one pattern may stand for: past it the token matcher is kept.
_MAX_PHRASES = 1_000


def as_phrases(rules: list[Any], tokenizer: Any) -> list[Any]:
    """ConText's rules with each token pattern that is a short list of word choices replaced by
    the same rule once per phrase it can match ("is ruled out", "was ruled out", ...).

    Why: spaCy's token `Matcher` tests every `IN` list at every token for every pattern (half
    of ConText's time); its `PhraseMatcher` looks each token up once. What ConText reads stays
    the same: a phrase is used only when the tokenizer cuts it into exactly its words; a phrase
    that another rule also matches stays a token pattern (medspaCy keeps the first of two
    matches of one span, token patterns first); every rule keeps its place, so its id (and the
    order of ties between literal rules) is unchanged, the extra phrases come after; each phrase
    rule keeps its pattern's literal in `metadata["cue"]`, the cue a mention shows.
    """
    expanded = [_phrases_of(r, tokenizer) for r in rules]
    seen: dict[tuple[str, ...], int] = {}
    for rule, phrases in zip(rules, expanded, strict=True):
        own = phrases if phrases is not None else [_literal_words(rule, tokenizer)]
        for p in set(own):
            seen[p] = seen.get(p, 0) + 1
    in_place: list[Any] = []
    after: list[Any] = []
    for rule, phrases in zip(rules, expanded, strict=True):
        if phrases is None:
            in_place.append(rule)
            continue
        shared = [p for p in phrases if seen[p] > 1]
        alone = [_phrase_rule(rule, p) for p in phrases if seen[p] == 1]
        if shared:
            in_place.append(_phrase_rule(rule, shared[0], pattern=True))
            after.extend(_phrase_rule(rule, p, pattern=True) for p in shared[1:])
            after.extend(alone)
        else:
            in_place.append(alone[0])
            after.extend(alone[1:])
    return in_place + after


def _literal_words(rule: Any, tokenizer: Any) -> tuple[str, ...]:
    """The words a literal rule matches, as medspaCy's phrase matcher reads it."""
    if rule.pattern is not None:
        return ("\0pattern", str(id(rule)))  # matched by its own pattern: shares nothing
    return tuple(t.lower_ for t in tokenizer(rule.literal.lower()))


def _phrases_of(rule: Any, tokenizer: Any) -> list[tuple[str, ...]] | None:
    """Every phrase a word-choice token pattern matches, or None for any other rule."""
    pattern = rule.pattern
    if not isinstance(pattern, list) or not pattern:
        return None
    choices: list[list[str | None]] = []
    for token in pattern:
        if set(token) not in _PHRASE_KEYS or token.get("OP", "?") != "?":
            return None
        lower = token["LOWER"]
        words = lower["IN"] if isinstance(lower, dict) and set(lower) == {"IN"} else [lower]
        if not all(isinstance(w, str) for w in words):
            return None
        # A token never holds a space, and its LOWER no capital: "risks of" can match no token.
        words = [w for w in dict.fromkeys(words) if w == w.lower() and w.split() == [w]]
        choices.append([*words, None] if "OP" in token else words)
    phrases: list[tuple[str, ...]] = [()]
    for options in choices:
        phrases = [(*p, w) if w is not None else p for p in phrases for w in options]
        if len(phrases) > _MAX_PHRASES:
            return None
    found = [p for p in dict.fromkeys(phrases) if p]
    if not found or any(tuple(t.lower_ for t in tokenizer(" ".join(p))) != p for p in found):
        return None
    return found


def _phrase_rule(rule: Any, words: tuple[str, ...], pattern: bool = False) -> Any:
    """`rule` for one phrase: a literal, or (`pattern`) a token pattern of exactly its words."""
    from medspacy.context import ConTextRule

    return ConTextRule(
        literal=" ".join(words),
        category=rule.category,
        pattern=[{"LOWER": w} for w in words] if pattern else None,
        direction=rule.direction,
        on_match=rule.on_match,
        on_modifies=rule.on_modifies,
        allowed_types=rule.allowed_types,
        excluded_types=rule.excluded_types,
        max_scope=rule.max_scope,
        max_targets=rule.max_targets,
        terminated_by=rule.terminated_by,
        metadata={**(rule.metadata or {}), "cue": rule.literal},
    )


def _cue(rule: Any) -> str:
    """The literal of the rule a modifier came from (a pattern's, for a rule from `as_phrases`)."""
    return str((rule.metadata or {}).get("cue", rule.literal))


def _default_rules_path() -> str:
    """medspaCy's packaged English ConText rules (installed beside it as `resources/en`)."""
    import medspacy

    return str(Path(medspacy.__file__).resolve().parents[1] / "resources/en/context_rules.json")


def find_mentions(inp: MentionsInput, index: TermIndex) -> MentionsOutput:
    """Every concept in the document's visible text, with assertion, section and candidates."""
    doc_model = inp.document
    text = doc_model.text
    headers = sorted((s.header_start, s.header_end) for s in doc_model.sections if s.header_end)
    header_starts = [h0 for h0, _ in headers]

    def header_at(pos: int) -> tuple[int, int] | None:
        """The header whose start is the last at or before `pos` (headers never overlap)."""
        i = bisect.bisect_right(header_starts, pos) - 1
        return headers[i] if i >= 0 else None

    hidden = doc_model.hidden_ranges()
    found: list[tuple[int, int, Any, Any]] = []  # (start, end, match, sentence)
    # Text inside bidi overrides and isolates shows in another order than it is stored.
    reordered = bidi_ranges(text)
    for sent in doc_model.sentences:
        h = header_at(sent.start)
        if h is not None and sent.end <= h[1]:
            continue
        words = index.normalizer.words(text[sent.start : sent.end], offset=sent.start)
        # Most sentences hold no header, hidden or reordered text: every word is kept.
        after_header = h is None or h[1] <= sent.start
        later = bisect.bisect_right(header_starts, sent.start)
        header_inside = later < len(header_starts) and header_starts[later] < sent.end
        if hidden or reordered or header_inside or not after_header:
            words = [
                w
                for w in words
                if (not hidden or doc_model.is_visible(w.start, w.end))
                and ((h := header_at(w.start)) is None or w.start >= h[1])
                and not any(b0 < w.end and w.start < b1 for b0, b1 in reordered)
            ]
        matched = [m for m in index.match_words(words, text=text) if m.candidates]
        found.extend((m.start, m.end, m, sent) for m in matched)
        for clause in _clauses(words, text):
            # The index reads a term once per word list: the second clause's own naming of it
            # ("... with ulcer of the ankle; chronic ulcer left ankle with fat exposed") is read
            # in its clause, where it is not already a reading.
            for m in index.match_words(clause, text=text):
                if m.candidates and not any(o.start < m.end and m.start < o.end for o in matched):
                    found.append((m.start, m.end, m, sent))
        for match in _sequela_readings(index, words, text, sent.start, sent.end):
            found.append((match.start, match.end, match, sent))
    if not found:
        return MentionsOutput(mentions=[])
    # By place in the text: "the closest one before it" (_resolve_vague_neoplasms) and the
    # reader rely on it, and two readings of one start must come in the same order every run.
    found.sort(key=lambda f: (f[0], f[1]))

    readings = _read_context(text, found, [s.start for s in doc_model.sentences])
    mentions: list[Mention] = []
    for (start, end, match, sent), sp in zip(found, readings, strict=True):
        section = doc_model.section_at(start)
        own = _own_cues(sp, match) if sp is not None else []
        assertion, cues = _assertion(sp, section, own)
        mentions.append(
            Mention(
                text=text[start:end],
                doc_id=doc_model.doc_id,
                start=start,
                end=end,
                assertion=assertion,
                section=section,
                codes=[match.candidates[0].code],
                candidates=match.candidates,
                sentence_start=sent.start,
                sentence_end=sent.end,
                cues=cues,
            )
        )
    return MentionsOutput(
        mentions=[_with_neighbours(m) for m in _resolve_vague_neoplasms(mentions)]
    )


def _clauses(words: list[Any], text: str) -> list[list[Any]]:
    """A sentence's words split at its semicolons, when it has any: each clause names its own
    conditions ("Stage 3 pressure ulcer, sacrum; stage 2 pressure ulcer, left heel")."""
    if len(words) < 2:
        return []
    breaks = [i for i in range(1, len(words)) if ";" in text[words[i - 1].end : words[i].start]]
    if not breaks:
        return []
    edges = [0, *breaks, len(words)]
    return [words[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


def _own_cues(sp: Any, match: ConceptMatch) -> list[Any]:
    """The ConText cues that belong to the reading's own words, not to the mention."""
    modifiers = list(getattr(sp._, "modifiers", ()))
    # The reading's own term, not the tabular neighbours listed after it ("Hypertensive heart
    # disease without heart failure" beside "hypertension without CKD").
    own = [m for m in modifiers if _cue_of_term(sp, m, match.candidates[0].term)]
    if not own and _names_its_code(sp, match.candidates[0].code):
        # "NPDR without macular edema": the code's category has a without-axis.
        own = [m for m in modifiers if m.category == "NEGATED_EXISTENCE"]
    # "GERD, no esophagitis suspected": the cue belongs to the negated phrase.
    own += [m for m in modifiers if m not in own and _closes_negated_phrase(sp, m)]
    return own


def _assertion(sp: Any, section: str, own: list[Any] | None = None) -> tuple[Assertion, list[str]]:
    """A mention's assertion and cues from its ConText span (None: none read), leaving out the
    cues in `own`; a present mention takes its section's assertion (family history ...)."""
    assertion: Assertion = "present"
    cues: list[str] = []
    if sp is not None:
        modifiers = list(getattr(sp._, "modifiers", ()))
        if own:
            # A cue that is a word of the matched term ("migraine without aura", "diabetes
            # without complications") says nothing about the mention: read the others.
            categories = {m.category.upper() for m in modifiers if m not in own}
            assertion = next(
                (status for cat, status in _BY_CATEGORY if cat in categories), "present"
            )
        else:
            for attr, status in _PRECEDENCE:
                if getattr(sp._, attr, False):
                    assertion = status
                    break
        cues = [f"{m.category}:{_cue(m.rule)}" for m in modifiers if not own or m not in own]
    if assertion == "present":
        assertion = section_assertion(section) or "present"
    return assertion, cues


def span_mentions(document: Document, spans: list[tuple[int, int]]) -> list[Mention]:
    """Mentions for spans of visible text the term index matched nothing in (phrases whose
    candidates come from elsewhere: the semantic index), with their sentence, section and
    assertion read by ConText as `find_mentions` reads its own; no candidates yet."""
    text = document.text
    found: list[tuple[int, int, Any, Any]] = []
    for start, end in sorted(set(spans)):
        sent = next((s for s in document.sentences if s.start <= start < s.end), None)
        if sent is not None and end <= sent.end and document.is_visible(start, end):
            found.append((start, end, None, sent))
    if not found:
        return []
    readings = _read_context(text, found, [s.start for s in document.sentences])
    out: list[Mention] = []
    for (start, end, _, sent), sp in zip(found, readings, strict=True):
        section = document.section_at(start)
        assertion, cues = _assertion(sp, section)
        out.append(
            Mention(
                text=text[start:end],
                doc_id=document.doc_id,
                start=start,
                end=end,
                assertion=assertion,
                section=section,
                sentence_start=sent.start,
                sentence_end=sent.end,
                cues=cues,
            )
        )
    return out


_WITHOUT_CUES = frozenset({"without", "w/o"})

# "Scar of left hand, late effect of old dog bite" (rules/lexicon.yaml `sequela_cues`).
_SEQUELA_CUE = (
    re.compile(
        r"\b(?:" + "|".join(re.escape(c) for c in load_lexicon().sequela_cues) + r")\b", re.I
    )
    if load_lexicon().sequela_cues
    else None
)
# What joins a residual to its cause when the sequela cue closes the statement.
_CAUSED_BY = re.compile(r"\b(?:from|after|following|due to|secondary to|caused by)\b", re.I)
# Injuries, poisonings and their consequences (chapter 19): the codes a sequela's cause takes.
_INJURY = re.compile(r"^[ST]\d")


def _sequela_readings(
    index: TermIndex, words: list[Any], text: str, start: int, end: int
) -> list[Any]:
    """The injury a residual is the late effect of, read with the residual's words: "scar of
    left hand, late effect of old dog bite" is an open bite of the left hand (S61.452-, with
    7th character S), though the words after the cue name no site (Section I.C.19.a).
    Only when the words after the cue read as no injury by themselves ("Colles fracture" has
    its site), and only readings that take words from both sides of the cue and name an
    injury; each spans from the residual's site to the injury."""
    cue = _SEQUELA_CUE.search(text, start, end) if _SEQUELA_CUE is not None else None
    if cue is None:
        return []
    clause_start = max(text.rfind(";", start, cue.start()), text.rfind("\n", start, cue.start()))
    clause_end = min(
        (i for i in (text.find(";", cue.end(), end), text.find("\n", cue.end(), end)) if i >= 0),
        default=end,
    )
    residual = [w for w in words if clause_start < w.start and w.end <= cue.start()]
    cause = [w for w in words if w.start >= cue.end() and w.end <= clause_end]
    lo, hi = cue.start(), cue.end()
    if residual and not cause:
        # The cue closes the statement ("scar of left hand from a dog bite, late effect"): the
        # cause is what the residual is said to come from.
        joint = _CAUSED_BY.search(text, residual[0].start, cue.start())
        if joint is not None:
            lo, hi = joint.start(), joint.end()
            cause = [w for w in residual if w.start >= hi]
            residual = [w for w in residual if w.end <= lo]
    if not residual or not cause:
        return []
    if any(m.candidates and _INJURY.match(m.candidates[0].code) for m in index.match_words(cause)):
        return []
    return [
        m
        for m in index.match_words(residual + cause)
        if m.candidates and m.start < lo and m.end > hi and _INJURY.match(m.candidates[0].code)
    ]


def _names_its_code(sp: Any, code: str) -> bool:
    """The only negation of the concept is a "without" inside it that its code's category
    names as an axis: "mild nonproliferative diabetic retinopathy without macular edema" is
    E11.329-, "migraine without aura" G43.0-, not a negated diagnosis. "Hypertension without
    chronic kidney disease" stays negated: no code of I12 says "with / without chronic"."""
    from tools.title_axes import with_without_axis

    negations = [m for m in getattr(sp._, "modifiers", ()) if m.category == "NEGATED_EXISTENCE"]
    # Injury titles ("laceration without foreign body") are read by the injury rules.
    if not negations or code[:1] in "STVWXYZ":
        return False
    words: list[str] = []
    for m in negations:
        first, last = m.modifier_span
        if m.rule.literal.lower() not in _WITHOUT_CUES or not sp.start < first < sp.end:
            return False
        following = sp.doc[last : min(last + 1, sp.end)].text.lower()
        if not following:
            return False
        words.append(following)
    return all(with_without_axis(code, w) for w in words)


# Most characters ConText reads at once: the sentences holding mentions are grouped into windows
# of whole sentences up to this size (ConText's scope ends at a sentence), so a chart of any
# length is read in pieces, never over spaCy's `max_length`, and text without mentions is never
# tokenised. Small, because ConText relates every cue to every concept of a document: a
# 275,000-character encounter took 14 s in 20,000-character windows.
CONTEXT_WINDOW = 2_000


def _read_context(
    text: str, found: list[tuple[int, int, Any, Any]], sentence_starts: list[int]
) -> list[Any]:
    """ConText's reading (a spaCy span with its modifiers, or None) of each found concept."""
    every_start = set(sentence_starts)
    nlp, context = _context_pipeline()
    windows: list[tuple[int, int, list[int]]] = []  # (start, end, indexes into found)
    for i, (_, _, _, sent) in enumerate(found):
        if windows and sent.start < windows[-1][1]:
            windows[-1][2].append(i)  # same sentence as the previous concept
        elif windows and sent.end - windows[-1][0] <= CONTEXT_WINDOW:
            w0, _, members = windows[-1]
            windows[-1] = (w0, sent.end, [*members, i])
        else:
            windows.append((sent.start, sent.end, [i]))
    import numpy as np
    from spacy.attrs import IDX, SENT_START

    readings: list[Any] = [None] * len(found)
    for w0, w1, members in windows:
        # ConText reads the folded text too: a look-alike "nо" must still negate what follows.
        folded = fold(text[w0:w1])
        sdoc = nlp.make_doc(folded.text)
        # Each token starts a sentence (1) or not (-1, as `is_sent_start = False` sets it), set
        # in one call: token by token it cost half as much as tokenising.
        origin = folded.origin
        starts = [
            n == 0 or origin[at] + w0 in every_start
            for n, at in enumerate(sdoc.to_array(IDX).tolist())
        ]
        sdoc.from_array([SENT_START], np.where(starts, 1, -1).astype(np.uint64))
        spans: dict[int, Any] = {}
        for i in members:
            start = folded.position(found[i][0] - w0)
            end = folded.position(found[i][1] - w0)
            span = sdoc.char_span(start, end, label="CONCEPT", alignment_mode="expand")
            if span is not None:
                spans[i] = span
        sdoc.spans["concepts"] = list(spans.values())
        context(sdoc)
        by_offsets = {(s.start_char, s.end_char): s for s in sdoc.spans["concepts"]}
        for i, span in spans.items():
            readings[i] = by_offsets.get((span.start_char, span.end_char), span)
    return readings


MAX_CANDIDATES = 20
# Share of the best candidate's score a tabular neighbour carries: always below any term match.
_NEIGHBOUR_SCORE = 0.3


def _with_neighbours(mention: Mention) -> Mention:
    """The mention's candidates, then the codes beside its best one in the tabular list: its
    category or subcategory, their other children, and its own children.

    "Lymphadenopathy" reads R59.1 (generalized); R59.0 (localized) and R59.9 (unspecified) are
    where a coder who knows more, or a reasoner that reads more, would go instead.
    """
    if not mention.candidates:
        return mention
    best = mention.candidates[0]
    near = _tabular_neighbours(best.code)
    if not near:
        return mention
    have = {c.code for c in mention.candidates}
    room = MAX_CANDIDATES - len(mention.candidates)
    if room <= 0:
        return mention
    score = round(best.score * _NEIGHBOUR_SCORE, 3)
    extra = [
        # Built from the code set's own entries, so without pydantic's validation.
        Candidate.model_construct(code=code, term=title, origin="hierarchy", score=score)
        for code, title in near
        if code not in have
    ]
    if not extra:
        return mention
    return mention.model_copy(update={"candidates": [*mention.candidates, *extra[:room]]})


@lru_cache(maxsize=16384)
def _tabular_neighbours(code: str) -> tuple[tuple[str, str], ...]:
    """(code, title) of the codes beside `code` in the tabular list, in order, each once; none
    for a code the code set does not have. The same for every chart: computed once per code."""
    from tools.codeset import CodeSet

    codeset = CodeSet.load()
    try:
        info = codeset.get(code)
    except CodeSenseError:
        return ()
    near: list[str] = []
    parent = info.parent
    if parent and not parent.isdigit() and "-" not in parent:
        near.append(parent)
        near.extend(codeset.get(parent).children)
    near.extend(info.children)
    return tuple((c, codeset.title(c)) for c in dict.fromkeys(near))


# Assertions under which a named neoplasm is not the patient's current one, so nothing refers
# back to it: "growths on the back" beside "history of SCC, excised" are new lesions, and a
# "tumor" read as a past cancer's code would code that cancer as current.
_NAMES_NO_NEOPLASM = ("negated", "family", "hypothetical", "historical")


@lru_cache(maxsize=1)
def _vague_neoplasms() -> dict[str, CodeMatcher]:
    """The residual neoplasm codes (rules/lexicon.yaml `vague_neoplasms`) and what each may
    refer back to."""
    table: dict[str, CodeMatcher] = {}
    for entry in load_lexicon().vague_neoplasms:
        matcher = CodeMatcher(entry.refers_to)
        table.update({code: matcher for code in entry.codes})
    return table


def _resolve_vague_neoplasms(mentions: list[Mention]) -> list[Mention]:
    """'Renal cell carcinoma of the right kidney ... the tumor measured 7 cm': the tumor is the
    carcinoma already named, not a second neoplasm of unknown site and behaviour.

    A mention whose best reading is the residual neoplasm code of its behaviour takes, as best
    reading, the nearest site-specific neoplasm code it could refer to (the closest one before it,
    else after it); with none in the document it keeps its own.
    """
    vague = _vague_neoplasms()
    # "No lesions suspicious for melanoma" names no neoplasm a "growth" could be.
    specific = [
        (i, m.candidates[0].code)
        for i, m in enumerate(mentions)
        if m.candidates
        and m.candidates[0].code not in vague
        and m.assertion not in _NAMES_NO_NEOPLASM
    ]
    out: list[Mention] = []
    for i, m in enumerate(mentions):
        refers = vague.get(m.candidates[0].code) if m.candidates else None
        if refers is None:
            out.append(m)
            continue
        fits = [(j, code) for j, code in specific if refers.matches(code)]
        before = [f for f in fits if f[0] < i]
        target = before[-1] if before else (fits[0] if fits else None)
        if target is None:
            out.append(m)
            continue
        referent = next(c for c in mentions[target[0]].candidates if c.code == target[1])
        lead = referent.model_copy(update={"score": min(referent.score, m.candidates[0].score)})
        out.append(m.model_copy(update={"codes": [lead.code], "candidates": [lead, *m.candidates]}))
    return out
