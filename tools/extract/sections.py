"""Sections and sentences of a document, found by medspaCy with the header rules in `rules/sections.yaml`.

medspaCy's default section rules miss headers real notes use ("ASSESSMENT AND PLAN:" was not
recognised, so a CHF listed under it inherited the family-history section before it). We load our
own rules instead, only at the start of a line, and split sentences so they never cross a section
header, a blank line or a numbered problem-list item.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.contract import Assertion
from tools.chart import Section, Sentence
from tools.rulefiles import RULES_DIR, load_yaml_model

log = logging.getLogger(__name__)

SECTIONS_FILE = RULES_DIR / "sections.yaml"

# A new sentence starts at a blank line, or at a line that opens a list item ("1.", "2)", "-", "*").
_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:\d{1,2}[.)]\s|[-*\u2022]\s))")


class SectionSpec(BaseModel):
    headers: list[str] = Field(min_length=1)
    assertion: Assertion | None = None
    coding_weight: float = Field(default=0.5, ge=0.0, le=1.0)


class SectionRules(BaseModel):
    version: int
    sections: dict[str, SectionSpec]


@lru_cache(maxsize=4)
def load_section_rules(path: Path = SECTIONS_FILE) -> SectionRules:
    return load_yaml_model(path, SectionRules)


def section_assertion(name: str) -> Assertion | None:
    spec = load_section_rules().sections.get(name)
    return spec.assertion if spec else None


def section_weight(name: str) -> float:
    spec = load_section_rules().sections.get(name)
    return spec.coding_weight if spec else 0.6


@lru_cache(maxsize=1)
def clinical_nlp() -> Any:
    """medspaCy pipeline: PyRuSH sentences + sectionizer with our header rules (built once)."""
    from loguru import logger as loguru_logger

    # PyRuSH logs every token decision at DEBUG through loguru; chart text must not reach logs.
    loguru_logger.disable("PyRuSH")
    import medspacy
    from medspacy.section_detection import SectionRule

    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush"])
    sectionizer = nlp.add_pipe(
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
    sectionizer.add(rules)
    return nlp


def segment(
    text: str, hidden: list[tuple[int, int]] | None = None
) -> tuple[list[Section], list[Sentence]]:
    """Return the sections and sentences of `text`, all as character offsets into it.

    A header inside `hidden` ranges (text a reader cannot see) starts no section: an invisible
    "Assessment:" must not turn the visible text after it into a diagnostic statement.
    """
    if not text.strip():
        return [], []
    nlp = clinical_nlp()
    doc = nlp(text)
    sections = _sections(doc, len(text), hidden or [])
    return sections, _sentences(doc, text, sections)


def _sections(doc: Any, text_len: int, hidden: list[tuple[int, int]]) -> list[Section]:
    found: list[Section] = []
    for sec in doc._.sections:
        if sec.category is None:
            continue
        header_start = doc[sec.title_start].idx
        title = doc[sec.title_start : sec.title_end]
        header_end = title.end_char
        if any(h0 < header_end and header_start < h1 for h0, h1 in hidden):
            continue
        found.append(
            Section(
                name=sec.category,
                title=title.text,
                header_start=header_start,
                header_end=header_end,
                start=header_start,
                end=text_len,
            )
        )
    for current, following in zip(found, found[1:], strict=False):
        current.end = following.header_start
    if not found or found[0].header_start > 0:
        first_end = found[0].header_start if found else text_len
        found.insert(
            0, Section(name="unknown", header_start=0, header_end=0, start=0, end=first_end)
        )
    return found


def _sentences(doc: Any, text: str, sections: list[Section]) -> list[Sentence]:
    cuts = {0, len(text)}
    for sent in doc.sents:
        cuts.add(sent.start_char)
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
