"""Loading YAML data files from `rules/` against a schema, naming the file and line of a bad entry.

Lexicons, section headers and rule packs are data a coding team edits; a typo there must fail
at start-up with "rules/lexicon.yaml line 42: ..." rather than a stack trace or a silent skip.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import marshal
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import RulesError

log = logging.getLogger(__name__)

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

M = TypeVar("M", bound=BaseModel)

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# What a cached parse depends on besides the file's bytes.
_PARSER = f"pyyaml {yaml.__version__} {SafeLoader.__name__} cache 1"


def parsed(raw: str, what: str, parse: Callable[[str], Any]) -> Any:
    """`parse(raw)`, kept in the data directory's cache under a hash of the text, `what` and
    the parser's version. Building Python objects from YAML runs PyYAML's constructor in
    Python even behind libyaml (about 0.25 s for the files `codesense code` reads at start);
    a cached parse is one `marshal` read. Only plain YAML values are cached (dates are kept
    as ISO text with their places beside); anything else is parsed every time."""
    from tools.codeset import default_cache_dir

    key = hashlib.sha256(f"{what}\0{_PARSER}\0{raw}".encode()).hexdigest()[:32]
    path = default_cache_dir() / "yaml" / f"{key}.marshal"
    try:
        cached, places = marshal.loads(path.read_bytes())
        return _with_dates(cached, places)
    except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError):
        pass
    value = parse(raw)
    dates: list[tuple[Any, ...]] = []
    try:
        data = marshal.dumps((_plain(value, (), dates), dates))
    except ValueError:
        return value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        log.warning("parsed YAML not cached (the data directory is read-only)")
    return value


def _plain(value: Any, at: tuple[Any, ...], dates: list[tuple[Any, ...]]) -> Any:
    """`value` with dates as ISO text, each date's place (keys and indexes) added to `dates`."""
    if isinstance(value, dict):
        if not all(isinstance(k, str | int | bool) or k is None for k in value):
            raise ValueError("not cached: a mapping key that is not text or a number")
        return {k: _plain(v, (*at, k), dates) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, (*at, i), dates) for i, v in enumerate(value)]
    if isinstance(value, datetime.datetime):
        dates.append((*at, "datetime"))
        return value.isoformat()
    if isinstance(value, datetime.date):
        dates.append((*at, "date"))
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    raise ValueError(f"not cached: {type(value).__name__}")


def _with_dates(value: Any, dates: list[tuple[Any, ...]]) -> Any:
    for *at, kind in dates:
        if not at:
            return _date(kind, value)
        node = value
        for key in at[:-1]:
            node = node[key]
        node[at[-1]] = _date(kind, node[at[-1]])
    return value


def _date(kind: str, text: str) -> datetime.date:
    if kind == "datetime":
        return datetime.datetime.fromisoformat(text)
    return datetime.date.fromisoformat(text)


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


def load_yaml_model(path: Path, model: type[M], context: dict[str, Any] | None = None) -> M:
    """Parse `path` and validate it as `model` (with `context` for its validators); raise
    RulesError naming file and line."""
    name = _display_name(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RulesError(f"{name}: cannot read ({err.__class__.__name__})") from None
    try:
        # libyaml's parser (about 10x the pure-Python one); the node tree for line numbers is
        # composed only when a file fails validation.
        data: Any = parsed(raw, "data", _load)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise RulesError(f"{name}{where}: {problem}") from None
    try:
        return model.model_validate(data if data is not None else {}, context=context)
    except ValidationError as err:
        first = err.errors()[0]
        line = _node_line(compose(raw), tuple(first["loc"]))
        where = f" line {line}" if line else ""
        field = ".".join(str(p) for p in first["loc"])
        raise RulesError(f"{name}{where}: {field}: {first['msg']}") from None


def _load(raw: str) -> Any:
    return yaml.load(raw, Loader=SafeLoader)


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
