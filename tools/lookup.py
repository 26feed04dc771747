"""The term index: from words in a sentence to ranked ICD-10-CM candidates, most specific first.

Terms come from the tabular titles and inclusion terms, the Table of Drugs, the Neoplasm Table,
the External Cause Index and `rules/lexicon.yaml`. A term matches a sentence when all its content
words occur close together, in any order ("nephropathy due to type 2 diabetes" finds "Type 2
diabetes mellitus with diabetic nephropathy"). A match whose words are a strict subset of another
overlapping match's words gives way to it, so the combination code beats its parts
("type 2 diabetes with diabetic nephropathy" -> E11.21, not E11.9).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import compress
from pathlib import Path
from typing import Literal, overload

from pydantic import BaseModel

from tools.normalize import (
    GENERIC,
    LEXICON_FILE,
    STOPWORDS,
    Normalizer,
    Word,
    default_normalizer,
    load_lexicon,
)

log = logging.getLogger(__name__)

# "hierarchy" and "semantic" candidates are alternatives added after the term match: the codes
# beside the best one in the tabular, and the nearest code texts in meaning (tools/semantic.py).
Origin = Literal["lexicon", "title", "inclusion", "index", "hierarchy", "semantic"]
# Lower ranks first: a team's own lexicon wins a tie, then the official titles.
_ORIGIN_RANK: dict[str, int] = {
    "lexicon": 0,
    "title": 1,
    "inclusion": 2,
    "index": 3,
    "hierarchy": 4,
    "semantic": 5,
}

_DROP = re.compile(
    r"\b(?:not elsewhere classified|in diseases classified elsewhere|classified elsewhere|"
    r"elsewhere classified|not otherwise specified)\b",
    re.IGNORECASE,
)
# "..., without X" up to the next comma: a 7th-character title's ", initial encounter" stays.
_WITHOUT = re.compile(r"[,]?\s+without\b[^,]*", re.IGNORECASE)
# "Laceration without foreign body of scalp" / "..., right hip, initial encounter": the site
# follows the qualifier, and is kept.
_WITHOUT_FOREIGN_BODY = re.compile(
    r"\s+without foreign body\b(?=\s*,|\s+(?:of|at|in)\b)", re.IGNORECASE
)
# "Pneumonia, unspecified organism" is what a chart calls "pneumonia".
_UNSPECIFIED_TAIL = re.compile(
    r",\s*(?:unspecified|not specified|site not specified)\b(?P<tail>.*)$", re.IGNORECASE
)
# Tails after ", unspecified" that say what the chart leaves open, never where the condition is.
_OPEN_TAILS = frozenset(
    "organism severity stage type degree time cause level site trimester depth".split()
)
# "Surgical procedure, unspecified as the cause of abnormal reaction of the patient ..." (Y83.9):
# the tail is the code's meaning, a procedure as the cause of a complication; without it the
# title reads any mention of a surgical procedure.
_CAUSE_TAIL = re.compile(r"\s+as the cause of\b", re.IGNORECASE)
# Section I.A.13: a code titled "in diseases classified elsewhere" is a manifestation, coded only
# beside its etiology and never first; its title without the phrase ("Otitis media, left ear" for
# H67.2) would read every chart that names the condition alone. Its terms keep "in disease":
# they read "dementia in Parkinson disease", not "dementia". Not a Z code: "Wandering in diseases
# classified elsewhere" (Z91.83) is a factor, and no other code reads a patient's wandering.
_MANIFESTATION = re.compile(r"\bin (?:[a-z]+ )*?diseases? classified elsewhere\b", re.IGNORECASE)
_ENCOUNTER_TAIL = re.compile(r",\s*(?:initial|subsequent) encounter|,\s*sequela\b", re.IGNORECASE)
_PARENS = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
# The Tabular says "lower end of radius" where charts say "distal radius" (the Alphabetic Index:
# Fracture, radius, distal end - see lower end); "upper end" is the proximal end.
_BONE_END = re.compile(r"\b(lower|upper) end of\b", re.IGNORECASE)
_END_WORD = {"lower": "distal", "upper": "proximal"}
_LOWER_LEG = re.compile(r"\blower leg\b", re.IGNORECASE)
# Only a code with a side: the category "Trimalleolar fracture of lower leg" read as "... of
# ankle" would outscore the chart's "trimalleolar fracture" and leave a category to escalate.
_SIDED_LOWER_LEG = re.compile(r"\b(?:left|right|unspecified)\s+lower\s+leg\b", re.IGNORECASE)
_HAND_FOOT_BONE = re.compile(
    r"\b(metacarpal|metatarsal) bone(?:\s*\(s\)|s)?\s*,\s*(right|left|unspecified) (?:hand|foot)\b",
    re.IGNORECASE,
)
_ALTERNATIVE = re.compile(r"\b(\w+) or (\w+)\b")
# "Occlusion and stenosis of ...", "Acute embolism and thrombosis of ...": the title's head is two
# conditions joined by "and", which means "and/or" in a title (Section I.A.14), so each one alone
# with the site is a reading. Only the head (no comma, "with" or preposition before it): in
# "Postthrombotic syndrome with ulcer and inflammation" the two together are the code's meaning.
# Not at an unspecified or other site: "Acute thrombosis of (unspecified) vein" would outread the
# named vein's "deep vein thrombosis" (I82.40-); the category's own title leads there.
_HEAD_PAIR = re.compile(
    r"^(?P<before>(?:(?!(?:of|with|in|for|by|to|due|on|at|from|and)\b)[a-z]+\s+)*)"
    r"(?P<first>[a-z]+) and (?P<second>[a-z]+)"
    r"(?P<rest>\s+(?:of|in)\b(?!\s+(?:unspecified|other)\b).*)$",
    re.IGNORECASE | re.DOTALL,
)


class Candidate(BaseModel):
    """One code a mention could be coded to, and how well its words support it."""

    code: str
    term: str
    origin: Origin
    score: float
    # For a semantic candidate, the chart span [start, end) it was retrieved for.
    span: tuple[int, int] | None = None


@dataclass(slots=True)
class ConceptMatch:
    """A stretch of a sentence that names a concept, with its ranked candidates."""

    start: int
    end: int
    words: tuple[str, ...]
    positions: tuple[int, ...]
    candidates: list[Candidate] = field(default_factory=list)


def term_variants(text: str) -> list[str]:
    """Phrasings of a code title for matching: nonessential words dropped and kept, 'or' split.

    'Coronary (artery) disease' -> ['Coronary disease', 'Coronary artery disease'];
    'Malignant neoplasm of bronchus or lung' -> '... of bronchus', '... of lung';
    'Occlusion and stenosis of right carotid artery' -> also '... stenosis of right carotid artery';
    'Laceration without foreign body of scalp' -> 'Laceration of scalp' (the site stays);
    'Torus fracture of lower end of right radius' -> also '... of distal right radius';
    'Bimalleolar fracture of left lower leg' -> also '... of left ankle';
    '... of fifth metacarpal bone, right hand' -> also '... of fifth right metacarpal'.
    """
    text = _DROP.sub(" ", text)
    text = _WITHOUT_FOREIGN_BODY.sub("", text)
    # "Concussion without loss of consciousness" reads "concussion" too; written out in full
    # it is the more specific match, over the category's "Concussion".
    whole = _PARENS.sub(" ", text) if _WITHOUT.search(text) else None
    text = _WITHOUT.sub("", text)
    text = _drop_unspecified_tail(text)
    bare = _PARENS.sub(" ", text)
    full = _PARENS.sub(lambda m: " " + (m.group(1) or m.group(2) or "") + " ", text)
    readings = [bare, full, *([whole] if whole else [])]
    for v in list(readings):
        pair = _HEAD_PAIR.match(v)
        if pair:
            readings += [pair["before"] + pair[part] + pair["rest"] for part in ("first", "second")]
    variants: list[str] = []
    for v in readings:
        alt = _ALTERNATIVE.search(v)
        if alt:
            variants.append(v[: alt.start()] + alt.group(1) + v[alt.end() :])
            variants.append(v[: alt.start()] + alt.group(2) + v[alt.end() :])
        else:
            variants.append(v)
    variants += [
        _BONE_END.sub(lambda m: _END_WORD[m[1].lower()], v) for v in variants if _BONE_END.search(v)
    ]
    # "... of fifth metacarpal bone, right hand" is the chart's "right fifth metacarpal".
    variants += [_HAND_FOOT_BONE.sub(r"\2 \1", v) for v in variants if _HAND_FOOT_BONE.search(v)]
    # "Bimalleolar fracture of left lower leg" is what charts call a left ankle fracture.
    variants += [
        _LOWER_LEG.sub("ankle", v)
        for v in variants
        if "malleol" in v.lower() and _LOWER_LEG.search(v) and _SIDED_LOWER_LEG.search(v)
    ]
    return list(dict.fromkeys(" ".join(v.split()) for v in variants))


def _drop_unspecified_tail(text: str) -> str:
    """'Pneumonia, unspecified organism' -> 'Pneumonia'; 'Fracture of humerus, unspecified arm'
    -> 'Fracture of humerus'; but 'Fistula, unspecified joint' keeps its site ('Fistula joint'):
    a one-word head needs the tail's body part, or every fistula would be a joint fistula."""
    m = _UNSPECIFIED_TAIL.search(text)
    if m is None or _CAUSE_TAIL.match(m["tail"]):
        return text
    head = text[: m.start()]
    tail = m["tail"].split(",")[0].strip()
    head_words = [w for w in re.findall(r"[a-z]+", head.lower()) if w not in STOPWORDS]
    # An injury title's head without "of" names no site ("Puncture wound, unspecified hip,
    # initial encounter"): the site stays, or every puncture wound would read as the hip's.
    siteless_injury = " of " not in head.lower() and _ENCOUNTER_TAIL.search(m["tail"])
    if not tail or tail.lower() in _OPEN_TAILS or (len(head_words) >= 2 and not siteless_injury):
        return head
    return f"{head} {tail}"


