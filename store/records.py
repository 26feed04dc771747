"""Opening everything a data directory keeps: the database, the audit log, anchors, the run store.

`Records.open(settings)` is what surfaces call; it creates tables and, on first use, the key file.
"""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agent.settings import Settings
from store.anchors import AnchorFile
from store.audit_log import AuditLog
from store.db import Database, sqlite_url
from store.keys import Keys, load_keys
from store.runs import RunStore
from store.sealing import Sealer
from store.tables import ensure_tables

_SAFE_USER = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def database_url(settings: Settings) -> str:
    return settings.database_url or sqlite_url(settings.data_dir / "codesense.db")


def anchor_path(settings: Settings) -> Path:
    return settings.anchor_file or settings.data_dir / "audit" / "anchors.jsonl"


@lru_cache(maxsize=16)
def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def actor_of(settings: Settings) -> str:
    """`user:<id>` from settings, else the OS login name, else plain "system"."""
    name = settings.actor if settings.actor is not None else _os_user()
    return f"user:{name}" if name and _SAFE_USER.match(name) else "system"


@dataclass
class Records:
    settings: Settings
    db: Database
    keys: Keys
    audit: AuditLog
    runs: RunStore

    @classmethod
    def open(cls, settings: Settings) -> Records:
        keys = load_keys(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.secret_key_file,
            settings.data_dir,
        )
        db = Database(database_url(settings))
        ensure_tables(db)
        anchors = AnchorFile(anchor_path(settings), keys.anchors, keys.key_id)
        return cls(
            settings=settings,
            db=db,
            keys=keys,
            audit=AuditLog(db, anchors, settings.anchor_every),
            runs=RunStore(db, Sealer(keys.charts)),
        )

    @property
    def actor(self) -> str:
        return actor_of(self.settings)

    def close(self) -> None:
        self.db.close()
