"""The term index's cache: texts and keys stored packed read back as built; a cache that
cannot be read is rebuilt, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.lookup import PackedKeys, PackedStrings, TermIndex
from tools.normalize import default_normalizer

TEXTS = ["Ménière's disease", "", "Sjögren syndrome", "type 2 diabetes mellitus", "日本"]
KEYS = [("meniere", "disease"), ("sjogren",), ("diabetes", "mellitus", "type", "2")]


def test_packed_strings_read_back_as_given():
    packed = PackedStrings(*PackedStrings.pack(TEXTS))
    assert len(packed) == len(TEXTS)
    assert list(packed) == TEXTS
    assert packed[-1] == TEXTS[-1]
    assert packed[1:4] == TEXTS[1:4]
    with pytest.raises(IndexError):
        packed[len(TEXTS)]


def test_packed_keys_read_back_as_given():
    packed = PackedKeys(*PackedKeys.pack(KEYS))
    assert list(packed) == KEYS
    assert packed[0] == ("meniere", "disease")
    with pytest.raises(ValueError):
        PackedKeys.pack([("a\x1fb",)])
    with pytest.raises(ValueError):
        PackedKeys.pack([()])


def test_selected_strings_and_keys_are_those_read_one_by_one():
    strings = PackedStrings(*PackedStrings.pack(TEXTS))
    ids = [4, 0, 2, 0, 1]
    assert strings.select(ids) == [strings[i] for i in ids]
    assert strings.select([]) == []
    keys = PackedKeys(*PackedKeys.pack(KEYS))
    assert keys.select([2, 0, 1, 2]) == [keys[i] for i in (2, 0, 1, 2)]


def test_offsets_that_do_not_fit_are_refused():
    joined, offsets = PackedStrings.pack(TEXTS)
    with pytest.raises(ValueError):
        PackedStrings(joined[:-1], offsets)
    with pytest.raises(ValueError):
        PackedStrings(joined, offsets[:-3])


def _small_index() -> TermIndex:
    n = default_normalizer()
    terms = [("E11.9", "Type 2 diabetes mellitus"), ("H81.09", "Ménière's disease")]
    codes = [c for c, _ in terms]
    texts = [t for _, t in terms]
    keys = [n.key_words(t) for t in texts]
    return TermIndex(codes, texts, ["title"] * 2, keys, [False] * 2, {"E11.9": True}, n)


@pytest.mark.parametrize("junk", [None, b"", b"\x00junk", b"garbage that is not marshal"])
def test_the_cache_reads_back_and_an_unreadable_one_is_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, junk: bytes | None
):
    built: list[TermIndex] = []

    def build(cls: type[TermIndex], normalizer: object = None) -> TermIndex:
        built.append(_small_index())
        return built[-1]

    monkeypatch.setattr(TermIndex, "build", classmethod(build))
    first = TermIndex.load_or_build(tmp_path)
    assert len(built) == 1
    if junk is not None:
        TermIndex.cache_path(tmp_path).write_bytes(junk)
    second = TermIndex.load_or_build(tmp_path)
    assert len(built) == (1 if junk is None else 2)
    assert (
        list(second.texts) == list(first.texts) == ["Type 2 diabetes mellitus", "Ménière's disease"]
    )
    assert list(second.keys) == list(first.keys)
    assert second.codes == first.codes and second.billable == first.billable