class PackedStrings(Sequence[str]):
    """Many strings kept as one block of UTF-8 and decoded one by one on use. The index's
    315,000 term texts unmarshal as one `bytes` and its offsets in a few milliseconds (as
    separate strings ~35 ms, as one string with accents ~50 ms: marshal decodes it whole),
    while a chart reads a few hundred of them."""

    def __init__(self, joined: bytes, offsets: bytes) -> None:
        self._joined = joined
        # Where each string's bytes start, then where the last one's end.
        self._offsets = array("q")
        self._offsets.frombytes(offsets)
        if len(self._offsets) < 1 or self._offsets[-1] != len(joined):
            raise ValueError("packed strings: offsets do not fit the text")

    @staticmethod
    def pack(strings: Sequence[str]) -> tuple[bytes, bytes]:
        """What `PackedStrings(*packed)` reads back as `strings`."""
        encoded = [s.encode("utf-8") for s in strings]
        offsets = array("q", [0])
        for b in encoded:
            offsets.append(offsets[-1] + len(b))
        return b"".join(encoded), offsets.tobytes()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._joined[self._offsets[i] : self._offsets[i + 1]].decode("utf-8")

    def select(self, ids: Iterable[int]) -> list[str]:
        """The strings at `ids` (indexes from 0), in one pass: `self[i]` one by one was most
        of reading a chart's new anchor words."""
        joined, offsets = self._joined, self._offsets
        return [joined[offsets[i] : offsets[i + 1]].decode("utf-8") for i in ids]


