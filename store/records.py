"""Opening everything a data directory keeps: the database, the audit log, anchors, the run store.

`Records.open(settings)` is what surfaces call; it creates tables and, on first use, the key file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from store.anchors import AnchorFile
from store.api_keys import ApiKeyStore
from store.audit_log import AuditLog
from store.db import Database, sqlite_url
from store.events import EventDraft
from store.keys import Keys, load_keys
from store.outcomes import OutcomeStore
from store.owners import is_gone
from store.runs import RunStore
from store.sealing import Sealer
from store.tables import ensure_tables

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    return settings.database_url or sqlite_url(settings.data_dir / "codesense.db")


def anchor_path(settings: Settings) -> Path:
    return settings.anchor_file or settings.data_dir / "audit" / "anchors.jsonl"


@dataclass
class Records:
    settings: Settings
    db: Database
    keys: Keys
    audit: AuditLog
    runs: RunStore
    api_keys: ApiKeyStore
    outcomes: OutcomeStore

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
        records = cls(
            settings=settings,
            db=db,
            keys=keys,
            audit=AuditLog(db, anchors, settings.anchor_every),
            runs=RunStore(db, Sealer(keys.charts)),
            api_keys=ApiKeyStore(db, keys.api_keys),
            outcomes=OutcomeStore(db),
        )
        records.release_abandoned()
        return records

    def release_abandoned(self) -> int:
        """Runs whose owner is gone (a killed process, a lease run out) stop looking busy: a
        `running` run becomes `interrupted`, a `reviewing` one awaits review again. Each is
        audited. Returns how many were released."""
        released = 0
        for run_id, status, owner, lease_until, chart_hash in self.runs.unfinished():
            if not is_gone(owner, lease_until):
                continue
            event = EventDraft(
                action="run.interrupted",
                run_id=run_id,
                chart=chart_hash,
                result="interrupted",
                name="review" if status == "reviewing" else "code",
            )
            # The run's new status and its event commit together, or neither does.
            with self.db.transaction(audit_lock=True):
                if self.runs.abandon(run_id, status, owner):
                    self.audit.append([event], anchor=True)
                    released += 1
        if released:
            log.warning("released %d run(s) whose owner is gone", released)
        return released

    def close(self) -> None:
        self.db.close()
