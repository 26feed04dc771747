"""Sections and sentences of a document, as character offsets into its text.

Sections come from medSpaCy's sectionizer loaded with our own header rules (`rules/sections.yaml`),
never its defaults (they missed "ASSESSMENT AND PLAN:", so a CHF listed under it inherited the
family-history section before it), and only at the start of a line. Sentences never cross a
section header, a blank line or a numbered problem-list item.

Both are computed piece by piece, so a chart of any length is segmented (a whole inpatient stay
once hit spaCy's 1,000,000-character `max_length`):
- a header can only start a line, so the sectionizer runs on just the lines whose first word
  could begin a header (each with the newline before it, which is how the sectionizer tells a
  line start), offsets added back;
- sentences come from `split_sentences`, a regular-expression splitter that reproduces the
  decisions PyRuSH made on our charts (a line break before a capital, a full stop before a
  capital unless it ends an initial or a list number) at a fraction of its cost: PyRuSH took
  about 85 ms per 2,000 characters, most of a chart's time.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
import types
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.contract import Assertion
from tools.chart import Section, Sentence
from tools.extract.pattern_check import add_rules
from tools.rulefiles import RULES_DIR, load_yaml_model

log = logging.getLogger(__name__)

SECTIONS_FILE = RULES_DIR / "sections.yaml"

# A new sentence starts at a blank line, or at a line that opens a list item ("1.", "2)", "-", "*").
_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:\d{1,2}[.)]\s|[-*\u2022]\s))")

# Sentence starts inside a paragraph (see `split_sentences`).
# A line break before a line that opens with a capital, a digit or a bracket, unless the line
# before ends in a comma, semicolon or hyphen (a wrapped clause: "diverting,\nNo pus was ...").
# After a full stop at the end of a line, any line starts a sentence.
_LINE_START = re.compile(
    r"(?<=[^,;\-\s])[ \t]*\r?\n[ \t]*(?=[A-Z0-9(\[\"'])|(?<=[.!?])[ \t]*\r?\n[ \t]*(?=\S)"
)
# A full stop, question or exclamation mark, then spaces, then a capital or digit, inside a line.
_STOP = re.compile(r"(?<=[.!?])[)\]\"']?[ \t]+(?=[A-Z0-9(\[\"'])")
# What a full stop ends without ending a sentence: an initial ("Y. V. L.") and the usual
# abbreviations (list numbers, "1. CHF", are told by their place at the start of a line).
_NOT_A_STOP = re.compile(
    r"(?:(?:^|(?<=[\s(]))[A-Z]|\b(?:Dr|Mr|Mrs|Ms|Prof|St|vs|Vs|etc|approx|"
    r"No|no|Fig|fig|e\.g|i\.e|cf|ca|resp|Ref|ref|Vol|vol)|\.\.)\.[)\]\"']?$"
)

_LIST_NUMBER = re.compile(r"[ \t]*\d{1,2}[.)][)\]\"']?")

# A reading right after a header's colon: "P: 72" (then the line's end, a comma, a unit or the
# next reading's label) is a pulse, not the plan; "S: 45 yo woman ..." is the subjective.
_NUMBER_AFTER = re.compile(
    r"[ \t]*\d+(?:\.\d+)?[ \t]*(?:bpm|/min|mmHg|%)?[ \t]*(?:[,;|\r\n]|$|[A-Za-z]{1,5}[ \t]*:)",
    re.IGNORECASE,
)

# Longest text handed to the sectionizer for one candidate header line.
_HEADER_WINDOW = 400


class SectionSpec(BaseModel):
    headers: list[str] = Field(min_length=1)
    # Headers that count only with their colon and not before a number: SOAP's "A:" (a bare
    # "A" opens many sentences) and "P:" (also a pulse, "P: 72", in a vitals block).
    colon_headers: list[str] = Field(default_factory=list)
    # Headers that label one line when the line holds their statement ("Dx: ... stage IVB."):
    # the unheaded lines after it go back to the section the label sat in (or none).
    line_headers: list[str] = Field(default_factory=list)
    assertion: Assertion | None = None
    coding_weight: float = Field(default=0.5, ge=0.0, le=1.0)


class Preamble(BaseModel):
    """The letterhead or header block a note may open with, before any header: its lines are
    section `name`, which no text rule reads as the patient's story."""

    name: str = "preamble"
    lines: list[str] = Field(min_length=1)


