"""The three NCHS ICD-10-CM index tables (drugs and chemicals, neoplasms, external causes) as entries.

The April 1, 2026 XML files ship gzipped in `data/icd10cm-2026-april/`. Each code in a table becomes
one `IndexEntry`: the path of index terms leading to it (main term first, nonessential modifiers
removed), the table column it sits in (drug and neoplasm tables), and the code as printed, checked
against the code set. `entry_terms` turns an entry into the phrases a chart would use, for the term
index: neoplasm "lung, upper lobe" in "Malignant Primary" -> "malignant neoplasm of upper lobe of
lung"; drug "Acetaminophen" in "Adverse effect" -> "adverse effect of acetaminophen".
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import marshal
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple
from xml.etree.ElementTree import Element

from tools.codeset import CodeSet, default_cache_dir

log = logging.getLogger(__name__)

try:  # defusedxml refuses entity tricks; the files are ours, so stdlib is an acceptable fallback.
    from defusedxml.ElementTree import parse as _parse_xml
except ImportError:  # pragma: no cover - depends on the environment
    from xml.etree.ElementTree import parse as _parse_xml

IndexTable = Literal["drug", "neoplasm", "eindex"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "icd10cm-2026-april"
TABLE_FILES: dict[IndexTable, str] = {
    "drug": "icd10cm-drug-April-1-2026-XML.xml.gz",
    "neoplasm": "icd10cm-neoplasm-April-1-2026-XML.xml.gz",
    "eindex": "icd10cm-eindex-April-1-2026-XML.xml.gz",
}
# Cells that hold no code: "--" in the drug table, "-" in the neoplasm table.
_EMPTY_CELLS = {"", "-", "--"}
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
# "NEC"/"NOS" are index shorthand a chart never writes.
_SHORTHAND = re.compile(r"\b(?:NEC|NOS)\b")
# Words that continue a term after a comma ("Chlorovinyldichloro-arsine, not in war").
_POSTMODIFIER = re.compile(r"^(?:not|with|without|in|of|by|due to|from|to|for|on|at)\b")
_MAX_PHRASES = 12


class IndexEntry(NamedTuple):
    """One code in an index table, reached by `path` and, in the drug and neoplasm tables, a column.

    `code` is dotted and upper case, without the table's trailing "-" ("C34.9-" -> "C34.9",
    `partial` True: the table asks for more characters). `valid` says the code is in the code set;
    `billable` that it can be reported as is (drug-table codes such as T39.1X1 still need their
    7th character). A named tuple, not a model: 47,000 of them are read at every start.
    """

    table: IndexTable
    path: list[str]
    nemod: list[str]
    code: str
    column: str | None
    partial: bool
    valid: bool
    billable: bool


def load_index_entries(table: IndexTable | None = None) -> list[IndexEntry]:
    """Every entry of one table, or of all three (each table parsed once per process, and read
    from a cache file in the data directory after its first parse)."""
    if table is None:
        return [e for t in TABLE_FILES for e in _table_entries(t)]
    if table not in TABLE_FILES:
        raise ValueError(f"Unknown index table {table!r}; expected one of {sorted(TABLE_FILES)}.")
    return list(_table_entries(table))


@lru_cache(maxsize=len(TABLE_FILES))
def _table_entries(table: IndexTable) -> tuple[IndexEntry, ...]:
    """One table's entries. Parsing the XML and checking every code against the code set takes
    seconds (the three tables about 6 s); the parsed rows are kept as one `marshal` file per
    table, named by a hash of the XML file and this module, in the code set's cache directory
    (written under a temporary name and renamed, like the term index)."""
    source = DATA_DIR / TABLE_FILES[table]
    cache = _cache_path(table, source)
    if cache is not None and cache.is_file():
        try:
            rows = marshal.loads(cache.read_bytes())
            return tuple(IndexEntry(*r) for r in rows)
        except (EOFError, ValueError, TypeError):
            log.warning("index table cache unreadable; parsing the table again")
    entries = tuple(_parse_table(table, source, CodeSet.load()))
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps([tuple(e) for e in entries]))
            tmp.replace(cache)
        except OSError:
            log.warning("index table cache not written (the data directory is read-only)")
    return entries


def _cache_path(table: IndexTable, source: Path) -> Path | None:
    try:
        digest = hashlib.sha256(source.read_bytes())
        digest.update(Path(__file__).read_bytes())
    except OSError:
        return None
    return default_cache_dir() / f"index-{table}-{digest.hexdigest()[:16]}.marshal"


def _parse_table(table: IndexTable, path: Path, codeset: CodeSet) -> Iterator[IndexEntry]:
    with gzip.open(path, "rb") as handle:
        root: Any = _parse_xml(handle).getroot()
    columns = {int(h.get("col")): _column_name(h.text or "") for h in root.iter("head")}
    for main_term in root.iter("mainTerm"):
        yield from _walk(table, main_term, [], [], columns, codeset)


def _column_name(head: str) -> str:
    """ "Poisoning Accidental (unintentional)" -> "Poisoning, Accidental (unintentional)"."""
    head = " ".join(head.split())
    if head.startswith("Poisoning "):
        return "Poisoning, " + head[len("Poisoning ") :]
    return head


def _walk(
    table: IndexTable,
    node: Element,
    path: list[str],
    nemod: list[str],
    columns: dict[int, str],
    codeset: CodeSet,
) -> Iterator[IndexEntry]:
    title, modifiers = _title(node)
    path = [*path, title]
    nemod = [*nemod, *modifiers]
    for child in node:
        if child.tag in ("code", "subcat", "seecat"):
            entry = _entry(table, path, nemod, child.text or "", None, codeset)
            if entry is not None:
                yield entry
        elif child.tag == "cell":
            column = columns.get(int(child.get("col") or 0))
            entry = _entry(table, path, nemod, child.text or "", column, codeset)
            if entry is not None:
                yield entry
        elif child.tag == "term":
            yield from _walk(table, child, path, nemod, columns, codeset)


def _title(node: Element) -> tuple[str, list[str]]:
    """The term without its nonessential modifiers, and the modifiers ("(adult) (child)" is two).

    The neoplasm table's `<manif>` (what a site name means, e.g. "book-leaf (mouth)") is kept
    with the modifiers: it qualifies the term without being part of it.
    """
    title = node.find("title")
    modifiers: list[str] = []
    if title is None:
        return "", modifiers
    text = title.text or ""
    for part in title:
        if part.tag == "nemod":
            modifiers.extend(_split_modifiers(part.text or ""))
        text += part.tail or ""
    manif = node.find("manif")
    if manif is not None and manif.text:
        modifiers.append(" ".join(manif.text.split()))
    return " ".join(text.split()), modifiers


def _split_modifiers(text: str) -> list[str]:
    found = [" ".join(m.split()) for m in _PARENTHESISED.findall(text)]
    return found or ([" ".join(text.split())] if text.strip() else [])


def _entry(
    table: IndexTable,
    path: list[str],
    nemod: list[str],
    raw: str,
    column: str | None,
    codeset: CodeSet,
) -> IndexEntry | None:
    raw = raw.strip()
    if raw in _EMPTY_CELLS:
        return None
    partial = raw.endswith("-")
    code = codeset.normalize(raw.rstrip("-").rstrip("."))
    valid = codeset.exists(code) and codeset.kind(code) not in ("chapter", "block")
    return IndexEntry(
        table=table,
        path=path,
        nemod=nemod,
        code=code,
        column=column,
        partial=partial,
        valid=valid,
        billable=valid and not partial and codeset.is_billable(code),
    )


# --- phrases -----------------------------------------------------------------------------------


def entry_terms(entry: IndexEntry) -> list[str]:
    """Natural, lower-case phrases for an entry, most literal first, at most 12.

    drug "Acetaminophen" / "Adverse effect" -> "adverse effect of acetaminophen", ...;
    neoplasm "lung, upper lobe" / "Malignant Primary" -> "malignant neoplasm of upper lobe of
    lung", "upper lobe lung cancer", ...; eindex "Fall, falling" > "from, off, out of" > "ladder"
    -> "fall from ladder", "falling from ladder", ...
    """
    if entry.table == "drug":
        phrases = _drug_phrases(entry)
    elif entry.table == "neoplasm":
        phrases = _neoplasm_phrases(entry)
    else:
        phrases = _eindex_phrases(entry)
    unique = dict.fromkeys(" ".join(p.split()) for p in phrases if p.strip())
    return list(unique)[:_MAX_PHRASES]


def _plain(text: str) -> str:
    return " ".join(_SHORTHAND.sub(" ", text).split()).strip(" ,").lower()


def _main_term_variants(term: str) -> list[str]:
    """Readings of a main term with commas: "Fall, falling" names two words (alternatives);
    "Execution, legal" is inverted ("legal execution"); "Cold, exposure to" reads "exposure to
    cold"; "Chlorovinyldichloro-arsine, not in war" keeps its order."""
    pieces = [_plain(p) for p in term.split(",") if _plain(p)]
    if len(pieces) <= 1:
        return pieces
    head, rest = pieces[0], pieces[1:]
    stem = head.split()[0][:4]
    alternatives = [head] + [p for p in rest if p.split()[0].startswith(stem)]
    others = [p for p in rest if not p.split()[0].startswith(stem)]
    before = [p for p in others if not _POSTMODIFIER.match(p)]
    after = [p for p in others if _POSTMODIFIER.match(p)]
    variants = []
    for alt in alternatives:
        if before and after:
            variants.append(" ".join([*before, alt, *after]))
        elif before:
            # "Cold, exposure to" -> "exposure to cold"; "Execution, legal" -> "legal execution"
            variants.append(" ".join([*before, alt]))
        else:
            variants.append(" ".join([alt, *after]))
    return variants


