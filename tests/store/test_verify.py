"""The corruption battery: every way of altering the log is caught, and the first bad seq named.

The log has 40 events, anchors every 10 and at the end. Each test changes the database as an
attacker with file access would (append-only triggers dropped) and runs `verify_log`.
"""

from __future__ import annotations

import hashlib

import orjson
import pytest

from store.events import GENESIS
from store.verify import verify_log
from tests.store.conftest import fill, open_log, raw

N = 40
K = 23  # the event the tests tamper with; the anchors around it are at 20 and 30


@pytest.fixture
def folder(tmp_path):
    fill(open_log(tmp_path), N)
    return tmp_path


def _verify(folder, first=1, last=None):
    return verify_log(open_log(folder), first=first, last=last)


def _rows(conn):
    return conn.execute("SELECT seq, run_id, hash, body FROM audit_events ORDER BY seq").fetchall()


def _rewrite(conn, rows):
    conn.execute("DELETE FROM audit_events")
    conn.executemany("INSERT INTO audit_events (seq, run_id, hash, body) VALUES (?, ?, ?, ?)", rows)


def _rechain(rows, start_index):
    """What an attacker without the anchor key does: renumber and re-hash from `start_index` on."""
    out = list(rows[:start_index])
    prev = out[-1][2] if out else GENESIS
    for seq, (_, run_id, _, body) in enumerate(rows[start_index:], start=start_index + 1):
        fields = orjson.loads(body)
        fields.update(seq=seq, prev_hash=prev)
        new_body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
        prev = "sha256:" + hashlib.sha256(new_body).hexdigest()
        out.append((seq, run_id, prev, new_body))
    return out


def test_an_untouched_log_verifies(folder):
    report = _verify(folder)
    assert report.ok and report.events == N and report.anchors_checked == 4


FIELDS = [
    "seq",
    "ts",
    "run_id",
    "actor",
    "action",
    "name",
    "chart",
    "input_hash",
    "output_hash",
    "codes",
    "spans",
    "versions",
    "result",
    "count",
    "prev_hash",
]


@pytest.mark.parametrize("field", FIELDS)
def test_a_flipped_bit_in_any_field_is_caught_at_that_event(folder, field):
    conn = raw(folder)
    body = bytearray(
        conn.execute("SELECT body FROM audit_events WHERE seq = ?", (K,)).fetchone()[0]
    )
    at = body.index(f'"{field}":'.encode()) + len(field) + 3
    while not chr(body[at]).isalnum():
        at += 1
    body[at] ^= 0x01
    conn.execute("UPDATE audit_events SET body = ? WHERE seq = ?", (bytes(body), K))
    report = _verify(folder)
    assert not report.ok and report.first_bad == K, report


@pytest.mark.parametrize("column", ["hash", "run_id"])
def test_a_changed_column_is_caught(folder, column):
    conn = raw(folder)
    value = conn.execute(f"SELECT {column} FROM audit_events WHERE seq = ?", (K,)).fetchone()[0]
    flipped = value[:-1] + ("0" if value[-1] != "0" else "1")
    conn.execute(f"UPDATE audit_events SET {column} = ? WHERE seq = ?", (flipped, K))
    report = _verify(folder)
    assert not report.ok and report.first_bad == K


def test_reordered_events_are_caught(folder):
    conn = raw(folder)
    rows = _rows(conn)
    a, b = rows[K - 1], rows[K]
    rows[K - 1] = (K, *b[1:])
    rows[K] = (K + 1, *a[1:])
    _rewrite(conn, rows)
    report = _verify(folder)
    assert not report.ok and report.first_bad == K


def test_a_duplicated_event_is_caught(folder):
    conn = raw(folder)
    rows = _rows(conn)
    copied = rows[:K] + [rows[K - 1]] + rows[K:]
    _rewrite(conn, [(i + 1, *r[1:]) for i, r in enumerate(copied)])
    report = _verify(folder)
    assert not report.ok and report.first_bad == K + 1


