"""Settings: one typed object read from the environment (prefix CODESENSE_) and defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.contract import Setting
from core.errors import CodeSenseError
from core.secrets import placeholder_problem


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODESENSE_", extra="ignore")

    data_dir: Path = Path(".codesense")
    setting: Setting = "outpatient"
    # Who decides the codes: the deterministic reasoner, or an OpenAI-compatible model on top of
    # it (agent/reasoners/llm.py), which needs `llm_base_url` and `llm_model`.
    reasoner: Literal["offline", "llm"] = "offline"

    # The LLM reasoner: any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp
    # server). The openai client's defaults (600 s, 2 retries) could block a chart for half an
    # hour; ours bound one request, and `llm_chart_budget_s` bounds all of a chart's requests.
    llm_base_url: str | None = None
    llm_model: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:/-]{1,80}$")
    # Unset for a local server without authentication.
    llm_api_key: SecretStr | None = None
    llm_api_key_file: Path | None = None
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    # Tool calls one chart may make before the model must answer.
    llm_max_tool_calls: int = Field(default=8, ge=0, le=64)
    llm_chart_budget_s: float = Field(default=120.0, gt=0)
    # None leaves the parameter out, for models that refuse it.
    llm_temperature: float | None = Field(default=0.0, ge=0.0, le=2.0)

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

    @model_validator(mode="after")
    def _llm_configured(self) -> Settings:
        if self.reasoner == "llm" and not (self.llm_base_url and self.llm_model):
            raise ValueError("reasoner llm needs CODESENSE_LLM_BASE_URL and CODESENSE_LLM_MODEL")
        if self.llm_api_key is not None:
            problem = placeholder_problem(self.llm_api_key.get_secret_value())
            if problem:
                raise ValueError(f"llm_api_key {problem}; set the endpoint's real key or unset it")
        return self

    def llm_key(self) -> str | None:
        """The endpoint's API key, from the setting or its file; placeholders are refused."""
        if self.llm_api_key is not None:
            return self.llm_api_key.get_secret_value()
        if self.llm_api_key_file is None:
            return None
        try:
            key = self.llm_api_key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise CodeSenseError(
                f"llm_api_key_file {self.llm_api_key_file.name} cannot be read "
                f"({type(err).__name__})"
            ) from None
        problem = placeholder_problem(key)
        if problem:
            raise CodeSenseError(
                f"llm_api_key_file {self.llm_api_key_file.name}: the key {problem}"
            )
        return key

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"
