"""What one delivered event costs in AWS requests, counted on the very clients the code uses: a
snapshot completes, the notifier handles its stream record, the delivery function handles the
queue message and a receiver on 127.0.0.1 answers 204. (Lambda's own reads, one GetRecords for
the stream batch and one ReceiveMessage plus one DeleteMessageBatch for the queue batch, are
made by the event source mappings, not by this code.)"""

from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from template_emulator.streams import lambda_record

from roomsnap.dal import clients, secrets
from roomsnap.ssrf import check_url

from delivery.logic.deliver import Deliverer
from delivery.logic.http import HttpSender
from delivery.logic.retries import RetryPolicy
from notifier.logic.changes import change_of
from notifier.logic.webhooks import WebhookConsumer
from tests.integration.builders import new_snapshot, new_webhook
from tests.support import accepting_receiver

SERVICES = ("dynamodb", "sqs", "kms")


@pytest.fixture
def receiver_url():
    with accepting_receiver() as url:
        yield url


class RequestCounter:
    """Counts the requests made through the product's cached boto3 clients, by operation."""

    def __init__(self):
        self.calls: Counter = Counter()

    def __enter__(self):
        for service in SERVICES:
            clients.client(service).meta.events.register("before-call", self.count)
        return self

    def __exit__(self, *exc_info):
        for service in SERVICES:
            clients.client(service).meta.events.unregister("before-call", self.count)

    def count(self, event_name, **kwargs):
        self.calls[event_name.removeprefix("before-call.")] += 1

    def take(self) -> dict[str, int]:
        taken, self.calls = dict(self.calls), Counter()
        return taken


def terminal_stream_record(aws, snapshot_id: str) -> dict:
    _, endpoint = aws
    streams = endpoint.client("dynamodbstreams")
    arn = endpoint.client("dynamodb").describe_table(TableName=aws[0]["DataTable"])["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]
    (record,) = [
        r
        for r in records
        if r["dynamodb"]["Keys"]["PK"]["S"] == f"SNAP#{snapshot_id}"
        and r["dynamodb"].get("NewImage", {}).get("task_status", {}).get("S") == "completed"
    ]
    return lambda_record(record, arn)


def test_one_delivered_event_costs_three_requests_to_fan_out_and_four_or_five_to_deliver(hooks, aws, receiver_url):
    resources, endpoint = aws
    webhook, _ = new_webhook(hooks, url=receiver_url)
    snapshot = new_snapshot(hooks, webhook.room_id, "Counted")
    running = hooks["snapshots"].claim(snapshot.id, 30)
    hooks["snapshots"].complete(running, "f" * 64, {}, cache_layer="rendered", file_size=1)
    record = terminal_stream_record(aws, snapshot.id)
    deliverer = Deliverer(
        hooks["messages"],
        hooks["webhooks"],
        hooks["log"],
        hooks["secrets"],
        partial(check_url, loopback_only=True),
        HttpSender(5),
        RetryPolicy((5,), 0.1),
        timedelta(days=5),
    )
    secrets._decrypt.cache_clear()  # a cold container
    sqs = endpoint.client("sqs")

    with RequestCounter() as counter:
        (message_id,) = WebhookConsumer(hooks["outbox"])(change_of(record))
        fan_out = counter.take()
        (queued,) = sqs.receive_message(QueueUrl=resources["WebhookQueue"], WaitTimeSeconds=1)["Messages"]
        cold = deliverer.deliver(message_id, queued["MessageId"], 30)
        cold_delivery = counter.take()

        # the same container delivering the next event: the decrypted secret is still known
        (second_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "next", "t", {})
        counter.take()
        (queued_again,) = sqs.receive_message(QueueUrl=resources["WebhookQueue"], WaitTimeSeconds=1)["Messages"]
        warm = deliverer.deliver(second_id, queued_again["MessageId"], 30)
        warm_delivery = counter.take()

    assert (cold.action, warm.action) == ("done", "done")
    # notifier: the room's webhooks, the message's conditional put, the queue message
    assert fan_out == {"dynamodb.Query": 1, "dynamodb.PutItem": 1, "sqs.SendMessage": 1}
    # delivery: the claim, the webhook, its secret, the log line, the settlement
    assert cold_delivery == {"dynamodb.UpdateItem": 2, "dynamodb.GetItem": 1, "kms.Decrypt": 1, "dynamodb.PutItem": 1}
    assert warm_delivery == {"dynamodb.UpdateItem": 2, "dynamodb.GetItem": 1, "dynamodb.PutItem": 1}
