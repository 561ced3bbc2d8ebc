"""Scheduled maintenance: stuck tasks, unreferenced cached PDFs, expired records (DynamoDB's TTL
may lag by up to 48 hours). What it did goes to one log line and to metrics."""

from datetime import timedelta

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict

from roomsnap.config import settings
from roomsnap.dal import SnapshotRepository
from roomsnap.dal.expired_records import ExpiredRecords
from roomsnap.dal.pdf_records import PdfRecords
from roomsnap.dal.queues import RenderQueue
from roomsnap.dal.storage import PdfStore
from roomsnap.observability import logged_with_context, logger, metrics, traced

from cleanup.maintenance import STEPS, Maintenance, Step


class CleanupEvent(BaseModel):
    """A schedule's constant input naming the steps to run; any other event (EventBridge's own, an
    invocation by hand) runs them all."""

    model_config = ConfigDict(extra="ignore")
    steps: tuple[Step, ...] = STEPS


SETTINGS = settings()
maintenance = Maintenance(
    SnapshotRepository(SETTINGS.table_name, SETTINGS.snapshot_retention_days),
    PdfRecords(SETTINGS.table_name),
    ExpiredRecords(SETTINGS.table_name),
    PdfStore(SETTINGS.bucket_name),
    RenderQueue(SETTINGS.render_queue_url),
    stuck_after=timedelta(minutes=SETTINGS.stuck_after_minutes),
    max_requeues=SETTINGS.max_requeues,
    pdf_retention=timedelta(days=SETTINGS.pdf_retention_days),
)
METRIC_NAMES = {
    "requeued": "StuckTasksRequeued",
    "failed_stuck": "StuckTasksFailed",
    "pdfs_deleted": "CachedPdfsDeleted",
    "pdfs_kept_referenced": "CachedPdfsKeptReferenced",
    "expired_records_removed": "ExpiredRecordsRemoved",
}


@traced
@metrics.log_metrics
@logged_with_context()
def lambda_handler(event: dict, context) -> dict:
    report = maintenance.run(CleanupEvent.model_validate(event if isinstance(event, dict) else {}).steps).as_dict()
    for field, value in report.items():
        metrics.add_metric(name=METRIC_NAMES[field], unit=MetricUnit.Count, value=value)
    logger.info("cleanup done", extra=report)
    return report