def _subterm_variants(term: str) -> list[str]:
    """Commas in subterms list alternatives: "from, off, out of" -> from / off / out of."""
    pieces = [_plain(p) for p in term.split(",")]
    return [p for p in pieces if p][:3] or [""]


def _path_variants(path: list[str]) -> list[list[str]]:
    """Each path level as its list of readings, main term first."""
    if not path:
        return []
    return [_main_term_variants(path[0]) or [""], *(_subterm_variants(t) for t in path[1:])]


def _combinations(levels: list[list[str]], joiner: str = " ", limit: int = 8) -> list[str]:
    combos: list[list[str]] = [[]]
    for options in levels:
        combos = [[*c, o] for c in combos for o in options if o][:limit] or combos
    return [joiner.join(c) for c in combos if c]


_DRUG_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Poisoning, Accidental (unintentional)": (
        "poisoning by {s}",
        "{s} poisoning",
        "accidental poisoning by {s}",
        "overdose of {s}",
        "{s} overdose",
        "accidental {s} overdose",
    ),
    "Poisoning, Intentional self-harm": (
        "intentional self-poisoning by {s}",
        "intentional overdose of {s}",
        "intentional {s} overdose",
        "suicide attempt by {s} overdose",
    ),
    "Poisoning, Assault": ("assault by {s} poisoning", "poisoning by {s}, assault"),
    "Poisoning, Undetermined": (
        "poisoning by {s}, undetermined intent",
        "{s} poisoning of undetermined intent",
    ),
    "Adverse effect": (
        "adverse effect of {s}",
        "adverse reaction to {s}",
        "{s} adverse effect",
        "side effect of {s}",
    ),
    "Underdosing": ("underdosing of {s}", "{s} underdosing"),
}


