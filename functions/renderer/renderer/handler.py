"""SQS batch handler: each record is one snapshot to render or to serve from the cache.

A record that fails is reported as a batch item failure after its visibility is set to the next
backoff delay (10 s, 60 s, 300 s), so it comes back later on its own; the rest of the batch is
deleted. On the last delivery before the dead-letter queue the snapshot is failed with a reason a
person can read (the detail is in the logs under the correlation id it quotes), so a user never
waits on a message that is no longer coming. A record is only started while the invocation has
time for the slowest render the budget allows; later records are handed back at once, so a
timeout never fails the whole batch."""

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ValidationError

from roomsnap.config import settings
from roomsnap.content import Budget
from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.issuance import IssuanceRecords
from roomsnap.dal.pdf_records import PdfRecords
from roomsnap.dal.queues import DeadLetterQueue, RenderQueue
from roomsnap.dal.signing_key import SigningKey, certificate_chain
from roomsnap.dal.storage import PdfStore
from roomsnap.errors import SigningUnavailable, SnapshotSettled, failure_for_users
from roomsnap.models import CacheLayer, Id, Snapshot, TaskStatus
from roomsnap.observability import logged_with_context, logger, metrics, traced
from roomsnap.snapstart import after_restore, before_snapshot

from renderer.logic.cache import ByteBoundedLRU
from renderer.logic.render import SnapshotRenderer
from renderer.logic.retries import plan_retry
from renderer.report import LIBRARY_VERSION, TEMPLATE_VERSION, load_fonts, render_report

if TYPE_CHECKING:
    from renderer.logic.signing import PdfSealer

SETTINGS = settings()
CACHE_METRICS: dict[CacheLayer, str] = {"memory": "CacheHitMemory", "s3": "CacheHitS3", "rendered": "CacheMiss"}


@cache
def sealer() -> "PdfSealer":
    """The signer, built on the first cache miss: pyHanko is imported then, not at cold start."""
    from renderer.logic.signing import PdfSealer, SignerSettings

    chain = certificate_chain(SETTINGS.signing_certificate_parameter)
    return PdfSealer(SigningKey(SETTINGS.signing_key_id), SignerSettings(chain, SETTINGS.timestamp_url))


def sign_pdf(pdf: bytes) -> bytes:
    """Signs with the container's signer; when signing fails (a disabled key, a new certificate
    that does not match yet), the signer is built afresh on the next attempt."""
    try:
        return sealer().sign(pdf)
    except SigningUnavailable:
        sealer.cache_clear()
        raise


memory_cache = ByteBoundedLRU(SETTINGS.memory_cache_mb * 1024 * 1024)
snapshots = SnapshotRepository(SETTINGS.table_name, SETTINGS.snapshot_retention_days)
renderer = SnapshotRenderer(
    RoomRepository(SETTINGS.table_name),
    snapshots,
    PdfRecords(SETTINGS.table_name),
    PdfStore(SETTINGS.bucket_name),
    memory_cache,
    render_report,
    TEMPLATE_VERSION,
    LIBRARY_VERSION,
    sign=sign_pdf,
    issuances=IssuanceRecords(SETTINGS.table_name),
    touch_valid_s=min(3600, SETTINGS.pdf_retention_days * 86_400 / 2),
    budget=Budget(SETTINGS.report_max_rows, SETTINGS.report_max_characters),
    verify_url=f"{SETTINGS.web_scheme}://{SETTINGS.web_domain}/verify" if SETTINGS.web_domain else None,
)
after_restore(renderer.restored)
before_snapshot(load_fonts)
render_queue = RenderQueue(SETTINGS.render_queue_url)
dead_letters = DeadLetterQueue(SETTINGS.dead_letter_queue_url)
processor = BatchProcessor(event_type=EventType.SQS)


class RenderMessage(BaseModel):
    snapshot_id: Id
    room_id: Id


class HandedBack(Exception):
    """Too little time is left in this invocation to start the record: it returns to the queue now."""


