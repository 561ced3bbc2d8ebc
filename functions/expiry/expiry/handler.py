"""Daily schedule: announces documents that expire soon (see expiry.logic). What it did goes to one
log line and to metrics."""

from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from roomsnap.config import settings
from roomsnap.dal.expiring_documents import ExpiringDocuments
from roomsnap.dal.rooms import RoomRepository
from roomsnap.observability import logged_with_context, logger, metrics, traced

from expiry.logic import ExpiryAlerts

SETTINGS = settings()
alerts = ExpiryAlerts(
    ExpiringDocuments(SETTINGS.table_name), RoomRepository(SETTINGS.table_name), SETTINGS.expiry_alert_days
)


@traced
@metrics.log_metrics
@logged_with_context()
def lambda_handler(event: dict, context) -> dict:
    report = alerts.run(datetime.now(UTC).date()).as_dict()
    metrics.add_metric(name="DocumentExpiryAlerts", unit=MetricUnit.Count, value=report["alerts"])
    logger.info("expiry alerts done", extra=report)
    return report
