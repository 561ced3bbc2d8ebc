"""Configuration: environment variables parsed once, at cold start, into a validated model."""

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from roomsnap.content import Budget


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: str = Field(min_length=1)
    bucket_name: str = Field(min_length=1)
    render_queue_url: str = Field(min_length=1)
    dead_letter_queue_url: str = ""
    admin_group: str = "admin"
    # Per-user limits on creating snapshots (template Parameters; see roomsnap.dal.create_limits).
    snapshots_per_minute: int = Field(default=60, ge=1)
    snapshots_per_hour: int = Field(default=600, ge=1)
    max_unfinished_snapshots: int = Field(default=50, ge=1)
    # Whether the IdP issues only verified emails (then tokens need no email_verified claim).
    idp_verifies_emails: bool = False
    memory_cache_mb: int = Field(default=64, ge=0)
    snapshot_retention_days: int = Field(default=90, ge=1)
    # A Lambda response carries at most 6 MB; base64 inflates by 4/3, so larger PDFs are redirected.
    inline_download_max_bytes: int = Field(default=4_000_000, ge=0)
    presign_ttl_seconds: int = Field(default=300, ge=1, le=300)
    # Cleanup: an unfinished task with no sign of life for this long is re-enqueued (at most
    # max_requeues times, then failed); longer than the retry backoff, so live retries are left alone.
    stuck_after_minutes: int = Field(default=15, ge=1)
    max_requeues: int = Field(default=3, ge=0)
    # A cached PDF that no snapshot references and nothing used for this long is deleted.
    pdf_retention_days: float = Field(default=7, ge=0)
    # API latency histograms are flushed to the table at most this often per container (0: always).
    api_stats_flush_seconds: int = Field(default=60, ge=0)
    max_receive_count: int = Field(default=4, ge=1)
    # The render budget (roomsnap.content.Budget): read by the renderer, and by the API, which does
    # not retry a snapshot that failed over it while the room still is. Template.yaml never sets it.
    report_max_rows: int = Field(default=Budget.rows, ge=1)
    report_max_characters: int = Field(default=Budget.characters, ge=1)
    # A record is only started with this much of the invocation left: the slowest render the budget
    # allows (roomsnap.content), with room to store it. Later records go back to the queue.
    record_time_allowance_s: float = Field(default=12, ge=0)
    # Delays before the 1st, 2nd, 3rd... retry of a transiently failed render (the last repeats).
    retry_backoff_seconds: tuple[int, ...] = (10, 60, 300)
    # Webhooks: the queue of messages to deliver, its dead-letter queue and the key their secrets
    # are encrypted with; the delays before the 1st, 2nd ... retry (one attempt more than there are
    # delays), each varied by +/- the jitter share (at most 15 %, so that 10 h stays within SQS's
    # 12-hour visibility limit); the request timeout; how long an endpoint may fail every attempt
    # before it is disabled; how long messages and the delivery log are kept.
    webhook_queue_url: str = ""
    webhook_dead_letter_queue_url: str = ""
    webhook_key_id: str = ""
    webhook_retry_schedule_seconds: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_retry_jitter: float = Field(default=0.1, ge=0, le=0.15)
    webhook_timeout_seconds: float = Field(default=15, gt=0)
    webhook_disable_after_hours: float = Field(default=120, gt=0)
    webhook_log_retention_days: int = Field(default=30, ge=1)
    # Local stack only (template.yaml never sets it): receivers must be http(s) on 127.0.0.1 or
    # localhost, and nothing else is allowed, so nothing run locally sends traffic off the machine.
    webhook_loopback_only: bool = False
    # The live channel (AppSync Events): the host of its HTTP publish endpoint, the scheme (plain
    # http only on the local stack, which template.yaml never sets) and the publish timeout.
    events_http_domain: str = ""
    events_scheme: str = "https"
    # The web app's domain (CloudFront's), which the PDF's footer names for verification, and its
    # scheme (plain http only on the local stack, which template.yaml never sets).
    web_domain: str = ""
    web_scheme: str = "https"
    events_publish_timeout_seconds: int = Field(default=2, ge=1)
    # PDF signing (the renderer): the KMS key (its alias), the SSM parameter holding the PEM chain
    # of the key's certificate, and the RFC 3161 timestamp authority's URL (empty: PAdES B-B).
    signing_key_id: str = ""
    signing_certificate_parameter: str = ""
    timestamp_url: str = ""
    # POST /verify (no API Gateway authorizer): the token issuer and audience it checks itself, and
    # how many verifications one caller (a user, or a source address) may ask for a minute.
    jwt_issuer: str = ""
    jwt_audience: str = ""
    verify_requests_per_minute: int = Field(default=30, ge=1)
    # Document expiry alerts: documents expiring within this many days are announced, daily.
    expiry_alert_days: int = Field(default=14, ge=0)

    @field_validator("retry_backoff_seconds", "webhook_retry_schedule_seconds", mode="before")
    @classmethod
    def comma_separated(cls, value):
        return tuple(int(part) for part in value.split(",")) if isinstance(value, str) else value


@cache
def settings() -> Settings:
    return Settings.model_validate({key.lower(): value for key, value in os.environ.items()})
