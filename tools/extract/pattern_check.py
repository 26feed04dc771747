"""Adding rules to a medSpaCy component, with spaCy's check of their token patterns run once per
pattern set rather than in every process.

spaCy's `Matcher` checks each token pattern against its pydantic (v1) schema as the pattern is
added: about 0.4 s CPU for the sectionizer's ~500 patterns in a cold `codesense code`, more than
building the matcher itself. The patterns are data (`rules/sections.yaml`, `rules/context.yaml`,
medSpaCy's default ConText rules): a set that passed the check passes it again. So after a
clean `add`, a marker named by a hash of the patterns, spaCy's and pydantic's versions is left
in the data directory's cache, and a later process adding the very same patterns skips the
check. An edited rule is a new set: it is checked, and a bad pattern still stops start-up with
spaCy's message (no marker is written for it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def add_rules(component: Any, rules: list[Any]) -> None:
    """`component.add(rules)` for a medSpaCy `Sectionizer` or `ConText`, skipping spaCy's
    pattern check when these exact token patterns passed it before."""
    matcher = _token_matcher(component)
    if matcher is None:  # a medSpaCy whose internals moved: check every time, as before
        component.add(rules)
        return
    marker = _marker(rules)
    checked = marker.exists()
    matcher.validate = not checked
    try:
        component.add(rules)
    finally:
        matcher.validate = True
    if not checked:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            tmp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
            tmp.write_text("checked\n")
            tmp.replace(marker)
        except OSError:
            log.warning("pattern check not recorded (the data directory is read-only)")


def _token_matcher(component: Any) -> Any:
    """The spaCy `Matcher` inside a medSpaCy component (its `MedspacyMatcher`'s, both private),
    or None when it is not where medSpaCy 1.x keeps it."""
    from spacy.matcher import Matcher

    inner = getattr(component, f"_{type(component).__name__}__matcher", None)
    matcher = getattr(inner, "_MedspacyMatcher__matcher", None)
    return matcher if isinstance(matcher, Matcher) else None


def _marker(rules: list[Any]) -> Path:
    import pydantic
    import spacy

    from tools.codeset import default_cache_dir

    patterns = [r.pattern for r in rules if isinstance(r.pattern, list)]
    text = json.dumps([spacy.__version__, pydantic.VERSION, patterns], sort_keys=True, default=repr)
    key = hashlib.sha256(text.encode()).hexdigest()[:32]
    return default_cache_dir() / "patterns" / key