class SectionRules(BaseModel):
    version: int
    sections: dict[str, SectionSpec]
    preamble: Preamble | None = None


@lru_cache(maxsize=4)
def load_section_rules(path: Path = SECTIONS_FILE) -> SectionRules:
    return load_yaml_model(path, SectionRules)


def section_assertion(name: str) -> Assertion | None:
    spec = load_section_rules().sections.get(name)
    return spec.assertion if spec else None


def section_weight(name: str) -> float:
    spec = load_section_rules().sections.get(name)
    return spec.coding_weight if spec else 0.6


class _DeferredModule(types.ModuleType):
    """A module placeholder that imports the real module on its first attribute access."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


class _PartialPackage(types.ModuleType):
    """A package whose `__init__` has not run yet: its submodules import from its path as usual,
    and the first attribute it lacks (`medspacy.load`, `__version__`) runs the real `__init__`
    into it, so code that wants the whole package still gets it."""

    _completing = False

    def __getattr__(self, name: str) -> Any:
        spec = self.__dict__.get("__spec__")
        if spec is None or self.__dict__.get("_completing") or spec.loader is None:
            raise AttributeError(name)
        self._completing = True
        try:
            spec.loader.exec_module(self)
        finally:
            del self._completing
        self.__class__ = types.ModuleType  # type: ignore[assignment]
        return getattr(self, name)


# The medSpaCy modules we use: the sectionizer and ConText (their spaCy factories register on
# import), and the extension attributes (`doc._.sections`, ...) its `__init__` would set.
_MEDSPACY_PARTS = ("medspacy.section_detection", "medspacy.context")


def _spacy_info(*args: Any, **kwargs: Any) -> Any:
    """`spacy.info`, imported from `spacy.cli` when first called (see `import_medspacy`)."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


def _spacy_cli_placeholders() -> dict[str, types.ModuleType]:
    """Stand-ins for `spacy.cli` and `spacy.cli.info` while spaCy imports: its `__init__` takes
    `info` from `spacy.cli.info`, which imports every spaCy command (typer, jinja2, weasel,
    requests: about 0.1 s) though no pipeline needs them."""
    package = types.ModuleType("spacy.cli")
    package.__path__ = []
    info = types.ModuleType("spacy.cli.info")
    info.info = _spacy_info  # type: ignore[attr-defined]
    return {"spacy.cli": package, "spacy.cli.info": info}


def import_medspacy() -> None:
    """Import the medSpaCy components we use, without what its `__init__` drags in.

    `import medspacy` imports every component: PyRuSH's sentence splitter (loguru, pysbd,
    PyFastNER: about 0.5 s, and we split sentences ourselves), QuickUMLS (which imports nltk,
    and nltk scipy: about 2 s) and spaCy's thinc, which imports torch when it is installed
    (1.5-3.5 s). We use the sectionizer and ConText only. So:
    - the `medspacy` package is entered in `sys.modules` without running its `__init__`
      (`_PartialPackage`), the two components and the extension attributes are imported from
      it; any other use of the package (`medspacy.load`) runs the real `__init__` then;
    - while they import, torch is marked absent (thinc then reports no torch, which no
      component of ours needs) and nltk is a placeholder that imports the real one on first
      attribute access (`medspacy.util` imports QuickUMLS, which binds nltk at import and uses
      it only when a QuickUMLS matcher is built). So is langcodes: `spacy.util` binds it at
      import and uses it only for a language code spaCy has no module for, and its import
      compiles one regular expression of every language tag (about 0.15 s). spaCy's commands
      (`spacy.cli`) are stand-ins too (`_spacy_cli_placeholders`). Every entry is removed
      afterwards, so a later `import torch` (semantic retrieval), `import nltk` or
      `import spacy.cli` gets the real package.
    `tests/apps/test_startup_imports.py` checks what stays out.
    """
    if "medspacy" in sys.modules:
        return
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]
    placeholders: dict[str, types.ModuleType] = {}
    for name in ("nltk", "langcodes"):
        found = None if name in sys.modules else importlib.util.find_spec(name)
        if found is not None:
            placeholders[name] = _DeferredModule(name)
            placeholders[name].__spec__ = found
    if "spacy" not in sys.modules:
        placeholders.update(_spacy_cli_placeholders())
    sys.modules.update(placeholders)
    spec = importlib.util.find_spec("medspacy")
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError("medspacy is not installed")
    package = _PartialPackage("medspacy")
    package.__spec__ = spec
    package.__loader__ = spec.loader
    package.__file__ = spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = "medspacy"
    sys.modules["medspacy"] = package
    try:
        for name in _MEDSPACY_PARTS:
            importlib.import_module(name)
        importlib.import_module("medspacy._extensions").set_extensions()
    except BaseException:
        del sys.modules["medspacy"]
        raise
    finally:
        if blocked and "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
        for name, placeholder in placeholders.items():
            if sys.modules.get(name) is placeholder:
                del sys.modules[name]
        spacy = sys.modules.get("spacy")
        stand_in = placeholders.get("spacy.cli")
        if stand_in is not None and spacy is not None and spacy.__dict__.get("cli") is stand_in:
            del spacy.__dict__["cli"]