def test_a_duplicated_event_with_a_recomputed_chain_is_caught_by_the_anchors(folder):
    conn = raw(folder)
    rows = _rows(conn)
    _rewrite(conn, _rechain(rows[:K] + [rows[K - 1]] + rows[K:], K))
    report = _verify(folder)
    assert not report.ok and report.first_bad == 21 and "anchor" in (report.problem or "")


def test_a_deleted_middle_event_is_caught(folder):
    raw(folder).execute("DELETE FROM audit_events WHERE seq = ?", (K,))
    report = _verify(folder)
    assert not report.ok and report.first_bad == K and "missing" in (report.problem or "")


def test_a_deleted_middle_event_with_a_recomputed_chain_is_caught_by_the_anchors(folder):
    conn = raw(folder)
    rows = _rows(conn)
    _rewrite(conn, _rechain(rows[: K - 1] + rows[K:], K - 1))
    report = _verify(folder)
    assert not report.ok and report.first_bad == 21


@pytest.mark.parametrize("keep", [35, 30, 3, 0])
def test_a_cut_tail_is_caught_through_the_anchors(folder, keep):
    raw(folder).execute("DELETE FROM audit_events WHERE seq > ?", (keep,))
    report = _verify(folder)
    assert not report.ok and report.first_bad == keep + 1 and "cut" in (report.problem or "")


def test_an_inserted_event_is_caught(folder):
    conn = raw(folder)
    rows = _rows(conn)
    forged = rows[K - 1]
    fields = orjson.loads(forged[3])
    fields["codes"] = ["Z00.00"]
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    inserted = (0, forged[1], "sha256:" + hashlib.sha256(body).hexdigest(), body)
    _rewrite(conn, [(i + 1, *r[1:]) for i, r in enumerate(rows[:K] + [inserted] + rows[K:])])
    report = _verify(folder)
    assert not report.ok and report.first_bad == K + 1


def test_an_inserted_event_with_a_recomputed_chain_is_caught_by_the_anchors(folder):
    conn = raw(folder)
    rows = _rows(conn)
    _rewrite(conn, _rechain(rows[:K] + [rows[0]] + rows[K:], K))
    report = _verify(folder)
    assert not report.ok and report.first_bad == 21


def test_a_tampered_anchor_is_caught(folder):
    path = folder / "anchors.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    anchor = orjson.loads(lines[1])
    anchor["size"] = 19
    lines[1] = orjson.dumps(anchor) + b"\n"
    path.write_bytes(b"".join(lines))
    report = _verify(folder)
    assert not report.ok and "anchor file line 2" in (report.problem or "")


def test_an_anchor_signed_with_another_key_is_caught(folder):
    from store.anchors import AnchorFile
    from store.keys import Keys

    other = Keys.derive(b"another-key-another-key-another-key-0123")
    AnchorFile(folder / "anchors.jsonl", other.anchors, other.key_id).write(
        [(N, "sha256:" + "0" * 64)]
    )
    report = _verify(folder)
    assert not report.ok and "another key" in (report.problem or "")


def test_a_torn_last_anchor_line_is_a_crash_not_tampering(folder):
    with (folder / "anchors.jsonl").open("ab") as f:
        f.write(b'{"head":"sha256:12')
    report = _verify(folder)
    assert report.ok and report.notes


def test_a_range_starts_from_the_signed_anchor_below_it(folder):
    raw(folder).execute("DELETE FROM audit_events WHERE seq = 15")
    report = _verify(folder, first=25, last=35)
    assert report.ok and report.first == 21 and report.last == 35
    report = _verify(folder, first=12, last=35)
    assert not report.ok and report.first_bad == 15


def test_an_empty_log_verifies(tmp_path):
    report = verify_log(open_log(tmp_path))
    assert report.ok and report.events == 0
