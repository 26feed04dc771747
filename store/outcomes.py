"""Claim outcomes: what the billing system reports happened to a coded chart's claim.

Several outcomes per run over time (submitted, then paid or denied, perhaps adjusted); the
latest by its own time counts. Denial reasons are CARC/RARC codes as the payer gave them
("CO-16", "N290"). Nothing here is chart text: ids, statuses, reason codes and times.
"""

from __future__ import annotations

import re
import secrets
from typing import Literal, get_args

import orjson
from pydantic import BaseModel, Field, field_validator

from store.db import Database
from store.events import utc_now

ClaimStatus = Literal["submitted", "paid", "denied", "adjusted"]
CLAIM_STATUSES: tuple[ClaimStatus, ...] = get_args(ClaimStatus)
# A CARC ("CO-16", "PR-1", "OA-23") or RARC ("N290", "MA130") code, as payers write them.
_REASON = re.compile(r"^(?:[A-Z]{2}-)?[A-Z]{0,2}\d{1,4}[A-Z]?$")


class Outcome(BaseModel):
    outcome_id: str
    run_id: str
    org: str
    status: ClaimStatus
    reasons: list[str] = Field(default_factory=list)
    at: str
    recorded_at: str
    actor: str


class OutcomeRequest(BaseModel):
    """A claim's fate as a billing system posts it."""

    model_config = {"extra": "forbid"}

    status: ClaimStatus
    reasons: list[str] = Field(default_factory=list, max_length=50)
    at: str | None = Field(
        default=None, description="when it happened, ISO 8601 UTC (default: now)"
    )

    @field_validator("reasons")
    @classmethod
    def _reason_codes(cls, reasons: list[str]) -> list[str]:
        cleaned = [r.strip().upper() for r in reasons if r.strip()]
        for reason in cleaned:
            if not _REASON.match(reason):
                raise ValueError(f"{reason[:20]!r} is not a CARC/RARC code (e.g. CO-16, N290)")
        return cleaned

    @field_validator("at")
    @classmethod
    def _utc_time(cls, at: str | None) -> str | None:
        if at is None:
            return None
        return normalize_time(at)


def normalize_time(text: str) -> str:
    """An ISO 8601 time as stored (UTC, microseconds, Z); a date alone is its midnight."""
    from datetime import UTC, datetime

    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OutcomeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, run_id: str, org: str, request: OutcomeRequest, actor: str) -> Outcome:
        outcome = Outcome(
            outcome_id="out-" + secrets.token_hex(8),
            run_id=run_id,
            org=org,
            status=request.status,
            reasons=request.reasons,
            at=request.at or utc_now(),
            recorded_at=utc_now(),
            actor=actor,
        )
        self.db.execute(
            "INSERT INTO outcomes (outcome_id, run_id, org, status, reasons, at, recorded_at, "
            "actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                outcome.outcome_id,
                outcome.run_id,
                outcome.org,
                outcome.status,
                orjson.dumps(outcome.reasons).decode(),
                outcome.at,
                outcome.recorded_at,
                outcome.actor,
            ),
        )
        return outcome

    def for_org(self, org: str) -> list[Outcome]:
        """Every outcome of the organisation's runs, oldest first."""
        return self._select("org = ?", org)

    def for_run(self, run_id: str) -> list[Outcome]:
        return self._select("run_id = ?", run_id)

    def _select(self, where: str, value: str) -> list[Outcome]:
        rows = self.db.query(
            "SELECT outcome_id, run_id, org, status, reasons, at, recorded_at, actor "
            f"FROM outcomes WHERE {where} ORDER BY at, recorded_at",
            (value,),
        )
        return [
            Outcome(
                outcome_id=r[0],
                run_id=r[1],
                org=r[2],
                status=r[3],
                reasons=orjson.loads(r[4]),
                at=r[5],
                recorded_at=r[6],
                actor=r[7],
            )
            for r in rows
        ]