@lru_cache(maxsize=1)
def clinical_nlp() -> Any:
    """A blank English spaCy pipeline with medSpaCy's sectionizer and our header rules.

    Its tokenizer is also what ConText reads (`tools/mentions.py`). Built once per process.
    """
    import_medspacy()
    import spacy
    from medspacy.section_detection import SectionRule

    nlp = spacy.blank("en")
    sectionizer: Any = nlp.add_pipe(
        "medspacy_sectionizer",
        config={
            "rules": None,
            "require_start_line": True,
            "span_attrs": None,
            "phrase_matcher_attr": "LOWER",
        },
    )
    rules = []
    for name, spec in load_section_rules().sections.items():
        for header in spec.headers:
            # "Assessment and plan:" anywhere a line starts; a bare "IMPRESSION" only in capitals,
            # so prose lines that begin with "Impression of ..." are not taken for headers.
            rules.append(SectionRule(literal=f"{header}:", category=name))
            words = [{"TEXT": w.upper()} for w in re.findall(r"\w+|[^\w\s]", header)]
            rules.append(SectionRule(literal=header.upper(), category=name, pattern=words))
            # "Problem list (EHR):" or "Assessment (ED provider):": a short parenthesis between
            # the header's words and its colon, in any case.
            # spaCy keeps "):" as one token, ") :" as two.
            lowered = [{"LOWER": w.lower()} for w in re.findall(r"\w+|[^\w\s]", header)]
            inside = {"ORTH": {"NOT_IN": [")", "):", ":", "\n"]}, "OP": "{1,5}"}
            for close in ([{"ORTH": "):"}], [{"ORTH": ")"}, {"ORTH": ":"}]):
                qualified = [*lowered, {"ORTH": "("}, inside, *close]
                rules.append(
                    SectionRule(literal=f"{header} (...):", category=name, pattern=qualified)
                )
        for header in spec.colon_headers:
            rules.append(SectionRule(literal=f"{header}:", category=name))
    add_rules(sectionizer, rules)
    return nlp


@lru_cache(maxsize=1)
def _header_line() -> re.Pattern[str]:
    """Lines that could hold a header: those that open (after spaces) with a header's first
    characters, in any case. Everything else is never shown to the sectionizer."""
    specs = load_section_rules().sections.values()
    heads = {
        re.escape(m.group(0).lower())
        for spec in specs
        for header in spec.headers
        if (m := re.match(r"\w+|[^\w\s]", header.strip()))
    }
    heads |= {rf"{re.escape(h.lower())}[ \t]*:" for spec in specs for h in spec.colon_headers}
    alternatives = "|".join(sorted(heads, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=[\r\n]))[ \t]*(?:{alternatives})", re.IGNORECASE)


@lru_cache(maxsize=1)
def _whole_header() -> re.Pattern[str]:
    """A line that opens (after spaces) with all of some header's characters, in any case and
    with any whitespace (or none) between them. Every rule the sectionizer has (`clinical_nlp`)
    matches tokens of a header's text in order ("history", "of", ..., ":"; or "HISTORY", "OF";
    or the words then "("), starting at the line's first token, and a line's tokens are its
    characters with whitespace or nothing between: so a line this does not match holds no
    header, and is not handed to spaCy ("A 45-year-old man ..." begins with a header's first
    word, "a" of "a&p", but with no header)."""
    specs = load_section_rules().sections.values()
    spelled = {
        r"\s*".join(re.escape(ch) for ch in header if not ch.isspace())
        for spec in specs
        for header in [*spec.headers, *(f"{h}:" for h in spec.colon_headers)]
    }
    alternatives = "|".join(sorted(spelled, key=len, reverse=True))
    return re.compile(rf"[ \t]*(?:{alternatives})", re.IGNORECASE)


