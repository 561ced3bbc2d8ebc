"""DynamoDB stream handler (the outbox): each record is decoded into a change, and every consumer
is handed it: the webhooks' fan-out, and the live channel, whose events are published once the
batch is through. The event source mapping's filter passes the snapshots' writes and document
expiry alerts. A record that fails is reported as a batch item failure, so the stream retries from
it (and the consumers' writes are idempotent)."""

from collections.abc import Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from roomsnap.config import settings
from roomsnap.dal.live_channels import LiveChannels
from roomsnap.dal.queues import WebhookQueue
from roomsnap.dal.webhooks import MessageRepository, WebhookRepository
from roomsnap.observability import logged_with_context, logger, metrics, traced
from roomsnap.outbox import Outbox

from notifier.logic.changes import Change, change_of
from notifier.logic.live import LiveConsumer
from notifier.logic.webhooks import WebhookConsumer

SETTINGS = settings()
outbox = Outbox(
    WebhookRepository(SETTINGS.table_name),
    MessageRepository(SETTINGS.table_name, SETTINGS.webhook_log_retention_days),
    WebhookQueue(SETTINGS.webhook_queue_url),
)
live = LiveConsumer(
    LiveChannels(
        f"{SETTINGS.events_scheme}://{SETTINGS.events_http_domain}/event", SETTINGS.events_publish_timeout_seconds
    )
)
CONSUMERS: list[Callable[[Change], object]] = [WebhookConsumer(outbox), live]
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    change = change_of(record.raw_event)
    if change is None:
        return
    for consume in CONSUMERS:
        outcome = consume(change)
        if outcome:
            logger.info("change consumed", extra={"consumer": type(consume).__name__, "outcome": outcome})


@traced
@metrics.log_metrics
@logged_with_context()
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    live.flush()
    return response
