"""Settings: one typed object read from the environment (prefix CODESENSE_) and defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODESENSE_", extra="ignore")

    data_dir: Path = Path(".codesense")
    setting: Literal["outpatient", "inpatient"] = "outpatient"
    reasoner: str = "offline"

    # Routing: a code at or above `auto_threshold` (and passing validation) needs only the coder's
    # confirmation; below `review_threshold` it is escalated. Calibrated in a later release.
    auto_threshold: float = Field(default=0.75, ge=0.0, le=1.0)
    review_threshold: float = Field(default=0.45, ge=0.0, le=1.0)

    max_file_mb: float = Field(default=50.0, gt=0)
    pdf_timeout_s: float = Field(default=60.0, gt=0)
    pdf_memory_mb: int = Field(default=1024, ge=128)

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.review_threshold > self.auto_threshold:
            raise ValueError("review_threshold must not exceed auto_threshold")
        return self

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"
