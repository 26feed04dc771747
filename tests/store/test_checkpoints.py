"""Checkpoint rows: AES-GCM for new rows, LangGraph's AES-EAX rows written before still open."""

from __future__ import annotations

import os

import pytest
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from store.checkpoints import ENCRYPTED_SUFFIXES, encrypted_serializer

STATE = {"chart": "Patient with type 2 diabetes.", "codes": ["E11.9"], "step": 3}


def test_new_rows_are_gcm_and_rows_written_with_eax_still_open() -> None:
    key = os.urandom(32)
    ours = encrypted_serializer(key, set())
    typ, blob = ours.dumps_typed(STATE)
    assert typ.endswith("+aesgcm") and typ.endswith(ENCRYPTED_SUFFIXES)
    assert b"diabetes" not in blob
    assert ours.loads_typed((typ, blob)) == STATE
    # A row LangGraph's own AES cipher (EAX) wrote before this cipher existed.
    old = EncryptedSerializer.from_pycryptodome_aes(serde=JsonPlusSerializer(), key=key)
    old_typ, old_blob = old.dumps_typed(STATE)
    assert old_typ.endswith("+aes")
    assert ours.loads_typed((old_typ, old_blob)) == STATE


def test_an_altered_row_or_another_key_does_not_open() -> None:
    key = os.urandom(32)
    typ, blob = encrypted_serializer(key, set()).dumps_typed(STATE)
    altered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ValueError):
        encrypted_serializer(key, set()).loads_typed((typ, altered))
    with pytest.raises(ValueError):
        encrypted_serializer(os.urandom(32), set()).loads_typed((typ, blob))
