"""LangGraph checkpoints encrypted at rest, for graphs paused until a person reviews them.

A checkpoint holds the whole graph state, chart text included, so every row is written through
`EncryptedSerializer` (AES, key derived from the master secret). Loading would silently accept an
unencrypted row; `unencrypted_rows` finds any, and the tests assert there are none.
Deserialisation is strict: only types named in an allow-list built from our state models load
(`LANGGRAPH_STRICT_MSGPACK=true` does the same inside LangGraph for what it compiles).
"""

from __future__ import annotations

import sqlite3
import types
import typing
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel

ENCRYPTED_SUFFIX = "+aes"


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


def encrypted_serializer(key: bytes, allowed: set[tuple[str, str]]) -> EncryptedSerializer:
    inner = JsonPlusSerializer(allowed_msgpack_modules=allowed)
    return EncryptedSerializer.from_pycryptodome_aes(serde=inner, key=key)


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
            if typ is not None and not str(typ).endswith(ENCRYPTED_SUFFIX):
                bad.append(f"{table} row {key}: {typ}")
    return bad
