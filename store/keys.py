"""The secret behind anchors, sealed charts and encrypted checkpoints, kept outside the database.

One master secret comes from `CODESENSE_SECRET_KEY`, or the file named by
`CODESENSE_SECRET_KEY_FILE`, or, when neither is set, a key file generated on first use at
`<data dir>/keys/secret.key` (32 random bytes as hex, mode 0600). Each use gets its own key
derived from it (HMAC-SHA256 with a label), so an anchor MAC key never doubles as an AES key.
A placeholder ("changeme", "secret", anything shorter than 32 characters) is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from core.errors import CodeSenseError
from core.secrets import placeholder_problem


class SecretKeyError(CodeSenseError):
    """The configured secret is missing, weak, a placeholder, or its file is readable by others."""


@dataclass(frozen=True)
class Keys:
    """Per-purpose keys derived from the master secret, and an id that names it in anchors."""

    anchors: bytes
    charts: bytes
    checkpoints: bytes
    # Keys the server derives: API-key hashing (a pepper) and session cookies (a MAC key).
    api_keys: bytes
    sessions: bytes
    key_id: str

    @classmethod
    def derive(cls, master: bytes) -> Keys:
        def sub(label: str) -> bytes:
            return hmac.new(master, b"codesense/" + label.encode(), hashlib.sha256).digest()

        return cls(
            anchors=sub("audit-anchors/v1"),
            charts=sub("sealed-records/v1"),
            checkpoints=sub("checkpoints/v1"),
            api_keys=sub("api-keys/v1"),
            sessions=sub("web-sessions/v1"),
            key_id=sub("key-id").hex()[:12],
        )


def load_keys(secret: str | None, key_file: Path | None, data_dir: Path) -> Keys:
    """The configured secret, or the data directory's generated key file (created if absent)."""
    if secret is not None:
        problem = placeholder_problem(secret)
        if problem:
            raise SecretKeyError(
                f"CODESENSE_SECRET_KEY {problem}; set a random value (64 hex digits)"
            )
        return Keys.derive(secret.strip().encode())
    path = key_file or default_key_file(data_dir)
    if key_file is None and not path.exists():
        _create_key_file(path)
    return Keys.derive(_read_key_file(path))


def default_key_file(data_dir: Path) -> Path:
    return data_dir / "keys" / "secret.key"


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise SecretKeyError(f"secret key file {path.name} not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SecretKeyError(
            f"cannot read secret key file {path.name} ({type(err).__name__})"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(f"secret key file {path.name} is readable by others; chmod 600 it")
    problem = placeholder_problem(text)
    if problem:
        raise SecretKeyError(f"secret key file {path.name} {problem}")
    return text.encode()


def _create_key_file(path: Path) -> None:
    """Write a new random key atomically: concurrent first runs all end up with the same key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    # link() fails if another process won the race; then its key is the key.
    with contextlib.suppress(FileExistsError):
        os.link(tmp, path)
    os.unlink(tmp)
