"""What a coder asks the bot in a run's thread, read by a small deterministic parser.

The forms it understands, in the coder's words:
  "what supports E11.22?"                      the code's evidence, rationale and rule checks
  "why not E11.9?"                             why a code was not chosen (beaten, negated, ...)
  "what is missing for a more specific code?"  unspecified codes and the CDI queries
  "which rules apply to I13.0?"                guideline rules naming the code
  "check E11.22, N18.31, I10"                  Audit Sentinel on those codes against the chart
  "trace"                                      how the run was made: versions, steps, reviews
Anything else is free-form: answered by the LLM when one is configured, otherwise the bot says
which forms it understands. Codes are read in any spelling ("e1122", "E11.22").
"""

from __future__ import annotations

import html
import re
from typing import Literal

from pydantic import BaseModel, Field

from core.codes import normalize

QuestionKind = Literal["supports", "why_not", "missing", "rules", "check", "trace", "help", "free"]

# A code as people type it: "E11.22", "e1122", "I13.0", "Z79.4"; not "run-..." ids or words.
_CODE = re.compile(
    r"(?<![A-Za-z0-9.-])([A-Za-z][0-9][0-9A-Za-z](?:\.?[0-9A-Za-z]{1,4})?)(?![\w.-])"
)
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_RUN_ID = re.compile(r"\brun-[0-9a-f]{16}\b")

_FORMS: list[tuple[QuestionKind, re.Pattern[str]]] = [
    ("check", re.compile(r"^(?:please\s+)?(?:check|audit)\b", re.I)),
    ("trace", re.compile(r"^(?:show\s+(?:me\s+)?)?(?:the\s+)?trace\b", re.I)),
    ("help", re.compile(r"^(?:help|\?|what can you do)\W*$", re.I)),
    (
        "why_not",
        re.compile(
            r"\bwhy\s+(?:not|isn'?t|wasn'?t|no)\b|\bwhy\b.*\bnot\s+(?:coded|chosen|used)\b", re.I
        ),
    ),
    (
        "supports",
        re.compile(
            r"\b(?:what|which\s+text)\s+(?:supports?|justif(?:y|ies)|backs?)\b"
            r"|\b(?:evidence|support)\s+for\b|\bwhy\s+(?:is\s+|was\s+)?\S+\s+coded\b",
            re.I,
        ),
    ),
    (
        "missing",
        re.compile(
            r"\bmissing\b|\bmore\s+specific\b|\bspecificity\b|\bwhat\s+(?:else\s+)?would\s+(?:it\s+)?take\b",
            re.I,
        ),
    ),
    (
        "rules",
        re.compile(r"\brules?\b.*\b(?:apply|applies|for|on|about)\b|\bguidelines?\s+for\b", re.I),
    ),
]

# What the bot says it understands (help, and the answer to anything else when offline).
FORMS_HELP = (
    "I understand these questions in a run's thread (mention me):\n"
    "• `what supports E11.22?`\n"
    "• `why not E11.9?`\n"
    "• `what is missing for a more specific code?`\n"
    "• `which rules apply to I13.0?`\n"
    "• `check E11.22, N18.31, I10` (Audit Sentinel on the codes you list)\n"
    "• `trace`\n"
    "To code a chart: `/codesense code <note text>` (add `--inpatient` for an inpatient stay), or "
    "share a PDF or text file and mention me. `/codesense run <run-id>` shows an earlier run."
)


class Question(BaseModel):
    kind: QuestionKind
    codes: list[str] = Field(default_factory=list)
    run_id: str | None = None
    text: str


def clean_text(raw: str) -> str:
    """Slack's message text as the person typed it: mentions out, &amp; &lt; &gt; back."""
    return " ".join(html.unescape(_MENTION.sub(" ", raw or "")).split())


def codes_in(text: str) -> list[str]:
    """The ICD-10-CM-shaped tokens of a text, canonically spelt, in order, once each."""
    found = []
    for token in _CODE.findall(text):
        # "I10" and "E11.22" are codes; "the", "and" cannot match (a digit is required second).
        found.append(normalize(token))
    return list(dict.fromkeys(found))


def parse_question(raw: str) -> Question:
    """The form a question has, and the codes and run id it names."""
    text = clean_text(raw)
    run = _RUN_ID.search(text)
    body = _RUN_ID.sub(" ", text).strip()
    codes = codes_in(body)
    if not body:
        return Question(kind="help", text=text, run_id=run.group(0) if run else None)
    for kind, pattern in _FORMS:
        if pattern.search(body):
            if kind in ("supports", "why_not", "rules", "check") and not codes:
                # "what supports it?" names no code: not a form we can answer exactly.
                break
            return Question(kind=kind, codes=codes, text=body, run_id=run.group(0) if run else None)
    return Question(kind="free", codes=codes, text=body, run_id=run.group(0) if run else None)
