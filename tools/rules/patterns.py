"""Rule patterns compiled once per process, case-insensitive, as the engine searches with them;
and a pack's patterns checked once per pack text, not in every process.

The schema checks that every pattern of a rule pack compiles as the pack loads
(`tools/rules/schema.py`), and the engine compiles the ones a chart needs: both go through one
cache, so a pattern is parsed at most once per process. Parsing is `re`'s pure-Python parser:
checking the ~550 patterns of the shipped packs took ~0.15 s of a cold `codesense code`, and
finding the words each pattern needs (`tools/rules/literals.py`, for the engine's prefilter)
~0.1 s more on the first chart. A pack whose very text passed the check before (same Python,
same literals code) is not checked again: a marshal file per pack under
`<data dir>/cache/patterns/` says its patterns compile and holds the words each needs. An
edited pack is new text, checked again, and a bad pattern still fails its load every time (no
file is written for a pack that fails). The engine then compiles only what a chart searches.
The words of patterns the engine builds from Index terms are kept the same way, in one file
`codesense code` adds to when it is done (`keep_parsed_words`).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

from tools.rules import literals

log = logging.getLogger(__name__)

# Bump when what a checked-patterns file holds changes.
_FORMAT = "checked-patterns 1"


@lru_cache(maxsize=2048)
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


class PackPatterns:
    """The patterns of one pack's text as its validation meets them (`check`), with what an
    earlier process that checked the same text recorded (`known`: pattern -> required words)."""

    def __init__(self, pack_file: Path) -> None:
        try:
            self.path: Path | None = _record_path(pack_file.read_bytes())
        except OSError:
            self.path = None  # the pack's load reports it
        self.known: dict[str, frozenset[str] | None] = _read(self.path) if self.path else {}
        self.seen: list[str] = []
        literals.remember(self.known)

    def check(self, pattern: str) -> None:
        """Raise re.error unless `pattern` compiles (compiled now only when not known)."""
        if pattern not in self.known:
            compiled(pattern)
            self.seen.append(pattern)

    def passed(self) -> None:
        """The pack validated: record its patterns for the next process, when new ones were met."""
        if not self.seen or self.path is None:
            return
        record = {**self.known, **{p: literals.required_words(p) for p in self.seen}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(record))
            tmp.replace(self.path)
        except OSError:
            log.warning("rule pattern check not recorded (the data directory is read-only)")


def recall_parsed_words() -> None:
    """Take the required words earlier processes parsed for patterns outside the packs (the
    engine builds some from Index terms: a place's words, a vehicle's), once per process."""
    global _recalled
    if not _recalled:
        _recalled = True
        literals.remember(_read(_parsed_words_path()))


def keep_parsed_words() -> None:
    """Add the required words this process parsed to what the next process recalls. Two
    processes keeping at once may each lose the other's additions: the next one parses those
    again."""
    new = literals.parsed_here()
    if not new:
        return
    path = _parsed_words_path()
    words = {**_read(path), **new}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(words))
        tmp.replace(path)
    except OSError:
        log.warning("parsed pattern words not kept (the data directory is read-only)")


_recalled = False


def _parsed_words_path() -> Path:
    from tools.codeset import default_cache_dir

    key = hashlib.sha256(_depends_on().encode()).hexdigest()[:32]
    return default_cache_dir() / "patterns" / f"words-{key}.marshal"


def _record_path(raw: bytes) -> Path:
    from tools.codeset import default_cache_dir

    key = hashlib.sha256(f"{_depends_on()}\0".encode() + raw).hexdigest()[:32]
    return default_cache_dir() / "patterns" / f"rules-{key}.marshal"


@lru_cache(maxsize=1)
def _depends_on() -> str:
    """What "compiles" and the required words depend on besides the pack's text: this Python's
    `re` and the code of `tools/rules/literals.py`."""
    code = hashlib.sha256(Path(literals.__file__).read_bytes()).hexdigest()
    return f"{_FORMAT}\0{sys.version}\0{code}"


def _read(path: Path) -> dict[str, frozenset[str] | None]:
    """What an earlier check recorded; empty when nothing was, or the file is unreadable."""
    try:
        record = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(record, dict) or not all(
        isinstance(p, str) and (w is None or isinstance(w, frozenset)) for p, w in record.items()
    ):
        return {}
    return record
