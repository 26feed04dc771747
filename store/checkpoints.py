"""LangGraph checkpoints encrypted at rest, for graphs paused until a person reviews them.

A checkpoint holds the whole graph state, chart text included, so every row is written through
`EncryptedSerializer` (AES-GCM, key derived from the master secret). Loading would silently
accept an unencrypted row; `unencrypted_rows` finds any, and the tests assert there are none.
Deserialisation is strict: only types named in an allow-list built from our state models load
(`LANGGRAPH_STRICT_MSGPACK=true` does the same inside LangGraph for what it compiles).
"""

from __future__ import annotations

import sqlite3
import types
import typing
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

# A row's type ends with the cipher's name: "aesgcm" (written now) or "aes" (LangGraph's AES-EAX,
# which rows written before still use).
ENCRYPTED_SUFFIXES = ("+aesgcm", "+aes")
_GCM_NONCE = 12
_TAG = 16


def model_allowlist(*roots: type[BaseModel]) -> set[tuple[str, str]]:
    """(module, class name) of every pydantic model reachable from `roots` through field types."""
    found: set[tuple[str, str]] = set()
    seen: set[Any] = set()

    def walk(tp: Any) -> None:
        if tp in seen:
            return
        seen.add(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            found.add((tp.__module__, tp.__name__))
            for field in tp.model_fields.values():
                walk(field.annotation)
            return
        if isinstance(tp, types.UnionType) or typing.get_origin(tp) is not None:
            for arg in typing.get_args(tp):
                walk(arg)

    for root in roots:
        walk(root)
    return found


class CheckpointCipher:
    """AES-256-GCM for every new row; rows LangGraph's own AES-EAX cipher wrote still open.

    GCM, not LangGraph's default EAX: pycryptodome's EAX costs ~0.12 ms a message before any
    data (two CMACs set up) and ~4x GCM's per byte; a paused chart's checkpoint is ~40 KB.
    A blob is nonce | tag | ciphertext, as EAX's.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) not in (16, 24, 32):
            raise ValueError("AES needs a 16, 24 or 32-byte key")
        self._key = key

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        nonce = get_random_bytes(_GCM_NONCE)
        ciphertext, tag = AES.new(self._key, AES.MODE_GCM, nonce=nonce).encrypt_and_digest(
            plaintext
        )
        return "aesgcm", nonce + tag + ciphertext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername == "aesgcm":
            nonce, rest = ciphertext[:_GCM_NONCE], ciphertext[_GCM_NONCE:]
            gcm = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
            return gcm.decrypt_and_verify(rest[_TAG:], rest[:_TAG])
        if ciphername == "aes":
            nonce, rest = ciphertext[:16], ciphertext[16:]
            eax = AES.new(self._key, AES.MODE_EAX, nonce=nonce)
            return eax.decrypt_and_verify(rest[_TAG:], rest[:_TAG])
        raise ValueError(f"unknown checkpoint cipher {ciphername[:20]!r}")


def encrypted_serializer(key: bytes, allowed: set[tuple[str, str]]) -> EncryptedSerializer:
    inner = JsonPlusSerializer(allowed_msgpack_modules=allowed)
    return EncryptedSerializer(CheckpointCipher(key), serde=inner)


def open_checkpointer(
    database_url: str, sqlite_path: Path, key: bytes, allowed: set[tuple[str, str]]
) -> BaseCheckpointSaver[Any]:
    """The Postgres saver for a PostgreSQL URL, otherwise the SQLite saver at `sqlite_path`."""
    serde = encrypted_serializer(key, allowed)
    if database_url.startswith(("postgresql://", "postgres://")):
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        conn: Any = psycopg.connect(
            database_url, autocommit=True, prepare_threshold=0, row_factory=dict_row
        )
        saver: BaseCheckpointSaver[Any] = PostgresSaver(conn, serde=serde)
        saver.setup()  # type: ignore[attr-defined]
        return saver
    from langgraph.checkpoint.sqlite import SqliteSaver

    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    sqlite_conn = sqlite3.connect(sqlite_path, check_same_thread=False, timeout=30.0)
    sqlite_conn.execute("PRAGMA journal_mode=WAL")
    sqlite_conn.execute("PRAGMA synchronous=FULL")
    sqlite_saver = SqliteSaver(sqlite_conn, serde=serde)
    sqlite_saver.setup()
    return sqlite_saver


def unencrypted_rows(conn: sqlite3.Connection) -> list[str]:
    """Every checkpoint or write row of a SQLite saver whose payload is not encrypted."""
    bad = []
    for table, column in (("checkpoints", "type"), ("writes", "type")):
        for key, typ in conn.execute(f"SELECT rowid, {column} FROM {table}"):
            if typ is not None and not str(typ).endswith(ENCRYPTED_SUFFIXES):
                bad.append(f"{table} row {key}: {typ}")
    return bad
