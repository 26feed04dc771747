"""Loading YAML data files from `rules/` against a schema, naming the file and line of a bad entry.

Lexicons, section headers and rule packs are data a coding team edits; a typo there must fail
at start-up with "rules/lexicon.yaml line 42: ..." rather than a stack trace or a silent skip.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import RulesError

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

M = TypeVar("M", bound=BaseModel)

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(raw: str) -> yaml.Node | None:
    """The YAML node tree (with line marks), through libyaml when it is there."""
    return yaml.compose(raw, Loader=SafeLoader)


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a 1-based line number."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            # A discriminated union adds its tag ("combine") to the location: skip it.
            if isinstance(node, yaml.MappingNode) and isinstance(key, str):
                continue
            break
        node = match
        line = node.start_mark.line + 1
    return line


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse `path` and validate it as `model`; raise RulesError naming file and line."""
    name = _display_name(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RulesError(f"{name}: cannot read ({err.__class__.__name__})") from None
    try:
        # libyaml's parser (about 10x the pure-Python one); the node tree for line numbers is
        # composed only when a file fails validation.
        data: Any = yaml.load(raw, Loader=SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise RulesError(f"{name}{where}: {problem}") from None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as err:
        first = err.errors()[0]
        line = _node_line(compose(raw), tuple(first["loc"]))
        where = f" line {line}" if line else ""
        field = ".".join(str(p) for p in first["loc"])
        raise RulesError(f"{name}{where}: {field}: {first['msg']}") from None


def file_digest(paths: list[Path]) -> str:
    """A stable content hash over several data files (names and bytes)."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(RULES_DIR.parent))
    except ValueError:
        return path.name
