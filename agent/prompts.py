"""The LLM reasoner's prompts: files under `prompts/`, each with a version line, known by SHA-256.

A prompt file starts with `version: N` and a blank line; the rest is its text, with `$name`
placeholders (`string.Template`) for what a request fills in. The hash covers the whole file, so
a run's versions (`prompt:coding` -> `sha256:...`) name exactly the words the model was given.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from core.errors import RulesError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_VERSION_LINE = re.compile(r"^version: (\d{1,4})\n\n")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    text: str
    sha256: str

    def render(self, **values: str) -> str:
        """The text with its placeholders filled; a value is inserted as is, never re-read."""
        return Template(self.text).substitute(values)


@lru_cache(maxsize=16)
def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> Prompt:
    path = folder / f"{name}.md"
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RulesError(f"prompts/{path.name}: cannot read ({type(err).__name__})") from None
    m = _VERSION_LINE.match(text)
    if m is None:
        raise RulesError(f"prompts/{path.name} line 1: must be 'version: N' then a blank line")
    return Prompt(
        name=name,
        version=int(m.group(1)),
        text=text[m.end() :],
        sha256="sha256:" + hashlib.sha256(raw).hexdigest(),
    )
