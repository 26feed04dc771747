"""Settings: one typed object read from the environment (prefix CODESENSE_) and defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.contract import Setting
from core.secrets import placeholder_problem


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODESENSE_", extra="ignore")

    data_dir: Path = Path(".codesense")
    setting: Setting = "outpatient"
    reasoner: str = "offline"

    # Routing on the calibrated confidence (agent/scoring.py, data/calibration.json): a code at or
    # above `auto_threshold` (and passing validation) needs only the coder's confirmation; below
    # `review_threshold` it is escalated. 0.96 is the lowest threshold at which auto codes were
    # at least 95% precise on both CodiEsp train and dev (`codesense calibrate` reports it).
    auto_threshold: float = Field(default=0.96, ge=0.0, le=1.0)
    review_threshold: float = Field(default=0.3, ge=0.0, le=1.0)

    # The semantic index (built by `codesense index build`) adds candidates for mentions the term
    # index matched thinly and for phrases it matched nothing in. Off by default: opening it
    # costs about 10 s and the offline reasoner codes from term matches only; evals turn it on.
    semantic_retrieval: bool = False
    semantic_candidates: int = Field(default=10, ge=1, le=50)

    max_file_mb: float = Field(default=50.0, gt=0)
    pdf_timeout_s: float = Field(default=60.0, gt=0)
    pdf_memory_mb: int = Field(default=1024, ge=128)

    # Storage: runs, charts, reviews and the audit log. None means SQLite in the data directory;
    # a postgresql:// URL moves them (and the graph checkpoints) to PostgreSQL.
    database_url: str | None = None
    # The master secret for anchors, sealed records and checkpoints (see store/keys.py). Unset,
    # a key file is generated at <data_dir>/keys/secret.key on first use.
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    # Signed anchors of the audit chain go to this file (default <data_dir>/audit/anchors.jsonl);
    # put it where the database's writers cannot rewrite it.
    anchor_file: Path | None = None
    anchor_every: int = Field(default=1000, ge=1)
    # Who is acting at the command line, as recorded in the audit log (default: the OS user),
    # and the organisation the command line acts in (the HTTP API takes both from the API key).
    actor: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._@-]{1,64}$")
    org: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9._-]{0,47}$")
    # How long a process may hold a run (coding) or a review claim before another process may
    # declare it abandoned; on the same host a dead owner is noticed at once.
    run_lease_s: float = Field(default=3600.0, gt=0)
    review_lease_s: float = Field(default=900.0, gt=0)

    # The Bearer token Prometheus presents to scrape `/metrics` (unset: `/metrics` answers 401).
    metrics_token: SecretStr | None = None

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.review_threshold > self.auto_threshold:
            raise ValueError("review_threshold must not exceed auto_threshold")
        return self

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> Settings:
        for name in ("secret_key", "metrics_token"):
            secret = getattr(self, name)
            if secret is not None:
                problem = placeholder_problem(secret.get_secret_value())
                if problem:
                    raise ValueError(f"{name} {problem}; set a random value (64 hex digits)")
        return self

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"
