"""The master secret: placeholders refused, a private key file generated once, keys kept apart."""

from __future__ import annotations

import stat
import threading

import pytest
from pydantic import ValidationError

from core.settings import Settings
from store.keys import SecretKeyError, default_key_file, load_keys


@pytest.mark.parametrize(
    "secret", ["changeme", "secret", "x" * 40, "please-change-me-before-production-use!", "short"]
)
def test_placeholder_secrets_are_refused(secret, tmp_path):
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, secret_key=secret)
    with pytest.raises(SecretKeyError):
        load_keys(secret, None, tmp_path)


def test_a_real_secret_is_accepted(tmp_path):
    keys = load_keys("3f1c9a07be52d4e8a6c1f0b9d7e2a45c8b61f3d09e7a2c4b", None, tmp_path)
    assert len({keys.anchors, keys.charts, keys.checkpoints}) == 3
    assert not default_key_file(tmp_path).exists()


def test_a_key_file_is_generated_private_and_reused(tmp_path):
    first = load_keys(None, None, tmp_path)
    path = default_key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys(None, None, tmp_path) == first


def test_concurrent_first_runs_agree_on_one_key(tmp_path):
    found = []
    threads = [
        threading.Thread(target=lambda: found.append(load_keys(None, None, tmp_path)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1


def test_a_key_file_others_can_read_is_refused(tmp_path):
    load_keys(None, None, tmp_path)
    path = default_key_file(tmp_path)
    path.chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        load_keys(None, None, tmp_path)


def test_a_configured_key_file_must_exist(tmp_path):
    with pytest.raises(SecretKeyError, match="not found"):
        load_keys(None, tmp_path / "missing.key", tmp_path)