def _colon_header_titles() -> frozenset[str]:
    return frozenset(
        re.sub(r"\s+", "", h.lower()) + ":"
        for spec in load_section_rules().sections.values()
        for h in spec.colon_headers
    )


def _colon_header(title: str) -> bool:
    return re.sub(r"\s+", "", title.lower()) in _colon_header_titles()


def segment(
    text: str, hidden: list[tuple[int, int]] | None = None
) -> tuple[list[Section], list[Sentence]]:
    """Return the sections and sentences of `text`, all as character offsets into it.

    A header inside `hidden` ranges (text a reader cannot see) starts no section: an invisible
    "Assessment:" must not turn the visible text after it into a diagnostic statement.
    """
    if not text.strip():
        return [], []
    sections = _sections(text, hidden or [])
    return sections, _sentences(text, sections)


def _header_matches(text: str) -> list[tuple[str, int, int, str]]:
    """(category, header start, header end, title) of every header the sectionizer finds."""
    found: list[tuple[str, int, int, str]] = []
    candidates = list(_header_line().finditer(text))
    if not candidates:
        return found
    nlp = clinical_nlp()
    done_lines: set[int] = set()
    for m in candidates:
        line_start = m.start()
        if line_start in done_lines:
            continue
        done_lines.add(line_start)
        line_end = text.find("\n", line_start)
        stop = len(text) if line_end < 0 else line_end
        # A line break inside the line ("\r" alone) also starts a line for the sectionizer.
        if not _whole_header().match(text, line_start) and "\r" not in text[line_start:stop].rstrip(
            "\r"
        ):
            continue
        # The piece starts at the line break before the line (how the sectionizer knows a
        # line starts there) and ends with the line, or a window long enough for any header.
        begin = line_start - 1 if line_start > 0 else 0
        if stop - begin > _HEADER_WINDOW:
            cut = text.rfind(" ", begin, begin + _HEADER_WINDOW)
            stop = cut if cut > line_start else begin + _HEADER_WINDOW
        doc = nlp(text[begin:stop])
        before = len(found)
        for sec in doc._.sections:
            if sec.category is None:
                continue
            title = doc[sec.title_start : sec.title_end]
            if _colon_header(title.text) and _NUMBER_AFTER.match(text, begin + title.end_char):
                continue  # "P: 72", a pulse in a vitals block
            found.append(
                (sec.category, begin + doc[sec.title_start].idx, begin + title.end_char, title.text)
            )
        if len(found) == before and stop == (len(text) if line_end < 0 else line_end):
            whole = _whole_line_header(text, line_start, stop)
            if whole is not None:
                found.append(whole)
    return found


@lru_cache(maxsize=1)
def _header_names() -> dict[str, str]:
    """Every header's words, lower case, to its section."""
    return {
        " ".join(header.lower().split()): name
        for name, spec in load_section_rules().sections.items()
        for header in spec.headers
    }


def _whole_line_header(text: str, line_start: int, stop: int) -> tuple[str, int, int, str] | None:
    """A line that is nothing but a header's words, in any case and without a colon
    ("Assessment and Plan", "Problem list" on a line of their own), is that header: prose never
    stands alone on its line as a bare section name."""
    line = text[line_start:stop]
    words = line.strip()
    name = _header_names().get(" ".join(words.lower().split()))
    if name is None:
        return None
    start = line_start + line.index(words)
    return name, start, start + len(words), words


def _sections(text: str, hidden: list[tuple[int, int]]) -> list[Section]:
    text_len = len(text)
    found: list[Section] = []
    for category, header_start, header_end, title in _header_matches(text):
        if any(h0 < header_end and header_start < h1 for h0, h1 in hidden):
            continue
        found.append(
            Section(
                name=category,
                title=title,
                header_start=header_start,
                header_end=header_end,
                start=header_start,
                end=text_len,
            )
        )
    for current, following in zip(found, found[1:], strict=False):
        current.end = following.header_start
    found = _end_line_headers(text, found)
    if not found or found[0].header_start > 0:
        first_end = found[0].header_start if found else text_len
        opening = _preamble_end(text, first_end)
        if opening < first_end:
            found.insert(
                0,
                Section(name="unknown", header_start=0, header_end=0, start=opening, end=first_end),
            )
        preamble = load_section_rules().preamble
        if opening > 0 and preamble is not None:
            found.insert(
                0, Section(name=preamble.name, header_start=0, header_end=0, start=0, end=opening)
            )
    return found


