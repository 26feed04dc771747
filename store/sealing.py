"""Sealed records: chart text, outputs and reviewers' reasons, encrypted at rest with AES-256-GCM.

A sealed blob is `version byte | 12-byte nonce | 16-byte tag | ciphertext` over zlib-compressed
JSON. The associated data binds a blob to its row (a chart's content hash, a run id), so a blob
copied onto another row fails to open instead of showing the wrong patient's chart.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes

from core.errors import CodeSenseError

_VERSION = b"\x01"


class SealError(CodeSenseError):
    """A sealed record does not open: wrong key, wrong row, or altered bytes."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256 needs a 32-byte key")
        self._key = key

    def seal(self, value: Any, bound_to: str) -> bytes:
        plain = zlib.compress(orjson.dumps(value), 6)
        nonce = get_random_bytes(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(bound_to.encode())
        ciphertext, tag = cipher.encrypt_and_digest(plain)
        return _VERSION + nonce + tag + ciphertext

    def open(self, blob: bytes, bound_to: str) -> Any:
        if blob[:1] != _VERSION or len(blob) < 29:
            raise SealError("sealed record has an unknown format")
        nonce, tag, ciphertext = blob[1:13], blob[13:29], blob[29:]
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(bound_to.encode())
        try:
            plain = cipher.decrypt_and_verify(ciphertext, tag)
        except ValueError:
            raise SealError("sealed record does not open (wrong key or altered)") from None
        return orjson.loads(zlib.decompress(plain))
