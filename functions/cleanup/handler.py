"""Scheduled maintenance. Removes records whose retention has passed even while DynamoDB's TTL
lags (it may take up to 48 h to expire an item)."""

import time

from aws_lambda_powertools.metrics import MetricUnit
from roomsnap.config import settings
from roomsnap.dal import RoomRepository
from roomsnap.observability import logger, metrics

SETTINGS = settings()
maintenance = RoomRepository(SETTINGS.table_name)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    removed = maintenance.delete_expired(int(time.time()))
    metrics.add_metric(name="ExpiredRecordsRemoved", unit=MetricUnit.Count, value=removed)
    logger.info("cleanup done", extra={"expired_records_removed": removed})
    return {"expired_records_removed": removed}
