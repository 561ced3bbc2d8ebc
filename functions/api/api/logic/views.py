"""Response shapes: the legacy contract (field names fixed; fields are only ever added) and the
other bodies the API returns, as pydantic models so the OpenAPI description is generated from them."""

import time
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from roomsnap.clearance import Clearance
from roomsnap.models import CacheLayer, Model, Room, RoomDetail, Snapshot, TaskStatus, iso
from roomsnap.views import View
from roomsnap.webhooks import DeliveryAttempt, SubscribableEvent, Webhook


class TaskResult(View):
    snapshot_id: str
    room_id: str
    file_size: int
    download_url: str
    content_hash: str | None
    cache_layer: CacheLayer | None


class TaskView(View):
    task_id: str
    task_type: Literal["generate_pdf"] = "generate_pdf"
    status: TaskStatus
    progress: int = Field(ge=0, le=100)
    stage: str
    created_at: str
    started_at: str | None
    completed_at: str | None
    result: TaskResult | None = Field(description="Set once the task is completed")
    error: str | None


def task_view(snapshot: Snapshot) -> dict:
    return TaskView(
        task_id=snapshot.task_id,
        status=snapshot.task_status,
        progress=snapshot.progress,
        stage=snapshot.stage,
        created_at=snapshot.created_at,
        started_at=snapshot.started_at,
        completed_at=snapshot.completed_at,
        result=TaskResult(
            snapshot_id=snapshot.id,
            room_id=snapshot.room_id,
            file_size=snapshot.file_size,
            download_url=snapshot.download_url,
            content_hash=snapshot.content_hash,
            cache_layer=snapshot.cache_layer,
        )
        if snapshot.task_status is TaskStatus.COMPLETED
        else None,
        error=snapshot.error,
    ).model_dump(mode="json")


class BulkStatusView(View):
    tasks: list[TaskView]
    not_found: list[str] = Field(description="Task ids that do not exist or that the caller may not see")


class RoomView(Room):
    clearance: Clearance = Field(description="Is the transfer cleared, judged now against the operation time")


class RoomDetailView(RoomDetail):
    clearance: Clearance = Field(description="Is the transfer cleared, judged now against the operation time")


def room_view(room: Room, clearance: Clearance, model: type[Room] = RoomView) -> dict:
    return model.model_validate({**room.model_dump(), "clearance": clearance}).model_dump(mode="json")


class WebhookView(View):
    id: str
    room_id: str
    url: str
    events: list[SubscribableEvent]
    description: str
    enabled: bool
    created_by: str
    created_at: str
    updated_at: str
    disabled_reason: str | None = Field(description="Why the service disabled it (410 Gone, or failing for days)")
    failing_since: str | None = Field(description="Every attempt has failed since then")
    previous_secret_expires_at: str | None = Field(
        description="Until then deliveries are signed with the old secret too"
    )


class CreatedWebhookView(WebhookView):
    secret: str = Field(description="The signing secret (whsec_...), shown in this answer only")


class RotatedSecretView(View):
    secret: str = Field(description="The new signing secret, shown in this answer only")
    previous_secret_expires_at: str


class QueuedMessageView(View):
    message_id: str = Field(description="The webhook-id the receiver will see")


class DeliveryAttemptView(View, DeliveryAttempt):
    """One attempt of the endpoint's delivery log."""


def webhook_view(webhook: Webhook) -> dict:
    expires = webhook.previous_secret_expires_at
    previous_until = iso(datetime.fromtimestamp(expires, UTC)) if expires and expires > time.time() else None
    return WebhookView.model_validate(
        {**webhook.model_dump(), "previous_secret_expires_at": previous_until}
    ).model_dump(mode="json")


class HealthView(View):
    status: Literal["ok", "degraded"]
    checks: dict[str, bool]


# ------------------------------------------------------------------ errors


class ProblemError(View):
    loc: list[str | int]
    msg: str
    type: str


class Problem(Model):
    """RFC 9457 problem details: the body of every error the API function returns."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str = Field(description="Quote it to support")
    errors: list[ProblemError] | None = Field(
        default=None, description="What did not match the API description (422 only)"
    )


class GatewayError(View):
    """The body of API Gateway's own responses, such as 401 for a missing or invalid token."""

    message: str


# ------------------------------------------------------------------ admin metrics summary


class TimeStatistics(View):
    min: float | None
    max: float | None
    mean: float | None
    median: float | None
    p95: float | None
    p99: float | None
    count: int


class LatencyStatistics(View):
    mean: float | None
    p95: float | None
    p99: float | None
    count: int


class SummaryStatistics(View):
    pdf_generation_time: TimeStatistics


class Summary(View):
    total_metrics: int
    statistics: SummaryStatistics


class PdfGeneration(View):
    total_generations: int
    cached_count: int
    generated_count: int
    cache_hit_rate_percent: float
    by_layer: dict[CacheLayer, int]
    failed_count: int
    cancelled_count: int
    statistics: TimeStatistics
    render_time: TimeStatistics
    created_to_completed: TimeStatistics


class ApiPerformance(View):
    total_requests: int
    endpoints: dict[str, LatencyStatistics] = Field(description='By route, e.g. "POST /rooms/{room_id}/snapshots"')
    status_classes: dict[str, LatencyStatistics] = Field(description='By status class, e.g. "2xx"')


class CacheStatistics(View):
    memory_entries: int
    memory_used_mb: float
    warm_renderers: int
    memory_hits: int
    s3_hits: int
    cache_misses: int
    hit_rate_percent: float


class QueueDepth(View):
    visible: int
    in_flight: int
    delayed: int


class QueueStatistics(View):
    render_queue: QueueDepth
    dead_letter_queue: QueueDepth
    oldest_unfinished_task_age_seconds: float


class RecentFailure(View):
    task_id: str
    snapshot_id: str
    room_id: str | None
    error: str | None = Field(description="The reason its users were given")
    at: str


class MetricsSummary(View):
    timestamp: str
    period_hours: int
    summary: Summary
    pdf_generation: PdfGeneration
    api_performance: ApiPerformance
    cache: CacheStatistics
    queue: QueueStatistics
    recent_failures: list[RecentFailure] = Field(description="The latest failed snapshots of the window, newest first")


class SeriesBucket(View):
    start: str
    count: int = Field(description="Tasks that ended in this bucket")
    completed: int
    failed: int
    cancelled: int
    p50: float | None = Field(description="Generation time of the completed ones, ms (exact)")
    p95: float | None
    p99: float | None
    cache_hits: int


class RedriveView(View):
    moved: int
    at_most: int = Field(description="The most one call moves; call again if `moved` reached it")


class MetricsSeries(View):
    bucket_minutes: int
    buckets: list[SeriesBucket]
