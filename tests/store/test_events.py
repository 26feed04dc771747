"""The audit event schema is an allow-list: anything that could carry chart text is refused."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from pydantic import ValidationError

from store.events import EventDraft, seal_event
from tests.store.conftest import step

NAME = "Edwin Calloway"


@pytest.mark.parametrize(
    "field, value",
    [
        ("note", "free text"),  # no such field
        ("name", NAME),
        ("name", "find concepts"),
        ("actor", NAME),
        ("actor", f"user:{NAME}"),
        ("run_id", "run-Edwin"),
        ("chart", "chart-of-edwin"),
        ("codes", [NAME]),
        ("codes", ["E11.21 Edwin"]),
        ("error", "no such file: edwin_calloway.txt"),
        ("versions", {"software": NAME}),
        ("versions", {"software": "codesense Calloway"}),
        ("versions", {"patient": "x"}),
        ("spans", [{"doc": 0, "start": 1, "end": 2, "quote": NAME}]),
        ("result", "accepted by Edwin"),
        ("action", "patient.name"),
    ],
)
def test_fields_refuse_anything_but_ids_hashes_codes_and_offsets(field, value):
    fields = step(1).model_dump()
    fields[field] = value
    with pytest.raises(ValidationError):
        EventDraft.model_validate(fields)


def test_a_well_formed_event_validates():
    draft = step(3)
    assert draft.codes == ["E11.21", "I10"]
    assert EventDraft(action="review.decision", actor="reviewer:coder.jane", result="added")


def test_hash_covers_exactly_the_canonical_body():
    body, hash_ = seal_event(
        step(1), seq=7, ts="2026-01-01T00:00:00.000000Z", prev_hash="sha256:" + "0" * 64
    )
    assert hash_ == "sha256:" + hashlib.sha256(body).hexdigest()
    fields = orjson.loads(body)
    assert fields["seq"] == 7 and fields["prev_hash"].startswith("sha256:")
    assert "hash" not in fields
    # Canonical: sorted keys, no whitespace, so the same event always hashes the same.
    assert body == orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