@lru_cache(maxsize=1)
def _line_header_titles() -> frozenset[str]:
    return frozenset(
        " ".join(h.lower().split())
        for spec in load_section_rules().sections.values()
        for h in spec.line_headers
    )


def _end_line_headers(text: str, found: list[Section]) -> list[Section]:
    """A line header with its statement on its line ("Dx: adenocarcinoma of the RUL ...")
    heads that line only: the unheaded lines after it ("Tolerating well; mild fatigue.") are
    no diagnostic statement. They return to the section the line sat in ("A/P:\nDx: ...\n-
    continue nitrofurantoin") or, at the top of a note, to none."""
    titles = _line_header_titles()
    if not titles:
        return found
    out: list[Section] = []
    for i, current in enumerate(found):
        out.append(current)
        if " ".join(current.title.lower().rstrip(":").split()) not in titles:
            continue
        line_end = text.find("\n", current.header_end, current.end)
        if line_end < 0 or not text[current.header_end : line_end].strip():
            continue
        if not text[line_end : current.end].strip():
            continue
        enclosing = out[-2].name if len(out) > 1 and i > 0 else "unknown"
        out.append(
            Section(
                name=enclosing, header_start=0, header_end=0, start=line_end + 1, end=current.end
            )
        )
        current.end = line_end + 1
    return out


@lru_cache(maxsize=1)
def _preamble_lines() -> re.Pattern[str] | None:
    preamble = load_section_rules().preamble
    if preamble is None:
        return None
    return re.compile("|".join(f"(?:{p})" for p in preamble.lines))


def _preamble_end(text: str, stop: int) -> int:
    """Where the unheaded opening's letterhead or header block ends: the opening's first
    lines, as long as each is blank or a title, an address or a labelled field
    (rules/sections.yaml `preamble`); 0 when the opening starts with narrative."""
    pattern = _preamble_lines()
    if pattern is None:
        return 0
    end = 0
    while end < stop:
        line_end = text.find("\n", end, stop)
        line_end = stop if line_end < 0 else line_end
        line = text[end:line_end].strip()
        if line and not pattern.fullmatch(line):
            break
        end = min(line_end + 1, stop)
    return end


def split_sentences(text: str) -> list[int]:
    """Offsets where a sentence starts inside running text (besides 0).

    The decisions PyRuSH's rules took on our charts: a line break starts a sentence when the
    next line opens with a capital, a digit or a bracket and the line before does not end in a
    comma, semicolon or hyphen ("... lymph\\nnodes." stays one sentence); inside a line, a full
    stop (or ? !) followed by a capital or digit does, unless it closes an initial ("Y. V.
    L."), a list number ("1. CHF") or a common abbreviation ("Dr.", "vs.", "e.g.").
    """
    starts: list[int] = []
    for m in _LINE_START.finditer(text):
        starts.append(m.end())
    for m in _STOP.finditer(text):
        before = text[max(0, m.start() - 8) : m.start()]
        if _NOT_A_STOP.search(before):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if _LIST_NUMBER.fullmatch(text[line_start : m.start()]):
            continue  # "1. CHF": the number of a list item, not a sentence of its own
        starts.append(m.end())
    return starts


def _sentences(text: str, sections: list[Section]) -> list[Sentence]:
    cuts = {0, len(text)}
    cuts.update(split_sentences(text))
    for sec in sections:
        cuts.add(sec.header_start)
        cuts.add(sec.header_end)
    for m in _BREAK.finditer(text):
        cuts.add(m.start() + 1)
    bounds = sorted(cuts)
    sentences: list[Sentence] = []
    sec_i = 0
    for start, end in zip(bounds, bounds[1:], strict=False):
        # Trim whitespace so a sentence's offsets cover its words, not the gaps between them.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start >= end:
            continue
        while sec_i + 1 < len(sections) and sections[sec_i + 1].start <= start:
            sec_i += 1
        sentences.append(Sentence(start=start, end=end, section=sections[sec_i].name))
    return sentences