class PackedKeys(Sequence[tuple[str, ...]]):
    """Terms' word keys packed as `PackedStrings`, each key's words joined by a character no
    normalised word holds (~40 ms of unmarshalling as 315,000 tuples). A chart reads thousands
    of keys: `TermIndex._anchored` keeps the ones read, by anchor word."""

    SEPARATOR = "\x1f"

    def __init__(self, joined: bytes, offsets: bytes) -> None:
        self._keys = PackedStrings(joined, offsets)

    @classmethod
    def pack(cls, keys: Sequence[tuple[str, ...]]) -> tuple[bytes, bytes]:
        if any(not key or any(not w or cls.SEPARATOR in w for w in key) for key in keys):
            raise ValueError("a key word is empty or holds the separator")
        return PackedStrings.pack([cls.SEPARATOR.join(key) for key in keys])

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, i: int) -> tuple[str, ...]: ...
    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, ...]]: ...
    def __getitem__(self, i: int | slice) -> tuple[str, ...] | list[tuple[str, ...]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return tuple(self._keys[i].split(self.SEPARATOR))

    def select(self, ids: Iterable[int]) -> list[tuple[str, ...]]:
        """The keys at `ids` (indexes from 0), in one pass."""
        sep = self.SEPARATOR
        return [tuple(joined.split(sep)) for joined in self._keys.select(ids)]


class TermIndex:
    """Terms (code, words, origin) and an inverted index on each term's rarest word."""

    def __init__(
        self,
        codes: list[str],
        texts: Sequence[str],
        origins: list[str],
        keys: Sequence[tuple[str, ...]],
        residual: list[bool],
        billable: dict[str, bool],
        normalizer: Normalizer,
        anchors: dict[str, list[int]] | None = None,
    ):
        self.codes = codes
        self.texts = texts
        self.origins = origins
        self.keys = keys
        self.residual = residual
        self.billable = billable
        self.normalizer = normalizer
        if anchors is None:
            df = Counter(w for key in keys for w in set(key))
            anchors = {}
            for tid, key in enumerate(keys):
                anchor = min(key, key=lambda w: (df[w], w))
                anchors.setdefault(anchor, []).append(tid)
        self._anchors: dict[str, list[int]] = anchors
        # `_anchored`'s answers: each word's terms with their keys, unpacked once per process.
        self._by_anchor: dict[str, tuple[list[tuple[int, tuple[str, ...]]], list[tuple[str, ...]]]]
        self._by_anchor = {}

    def __len__(self) -> int:
        return len(self.codes)

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every word some term needs: a chart word outside it names no code."""
        return frozenset(w for key in self.keys for w in key)

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(cls, normalizer: Normalizer | None = None) -> TermIndex:
        """Build from the code set, the index tables and the lexicon (a few seconds)."""
        from tools.codeset import CodeSet
        from tools.index_tables import entry_terms, load_index_entries

        normalizer = normalizer or default_normalizer()
        codeset = CodeSet.load()
        seen: dict[tuple[str, tuple[str, ...]], int] = {}
        codes: list[str] = []
        texts: list[str] = []
        origins: list[str] = []
        keys: list[tuple[str, ...]] = []
        residual: list[bool] = []

        def add(code: str, text: str, origin: str, alone: bool = True) -> None:
            # "Other ..." and "... in diseases classified elsewhere" are where a coder lands only
            # when nothing more specific fits; they lose ties. ("Unspecified cataract" is what
            # "cataract" means: it is the reading of choice, not a residual.)
            low = text.lower()
            is_residual = low.startswith("other") or "classified elsewhere" in low
            for variant in term_variants(text):
                key = normalizer.key_words(variant)
                if not key or all(w in GENERIC for w in key):
                    continue
                # A lone short token from the tabular ("HR", "MS") is an abbreviation the
                # lexicon must vouch for; in chart text it far more often means something else.
                if len(key) == 1 and len(key[0]) <= 3 and origin != "lexicon":
                    continue
                # One word that means the code only under its heading: "Axis" (fracture of C2),
                # "Arrest" (legal problems), "standing" (External Cause Index, "fall from").
                if len(key) == 1 and not alone:
                    continue
                prior = seen.get((code, key))
                if prior is not None:
                    if _ORIGIN_RANK[origin] < _ORIGIN_RANK[origins[prior]]:
                        origins[prior], texts[prior] = origin, text
                    continue
                seen[(code, key)] = len(codes)
                codes.append(code)
                texts.append(text)
                origins.append(origin)
                keys.append(key)
                residual.append(is_residual)

        for term in load_lexicon().terms:
            add(codeset.normalize(term.code), term.term, "lexicon")
        titles: dict[str, str] = {}
        manifestations: set[str] = set()
        for code, text, origin in codeset.iter_terms():
            if origin == "title" and code[0] != "Z" and _MANIFESTATION.search(text):
                manifestations.add(code)
            if code in manifestations:
                text = _MANIFESTATION.sub("in disease", text)
            if origin == "title":
                titles[code] = text.lower()
                add(code, text, "title")
                continue
            # Injury, poisoning, external cause and Z-code inclusion terms lean on their title.
            word = text.split(" (")[0].strip().lower()
            contextual = code[0] in "STVWXYZ" and word not in titles.get(code, "")
            add(code, text, "inclusion", alone=not contextual)
        for entry in load_index_entries():
            for text in entry_terms(entry):
                add(entry.code, text, "index", alone=entry.table != "eindex")
        # A category whose NOS reading is a default child ("diabetes NOS" on E11 -> E11.9) counts
        # as billable for ranking; one without ("Ascites" on R18) loses to "Other ascites" R18.8.
        billable = {
            c: codeset.is_billable(c) or codeset.unspecified_child(c) is not None
            for c in set(codes)
        }
        return cls(codes, texts, origins, keys, residual, billable, normalizer)

    # -- caching ----------------------------------------------------------------------------------

    @staticmethod
    def cache_key() -> str:
        from tools.codeset import CODE_SET_VERSION

        h = hashlib.sha256()
        # The index is derived from these files: any change to them rebuilds it.
        here = Path(__file__).parent
        h.update(CODE_SET_VERSION.encode())
        for p in (
            LEXICON_FILE,
            here / "lookup.py",
            here / "normalize.py",
            here / "codeset.py",
            here / "index_tables.py",
        ):
            h.update(p.read_bytes() if p.is_file() else b"-")
        return h.hexdigest()[:16]

    @classmethod
    def cache_path(cls, cache_dir: Path) -> Path:
        return cache_dir / f"term-index-{cls.cache_key()}.marshal"

    @classmethod
    def load_or_build(cls, cache_dir: Path | None) -> TermIndex:
        """Load the cached index for this code set and lexicon, or build and cache it.

        The cache is one `marshal` file (lists, tuples and strings, the inverted index
        included), which loads in about a tenth of a second where JSON plus rebuilding the
        inverted index took seconds; the terms' texts and word keys are stored packed
        (`PackedStrings`, `PackedKeys`) and cut out when a chart asks for one. Its name carries a hash of everything it is derived from;
        it is written under a temporary name and renamed, so concurrent first runs each build
        and no reader sees half a file.
        """
        if cache_dir is None:
            return cls.build()
        path = cls.cache_path(cache_dir)
        normalizer = default_normalizer()
        if path.is_file():
            try:
                parts = marshal.loads(path.read_bytes())
                codes, texts, origins, keys, residual, billable, anchors = parts
                return cls(
                    codes,
                    PackedStrings(*texts),
                    origins,
                    PackedKeys(*keys),
                    residual,
                    billable,
                    normalizer,
                    anchors,
                )
            except (EOFError, ValueError, TypeError):
                log.warning("term index cache unreadable; rebuilding")
        index = cls.build(normalizer)
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Share one string object per distinct code, origin and anchor word: marshal writes each
        # once.
        pool: dict[str, str] = {}

        def share(s: str) -> str:
            return pool.setdefault(s, s)

        try:
            keys = PackedKeys.pack(index.keys)
        except ValueError:
            log.warning("term index not cached: a term's key cannot be packed")
            return index
        parts = (
            [share(c) for c in index.codes],
            PackedStrings.pack(index.texts),
            [share(o) for o in index.origins],
            keys,
            index.residual,
            index.billable,
            {share(w): tids for w, tids in index._anchors.items()},
        )
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(parts))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        return index

    # -- matching -----------------------------------------------------------------------------------

    def match_words(
        self, words: list[Word], max_candidates: int = 10, text: str | None = None
    ) -> list[ConceptMatch]:
        """Concepts named in one sentence's words, most specific reading first for each.

        With `text` (what the words' offsets index), a term may not gather its words from
        different items of a list: in "history of COPD, hypertension and CHF" no term reads
        "pulmonary hypertension" or "hypertensive heart disease with heart failure".
        """
        content = [w for w in words if w.norm not in STOPWORDS]
        # Words expanded from one abbreviation share its span; a term may use all of them or none
        # ("HFrEF (EF 30%), COPD" must not borrow "chronic" from COPD for "chronic systolic HF").
        group_size = Counter((w.start, w.end) for w in content)
        group_words: dict[tuple[int, int], set[str]] = {}
        for w in content:
            group_words.setdefault((w.start, w.end), set()).add(w.norm)
        where: dict[str, list[int]] = {}
        for i, w in enumerate(content):
            where.setdefault(w.norm, []).append(i)
        present = set(where)
        found: dict[tuple[int, ...], list[tuple[int, float]]] = {}
        # In word order, not the set's (string hashing differs between processes): the order
        # matches are found in decides ties further on.
        has_all = present.issuperset
        for token in where:
            pairs, keys = self._anchored(token)
            # Most terms miss a word of the sentence: all are checked in one pass of C calls.
            for tid, key in compress(pairs, map(has_all, keys)):
                window = _tightest(key, where)
                if window is None:
                    continue
                positions, span = window
                used = Counter((content[p].start, content[p].end) for p in positions)
                if any(n < group_size[g] for g, n in used.items()) and not _said_again(
                    content, positions, used, group_size, group_words
                ):
                    continue
                if text is not None and _crosses_list(content, positions, set(key), text):
                    continue
                # Allow a few other words between a term's words ("kidney disease, chronic,
                # stage 3"), but not a whole clause.
                if span > len(key) + max(2, len(key)):
                    continue
                tightness = len(set(positions)) / span if span else 1.0
                found.setdefault(positions, []).append((tid, tightness))
        matches = [
            self._concept(content, positions, hits, max_candidates)
            for positions, hits in found.items()
        ]
        kept = _most_specific(matches)
        if text is not None:
            for m in kept:
                _with_or_without(m, text[m.start : m.end])
        return kept

    def _anchored(
        self, word: str
    ) -> tuple[list[tuple[int, tuple[str, ...]]], list[tuple[str, ...]]]:
        """The terms whose rarest word is `word`, each with its key; and their keys alone."""
        found = self._by_anchor.get(word)
        if found is None:
            tids = self._anchors.get(word, ())
            keys = self.keys
            read = keys.select(tids) if isinstance(keys, PackedKeys) else [keys[t] for t in tids]
            found = (list(zip(tids, read, strict=True)), read)
            self._by_anchor[word] = found
        return found

    def _concept(
        self,
        content: list[Word],
        positions: tuple[int, ...],
        hits: list[tuple[int, float]],
        max_candidates: int,
    ) -> ConceptMatch:
        ranked = sorted(hits, key=lambda h: self._rank(h[0]))
        candidates: list[Candidate] = []
        seen: set[str] = set()
        for tid, tightness in ranked:
            code = self.codes[tid]
            if code in seen:
                continue
            seen.add(code)
            score = tightness * (1.0 - 0.05 * _ORIGIN_RANK[self.origins[tid]])
            if self.residual[tid]:
                score *= 0.9
            candidates.append(
                Candidate(
                    code=code,
                    term=self.texts[tid],
                    origin=self.origins[tid],
                    score=round(score, 3),
                )
            )
            if len(candidates) >= max_candidates:
                break
        words_used = tuple(dict.fromkeys(content[p].norm for p in positions))
        return ConceptMatch(
            start=min(content[p].start for p in positions),
            end=max(content[p].end for p in positions),
            words=words_used,
            positions=positions,
            candidates=candidates,
        )

    def _rank(self, tid: int) -> tuple[int, int, int, int, str]:
        code = self.codes[tid]
        # A billable code first: "asthma" reads J45.909 ("Asthma NOS"), not the category J45.
        return (
            int(not self.billable.get(code, False)),
            int(self.residual[tid]),
            _ORIGIN_RANK[self.origins[tid]],
            len(code),
            code,
        )

    def lookup(self, phrase: str, max_candidates: int = 10) -> list[Candidate]:
        """Candidates for a free-text phrase ("type 2 DM with CKD 3a"), best first."""
        matches = self.match_words(self.normalizer.words(phrase), max_candidates, text=phrase)
        matches.sort(key=lambda m: (-len(m.words), m.start))
        out: list[Candidate] = []
        for m in matches:
            for c in m.candidates:
                if all(c.code != o.code for o in out):
                    out.append(c)
        return out[:max_candidates]


_LIST_SEPARATOR = re.compile(r"[,;]|\band\b|\bor\b", re.IGNORECASE)
# Side words, which qualify the item they stand in rather than start another.
_SIDES = frozenset({"left", "right", "bilateral"})
# Numbers and ordinals, which count or number the item's parts ("the 9th and 10th ribs",
# "ribs 4, 5 and 6") rather than name another item.
_COUNT = re.compile(
    r"\d{1,2}(?:st|nd|rd|th)?|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
    r"|eleventh|twelfth"
)
# A bracketed aside of up to 60 characters, no brackets inside.
_ASIDE = re.compile(r"\([^()\n]{0,60}\)")


def _crosses_list(
    content: list[Word], positions: tuple[int, ...], key: set[str], text: str
) -> bool:
    """True when a list separator and another item's words lie between two of a term's words.

    "kidney disease, chronic, stage 3" stays one concept (the comma separates no other item);
    "COPD, hypertension" is two ("pulmonary" and "hypertension" are in different items).
    """
    for p, q in zip(positions, positions[1:], strict=False):
        if ";" in text[content[p].end : content[q].start]:
            # A semicolon always ends an item: "chronic cholecystitis; cholelithiasis" is two.
            return True
        if q == p + 1 and not _LIST_SEPARATOR.search(text[content[p].end : content[q].start]):
            continue
        # A side after the comma qualifies the same item ("Primary osteoarthritis, left hip"),
        # and words in brackets are an aside, not another item ("Rheumatoid arthritis,
        # seropositive (RF+ and anti-CCP+), polyarticular").
        gap = text[content[p].end : content[q].start]
        aside = [m.span() for m in _ASIDE.finditer(gap)]
        base = content[p].end
        between = [
            content[i].norm
            for i in range(p + 1, q)
            if not any(
                a0 <= content[i].start - base and content[i].end - base <= a1 for a0, a1 in aside
            )
        ]
        if not any(w not in key and w not in _SIDES and not _COUNT.fullmatch(w) for w in between):
            continue
        if _LIST_SEPARATOR.search(_ASIDE.sub(" ", gap)):
            return True
    return False


def _said_again(
    content: list[Word],
    positions: tuple[int, ...],
    used: Counter[tuple[int, int]],
    group_size: Counter[tuple[int, int]],
    group_words: dict[tuple[int, int], set[str]],
) -> bool:
    """True when every abbreviation the window uses only in part has its other words said
    again, as the chart's own words, elsewhere in the window: "RA with rheumatoid factor" reads
    "rheumatoid arthritis with rheumatoid factor" (M05.-) whichever "rheumatoid" the window
    took; "breast cancer with liver metastases" lends no "malignant neoplasm" of its cancer to
    the metastases' "secondary" (another abbreviation's words are not said again)."""
    plain = {
        content[p].norm for p in positions if group_size[(content[p].start, content[p].end)] == 1
    }
    for g, n in used.items():
        if n >= group_size[g]:
            continue
        taken = {content[p].norm for p in positions if (content[p].start, content[p].end) == g}
        if not group_words[g] - taken <= plain:
            return False
    return True


def _tightest(
    key: tuple[str, ...], where: dict[str, list[int]]
) -> tuple[tuple[int, ...], int] | None:
    """The smallest window of content-word positions holding every word of `key`."""
    if len(key) == 1:
        p = where[key[0]][0]
        return (p,), 1
    events = sorted((p, w) for w in key for p in where[w])
    need = len(key)
    counts: dict[str, int] = {}
    best: tuple[int, int] | None = None
    best_span = 0
    left = 0
    have = 0
    for right, (_, w) in enumerate(events):
        counts[w] = counts.get(w, 0) + 1
        if counts[w] == 1:
            have += 1
        while have == need:
            # compare word positions, not event indices ("hypoglycemia without coma -
            # recurrent level 2 hypoglycemia": the second "hypoglycemia" is the tight one)
            span = events[right][0] - events[left][0] + 1
            if best is None or span < best_span:
                best, best_span = (left, right), span
            lw = events[left][1]
            counts[lw] -= 1
            if counts[lw] == 0:
                have -= 1
            left += 1
    if best is None:
        return None
    chosen: dict[str, int] = {}
    for p, w in events[best[0] : best[1] + 1]:
        chosen.setdefault(w, p)
    positions = tuple(sorted(set(chosen.values())))
    return positions, events[best[1]][0] - events[best[0]][0] + 1


_NOT_WORD = re.compile(r"\bnot\s+([a-z]{4,})")
_WITH_WORD = re.compile(r"\b(with|without|w/o)\s+(?:(?:an?|the|any)\s+)?([a-z]{3,})", re.IGNORECASE)


def _with_or_without(match: ConceptMatch, phrase: str) -> None:
    """Put first the readings that say "with" or "without" as the chart does.

    Titles are matched with their "without ..." clauses cut off, so "migraine without aura"
    also matches "Migraine with aura" and "diabetes without complications" matches "with
    unspecified complications". A reading that names the chart's word with the same preposition
    moves ahead of one that names it with the opposite (a stable sort: the rest keep their order).
    """
    said = [
        ("without" if w.lower() in ("without", "w/o") else "with", x.lower())
        for w, x in _WITH_WORD.findall(phrase)
    ]
    lowered = phrase.lower()
    if not said:
        return

    def agreement(c: Candidate) -> int:
        title = c.term.lower()
        score = 0
        for how, word in said:
            other = "with" if how == "without" else "without"
            stem = re.escape(word[:5])
            if re.search(rf"\b{how}\s+(?:[a-z()]+\s+){{0,2}}{stem}", title):
                score += 1
            elif re.search(rf"\b{other}\s+(?:[a-z()]+\s+){{0,2}}{stem}", title):
                score -= 1
        # "Migraine ..., intractable" is not "Migraine ..., not intractable".
        for word in _NOT_WORD.findall(title):
            if re.search(rf"\b{word}", lowered) and not re.search(rf"\bnot\s+{word}", lowered):
                score -= 1
        return score

    match.candidates.sort(key=lambda c: -agreement(c))


def _most_specific(matches: list[ConceptMatch]) -> list[ConceptMatch]:
    """Drop a match whose words are a strict subset of an overlapping match's words.

    The dropped match's candidates are kept as lower-ranked alternatives of the one that beat it,
    so a trace can show what the specific code won against.
    """
    matches.sort(key=lambda m: (-len(m.words), m.start))
    kept: list[ConceptMatch] = []
    for m in matches:
        words = set(m.words)
        winner = next(
            (
                k
                for k in kept
                if words < set(k.words)
                and min(k.positions) <= min(m.positions)
                and max(m.positions) <= max(k.positions)
            ),
            None,
        )
        if winner is None:
            kept.append(m)
            continue
        for c in m.candidates:
            if all(c.code != o.code for o in winner.candidates):
                winner.candidates.append(c.model_copy(update={"score": round(c.score * 0.5, 3)}))
    kept.sort(key=lambda m: m.start)
    return kept


@lru_cache(maxsize=1)
def default_index(cache_dir: Path | None = None) -> TermIndex:
    return TermIndex.load_or_build(cache_dir)
