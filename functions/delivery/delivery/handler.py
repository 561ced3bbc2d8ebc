"""SQS batch handler: each record asks for one attempt of one webhook message.

A message whose attempt failed is handed back to SQS with its visibility set to the retry's delay
(the schedule reaches 10 h, within SQS's 12-hour limit), so it returns on its own when it is due;
one that failed its last attempt is parked in the dead-letter queue; anything else is deleted."""

from datetime import timedelta
from functools import partial

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, Field, ValidationError

from roomsnap.config import settings
from roomsnap.dal.queues import DeadLetterQueue, WebhookQueue
from roomsnap.dal.secrets import SecretBox
from roomsnap.dal.webhooks import DeliveryLog, MessageRepository, WebhookRepository
from roomsnap.observability import logged_with_context, logger, metrics, traced
from roomsnap.ssrf import check_url
from roomsnap.webhooks import MESSAGE_ID_PATTERN

from delivery.logic.deliver import Deliverer
from delivery.logic.http import HttpSender
from delivery.logic.retries import RetryPolicy

SETTINGS = settings()
deliverer = Deliverer(
    MessageRepository(SETTINGS.table_name, SETTINGS.webhook_log_retention_days),
    WebhookRepository(SETTINGS.table_name),
    DeliveryLog(SETTINGS.table_name, SETTINGS.webhook_log_retention_days),
    SecretBox(SETTINGS.webhook_key_id),
    partial(check_url, loopback_only=SETTINGS.webhook_loopback_only),
    HttpSender(SETTINGS.webhook_timeout_seconds),
    RetryPolicy(SETTINGS.webhook_retry_schedule_seconds, SETTINGS.webhook_retry_jitter),
    disable_after=timedelta(hours=SETTINGS.webhook_disable_after_hours),
)
webhook_queue = WebhookQueue(SETTINGS.webhook_queue_url)
dead_letters = DeadLetterQueue(SETTINGS.webhook_dead_letter_queue_url)
# A deferred record is a normal outcome: a batch of only deferred records is not a function error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
STEP_METRICS = {"done": "WebhookMessagesDone", "retry": "WebhookRetries", "park": "WebhookMessagesParked"}


class DeliveryMessage(BaseModel):
    message_id: str = Field(pattern=MESSAGE_ID_PATTERN)


class DeliveryDeferred(Exception):
    """The record comes back later (its visibility is set): a batch item failure, not an error."""


def record_handler(record: SQSRecord, lambda_context) -> None:
    try:
        message_id = DeliveryMessage.model_validate_json(record.body).message_id
    except ValidationError as error:
        dead_letters.park(record.body, f"malformed webhook message: {error.errors(include_url=False)}")
        logger.error("malformed message moved to the dead-letter queue", extra={"body": record.body[:200]})
        return
    logger.append_keys(message_id=message_id)
    lease_s = lambda_context.get_remaining_time_in_millis() / 1000 + 5
    step = deliverer.deliver(message_id, record.message_id, lease_s)
    metrics.add_metric(name=STEP_METRICS[step.action], unit=MetricUnit.Count, value=1)
    logger.info("webhook message", extra={"step": step.action, "reason": step.reason, "retry_in_s": step.delay_s})
    if step.action == "park":
        dead_letters.park(record.body, step.reason)
    elif step.action == "retry":
        webhook_queue.retry_in(record.receipt_handle, step.delay_s)
        raise DeliveryDeferred(step.reason)


@traced
@metrics.log_metrics
@logged_with_context()
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