def record_handler(record: SQSRecord, lambda_context) -> None:
    logger.remove_keys(["snapshot_id", "room_id"])  # keys of the previous record
    correlation = record.message_attributes["correlation_id"]
    logger.set_correlation_id(correlation.string_value if correlation else record.message_id)
    if lambda_context.get_remaining_time_in_millis() < SETTINGS.record_time_allowance_s * 1000:
        render_queue.retry_in(record.receipt_handle, 0)
        logger.info("handed back: too little time left in this invocation")
        raise HandedBack(record.message_id)
    try:
        message = RenderMessage.model_validate_json(record.body)
    except ValidationError as error:
        dead_letter(record, f"malformed render message: {error.errors(include_url=False)}")
        return
    logger.append_keys(snapshot_id=message.snapshot_id, room_id=message.room_id)
    sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
    lease_seconds = lambda_context.get_remaining_time_in_millis() / 1000 + 5
    try:
        outcome = renderer.process(message.snapshot_id, sent_at, lease_seconds)
    except SnapshotSettled as settled:
        logger.info("nothing to do", extra={"reason": str(settled)})
        return
    except Exception as error:  # unexpected ones too: retried, and in the end failed with a plain reason
        retry_later(record, message.snapshot_id, error)
        raise
    report_outcome(outcome.snapshot)


def retry_later(record: SQSRecord, snapshot_id: str, error: Exception) -> None:
    """Users read `stage` and `error`; the exception itself goes to the logs (and to the record's
    internal last_error) under the correlation id that the user-facing text quotes."""
    deliveries = int(record.attributes.approximate_receive_count)
    plan = plan_retry(error, deliveries, SETTINGS.max_receive_count, SETTINGS.retry_backoff_seconds)
    reference = logger.get_correlation_id() or record.message_id
    # A PDF that cannot be signed is not issued at all; its reason names no key or ARN.
    unsigned = isinstance(error, SigningUnavailable)
    if plan.action == "give_up":
        what = (
            f"The PDF could not be signed, so none was issued ({deliveries} attempts; {error})"
            if unsigned
            else f"The snapshot could not be rendered ({deliveries} attempts)"
        )
        snapshots.fail(snapshot_id, failure_for_users(what, reference))
        metrics.add_metric(name="SnapshotsFailed", unit=MetricUnit.Count, value=1)
    elif plan.action == "back_off":
        failed = "Signing" if unsigned else "Rendering"
        stage = f"{failed} failed (attempt {deliveries} of {SETTINGS.max_receive_count}); retrying shortly"
        snapshots.release(snapshot_id, last_error=f"{type(error).__name__}: {error}", stage=stage)
    metrics.add_metric(name="RenderRetries", unit=MetricUnit.Count, value=1)
    logger.warning(
        "render will be retried" if plan.action != "give_up" else "render failed on its last delivery",
        extra={"deliveries": deliveries, "retry_in_s": plan.delay_s, "error": f"{type(error).__name__}: {error}"},
        exc_info=error,
    )
    render_queue.retry_in(record.receipt_handle, plan.delay_s)


def dead_letter(record: SQSRecord, reason: str) -> None:
    """No retry can fix a malformed message: park it in the dead-letter queue at once."""
    dead_letters.park(record.body, reason)
    metrics.add_metric(name="MalformedMessages", unit=MetricUnit.Count, value=1)
    logger.error("malformed message moved to the dead-letter queue", extra={"reason": reason})


def report_outcome(snapshot: Snapshot | None) -> None:
    if snapshot is None:
        logger.info("result discarded: the task was cancelled or the snapshot deleted while rendering")
        return
    if snapshot.task_status is TaskStatus.FAILED:
        metrics.add_metric(name="SnapshotsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("snapshot failed", extra={"error": snapshot.error})
        return
    if snapshot.cache_layer is None or snapshot.completed_at is None:
        raise ValueError("a completed snapshot records its cache layer and its completion time")
    created_to_completed = datetime.fromisoformat(snapshot.completed_at) - datetime.fromisoformat(snapshot.created_at)
    metrics.add_metric(name="SnapshotsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=CACHE_METRICS[snapshot.cache_layer], unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="GenerationTime", unit=MetricUnit.Milliseconds, value=snapshot.timings.total_ms or 0)
    if snapshot.timings.render_ms is not None:
        metrics.add_metric(name="RenderTime", unit=MetricUnit.Milliseconds, value=snapshot.timings.render_ms)
    metrics.add_metric(name="PdfBytes", unit=MetricUnit.Bytes, value=snapshot.file_size)
    metrics.add_metric(
        name="CreatedToCompleted", unit=MetricUnit.Milliseconds, value=created_to_completed.total_seconds() * 1000
    )
    logger.info(
        "snapshot completed",
        extra={
            "cache_layer": snapshot.cache_layer,
            "file_size": snapshot.file_size,
            "timings": snapshot.timings.model_dump(exclude_none=True),
        },
    )


@traced
@metrics.log_metrics
@logged_with_context()
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