def _drug_phrases(entry: IndexEntry) -> list[str]:
    substances = _combinations(_path_variants(entry.path), limit=3)
    templates = _DRUG_TEMPLATES.get(entry.column or "", ("{s}",))
    # Substance-major order: each substance reading with the most literal template first.
    return [t.format(s=s) for t in templates for s in substances]


_NEOPLASM_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # column -> (templates with a site, templates for the table's top row without a site)
    "Malignant Primary": (
        (
            "malignant neoplasm of {of}",
            "primary malignant neoplasm of {of}",
            "{pre} cancer",
            "cancer of {of}",
            "carcinoma of {of}",
            "{pre} carcinoma",
        ),
        ("malignant neoplasm", "cancer"),
    ),
    "Malignant Secondary": (
        (
            "secondary malignant neoplasm of {of}",
            "metastasis to {of}",
            "metastatic cancer to {of}",
            "{pre} metastasis",
        ),
        ("secondary malignant neoplasm", "metastatic cancer"),
    ),
    "Ca in situ": (
        ("carcinoma in situ of {of}", "{pre} carcinoma in situ"),
        ("carcinoma in situ",),
    ),
    "Benign": (
        ("benign neoplasm of {of}", "benign tumor of {of}", "{pre} benign tumor"),
        ("benign neoplasm", "benign tumor"),
    ),
    "Uncertain Behavior": (
        ("neoplasm of uncertain behavior of {of}", "{pre} neoplasm of uncertain behavior"),
        ("neoplasm of uncertain behavior",),
    ),
    "Unspecified Behavior": (
        ("neoplasm of unspecified behavior of {of}", "{pre} neoplasm", "{pre} tumor"),
        ("neoplasm of unspecified behavior", "neoplasm", "tumor"),
    ),
}


def _neoplasm_phrases(entry: IndexEntry) -> list[str]:
    # The table has one main term, "Neoplasm, neoplastic"; the site starts at the first subterm.
    site_levels = [_subterm_variants(t) for t in entry.path[1:]]
    with_site, without_site = _NEOPLASM_TEMPLATES.get(entry.column or "", (("{pre}",), ()))
    if not site_levels:
        return list(without_site)
    reversed_levels = site_levels[::-1]
    # "upper lobe of lung" reads innermost first; "lung upper lobe" / "upper lobe lung" are
    # how problem lists write it. Only a level's first reading goes after "of": the table
    # lists the noun before the adjective ("abdomen, abdominal").
    of_forms = _combinations([level[:1] for level in reversed_levels], joiner=" of ", limit=2)
    pre_forms = _combinations(reversed_levels, limit=2) + _combinations(site_levels, limit=2)
    phrases: list[str] = []
    for template in with_site:
        forms = of_forms if "{of}" in template else pre_forms
        phrases.extend(template.format(of=f, pre=f) for f in forms)
    return phrases


def _eindex_phrases(entry: IndexEntry) -> list[str]:
    return _combinations(_path_variants(entry.path))
