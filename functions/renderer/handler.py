"""SQS batch handler: each record is one snapshot to render or to serve from the cache. Records
that fail for a transient reason are reported as batch item failures and come back after the
queue's visibility timeout; the rest of the batch is deleted."""

from datetime import datetime, timezone

import reportlab
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel
from roomsnap.config import settings
from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.models import Id, Snapshot, TaskStatus
from roomsnap.observability import logger, metrics
from roomsnap.storage import PdfStore

from render_logic.cache import ByteBoundedLRU
from render_logic.render import SnapshotRenderer
from report import TEMPLATE_VERSION, render_report

SETTINGS = settings()
memory_cache = ByteBoundedLRU(SETTINGS.memory_cache_mb * 1024 * 1024)
renderer = SnapshotRenderer(
    RoomRepository(SETTINGS.table_name),
    SnapshotRepository(SETTINGS.table_name, SETTINGS.snapshot_retention_days),
    PdfStore(SETTINGS.bucket_name),
    memory_cache,
    render_report,
    TEMPLATE_VERSION,
    reportlab.Version,
)
processor = BatchProcessor(event_type=EventType.SQS)
CACHE_METRICS = {"memory": "CacheHitMemory", "s3": "CacheHitS3", "rendered": "CacheMiss"}


class RenderMessage(BaseModel):
    snapshot_id: Id
    room_id: Id


def record_handler(record: SQSRecord) -> None:
    message = RenderMessage.model_validate_json(record.body)
    correlation = record.message_attributes.get("correlation_id")
    logger.set_correlation_id(correlation.string_value if correlation else record.message_id)
    logger.append_keys(snapshot_id=message.snapshot_id, room_id=message.room_id)
    sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, timezone.utc)
    outcome = renderer.process(message.snapshot_id, sent_at)
    snapshot = outcome.snapshot
    if snapshot is None:
        logger.info("nothing to do: the snapshot is terminal, cancelled or deleted")
        return
    if snapshot.task_status is TaskStatus.FAILED:
        metrics.add_metric(name="SnapshotsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("snapshot failed", extra={"error": snapshot.error})
        return
    emit_completion_metrics(snapshot, outcome.cache_layer, outcome.pdf_bytes)
    logger.info("snapshot completed", extra={"cache_layer": outcome.cache_layer, "file_size": outcome.pdf_bytes, "timings": snapshot.timings.model_dump()})


def emit_completion_metrics(snapshot: Snapshot, cache_layer: str, pdf_bytes: int) -> None:
    created_to_completed = datetime.fromisoformat(snapshot.completed_at) - datetime.fromisoformat(snapshot.created_at)
    metrics.add_metric(name="SnapshotsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=CACHE_METRICS[cache_layer], unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="GenerationTime", unit=MetricUnit.Milliseconds, value=snapshot.timings.total_ms or 0)
    if snapshot.timings.render_ms is not None:
        metrics.add_metric(name="RenderTime", unit=MetricUnit.Milliseconds, value=snapshot.timings.render_ms)
    metrics.add_metric(name="PdfBytes", unit=MetricUnit.Bytes, value=pdf_bytes)
    metrics.add_metric(name="CreatedToCompleted", unit=MetricUnit.Milliseconds, value=created_to_completed.total_seconds() * 1000)

@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    logger.info("batch done", extra={"records": len(event.get("Records", [])), "failures": len(response["batchItemFailures"]), "memory_cache_entries": len(memory_cache), "memory_cache_bytes": memory_cache.used_bytes})
    return response
