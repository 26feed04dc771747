"""The `/codesense` command's text, read: `code [--inpatient] <note>`, `run <run-id>`, `help`.

The setting options may come first or last (`/codesense code --inpatient <note>` or
`/codesense code <note> --inpatient`); anything in between is the note, kept as typed, except
that Slack's escapes (&amp; &lt; &gt;) are turned back into the characters the coder pasted.
"""

from __future__ import annotations

import html
import re
from typing import Literal

from pydantic import BaseModel

from core.contract import Setting

Verb = Literal["code", "run", "help"]
_WORD = re.compile(r"(\S*)\s*")
_RUN_ID = re.compile(r"^run-[0-9a-f]{16}$")
_OPTION = {"--inpatient": "inpatient", "--outpatient": "outpatient"}

USAGE = (
    "Usage: `/codesense code <note text>` (outpatient; add `--inpatient` for an inpatient stay), "
    "`/codesense run <run-id>`, `/codesense help`. You can also share a PDF or text file and "
    "mention me."
)


class SlashCommand(BaseModel):
    verb: Verb
    setting: Setting | None = None
    note: str = ""
    run_id: str | None = None
    problem: str | None = None


def parse_command(raw: str) -> SlashCommand:
    """What the coder asked for; `problem` says in one line what is wrong with it."""
    text = html.unescape(raw or "").strip()
    first = _WORD.match(text)
    verb = first.group(1).lower() if first else ""
    body = text[first.end() :] if first else ""
    if verb in ("", "help"):
        return SlashCommand(verb="help")
    if verb == "run":
        run_id = body.strip()
        if not _RUN_ID.match(run_id):
            return SlashCommand(
                verb="run", problem="give a run id like run-0123456789abcdef: " + USAGE
            )
        return SlashCommand(verb="run", run_id=run_id)
    if verb != "code":
        return SlashCommand(verb="help", problem=f"I don't know the command {verb[:20]!r}. {USAGE}")
    setting: Setting | None = None
    note = body.strip()
    changed = True
    while changed and note:
        changed = False
        for option, value in _OPTION.items():
            if note.startswith(option + " ") or note.startswith(option + "\n") or note == option:
                note, setting, changed = note[len(option) :].strip(), value, True  # type: ignore[assignment]
            elif note.endswith(" " + option) or note.endswith("\n" + option):
                note, setting, changed = note[: -len(option)].strip(), value, True  # type: ignore[assignment]
    if not note:
        return SlashCommand(verb="code", problem="paste the note after `code`. " + USAGE)
    return SlashCommand(verb="code", setting=setting, note=note)
