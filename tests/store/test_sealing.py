"""Sealed records open only with their key, on their own row, unaltered; no clear text inside."""

from __future__ import annotations

import pytest

from store.sealing import Sealer, SealError

KEY = bytes(range(32))
CHART = {"text": "Patient: Edwin Calloway-Test  MRN: MRN-0000DEMO3\nAssessment: CHF"}


def test_round_trip():
    sealer = Sealer(KEY)
    assert sealer.open(sealer.seal(CHART, "sha256:abc"), "sha256:abc") == CHART


def test_no_clear_text_and_a_fresh_nonce_each_time():
    sealer = Sealer(KEY)
    a, b = sealer.seal(CHART, "row"), sealer.seal(CHART, "row")
    assert a != b
    assert b"Calloway" not in a and b"MRN" not in a


@pytest.mark.parametrize(
    "change",
    [
        lambda blob: (blob, "another-row"),
        lambda blob: (blob[:-1] + bytes([blob[-1] ^ 1]), "row"),
        lambda blob: (blob[:20] + bytes([blob[20] ^ 1]) + blob[21:], "row"),
        lambda blob: (b"\x02" + blob[1:], "row"),
    ],
)
def test_a_moved_or_altered_record_does_not_open(change):
    sealer = Sealer(KEY)
    blob, row = change(sealer.seal(CHART, "row"))
    with pytest.raises(SealError):
        sealer.open(blob, row)


def test_another_key_does_not_open_it():
    with pytest.raises(SealError):
        Sealer(bytes(32)).open(Sealer(KEY).seal(CHART, "row"), "row")
