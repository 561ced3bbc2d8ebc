"""Configuration: environment variables parsed once, at cold start, into a validated model."""

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    render_queue_url: str = Field(min_length=1)
    dead_letter_queue_url: str = ""
    admin_group: str = "admin"
    memory_cache_mb: int = Field(default=64, ge=0)
    snapshot_retention_days: int = Field(default=90, ge=1)
    # A Lambda response carries at most 6 MB; base64 inflates by 4/3, so larger PDFs are redirected.
    inline_download_max_bytes: int = Field(default=4_000_000, ge=0)
    presign_ttl_seconds: int = Field(default=300, ge=1, le=300)


@cache
def settings() -> Settings:
    return Settings.model_validate({key.lower(): value for key, value in os.environ.items()})
