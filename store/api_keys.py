"""API keys: who may call the HTTP API, with which role, for which organisation.

A key is shown once, when made: `csk_<key id>_<secret>`. Only an HMAC of the secret (with a key
derived from the data directory's master secret) is stored, so a copy of the database does not
hold usable keys. The key id is what the audit log and listings name; the secret never appears.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pydantic import BaseModel

from core.errors import CodeSenseError, Conflict
from store.db import Database
from store.events import utc_now

_TOKEN = re.compile(r"^csk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class KeyNotFound(CodeSenseError):
    """No API key with that id (or name)."""


class ApiKeyRecord(BaseModel):
    key_id: str
    name: str
    role: str
    org: str
    created_at: str
    created_by: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


_COLUMNS = "key_id, name, role, org, created_at, created_by, revoked_at, last_used_at"


class ApiKeyStore:
    def __init__(self, db: Database, pepper: bytes) -> None:
        self.db = db
        self._pepper = pepper

    def _hash(self, secret: str) -> str:
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).hexdigest()

    def create(self, name: str, role: str, org: str, created_by: str) -> tuple[ApiKeyRecord, str]:
        """A new key; returns its record and the token, which is never stored or shown again."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = utc_now()
        with self.db.transaction():
            if self.db.query(
                "SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", (name,)
            ):
                raise Conflict(f"an active API key named {name!r} exists; revoke it first")
            self.db.execute(
                f"INSERT INTO api_keys ({_COLUMNS}, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key_id, name, role, org, now, created_by, None, None, self._hash(secret)),
            )
        record = ApiKeyRecord(
            key_id=key_id, name=name, role=role, org=org, created_at=now, created_by=created_by
        )
        return record, f"csk_{key_id}_{secret}"

    def authenticate(self, token: str) -> ApiKeyRecord | None:
        """The active key a token belongs to, or None (unknown, revoked, malformed)."""
        match = _TOKEN.match(token.strip())
        if match is None:
            return None
        rows = self.db.query(
            f"SELECT {_COLUMNS}, secret_hash FROM api_keys WHERE key_id = ?", (match[1],)
        )
        if not rows:
            return None
        record = _record(rows[0])
        # Compare in constant time, and even for a revoked key, so timing says nothing.
        matches = hmac.compare_digest(self._hash(match[2]), str(rows[0][8]))
        if not matches or not record.active:
            return None
        return record

    def touch(self, key_id: str) -> None:
        """Note when a key was last used (to the minute: a listing, not an audit trail)."""
        now = utc_now()
        with self.db.transaction():
            self.db.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND "
                "(last_used_at IS NULL OR last_used_at < ?)",
                (now, key_id, now[:16]),
            )

    def get(self, key_id: str) -> ApiKeyRecord:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        if not rows:
            raise KeyNotFound(f"no API key {key_id[:24]!r}")
        return _record(rows[0])

    def list(self, org: str | None = None) -> list[ApiKeyRecord]:
        where, params = ("WHERE org = ?", (org,)) if org else ("", ())
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at, key_id", params
        )
        return [_record(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKeyRecord:
        with self.db.transaction():
            changed = self.db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (utc_now(), key_id),
            )
        record = self.get(key_id)
        if not changed:
            raise Conflict(f"API key {key_id} is already revoked")
        return record


def _record(row: tuple[object, ...]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=str(row[0]),
        name=str(row[1]),
        role=str(row[2]),
        org=str(row[3]),
        created_at=str(row[4]),
        created_by=str(row[5]),
        revoked_at=None if row[6] is None else str(row[6]),
        last_used_at=None if row[7] is None else str(row[7]),
    )
