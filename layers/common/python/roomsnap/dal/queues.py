"""The queues: render messages (one per snapshot to render), webhook messages (one per event per
endpoint), their retries, and the dead-letter queues. The correlation id travels as a message
attribute so the renderer's logs join the API request's."""

import json

from roomsnap.dal.clients import client

MAX_VISIBILITY_TIMEOUT_S = 43_200  # SQS's limit: 12 hours


class Queue:
    def __init__(self, queue_url: str):
        self.queue_url = queue_url

    def retry_in(self, receipt_handle: str, delay_s: float) -> None:
        """Makes a received message visible again after `delay_s` (the retry's backoff)."""
        client("sqs").change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=int(min(delay_s, MAX_VISIBILITY_TIMEOUT_S)),
        )


class RenderQueue(Queue):
    def send(self, snapshot_id: str, room_id: str, correlation_id: str) -> None:
        client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({"snapshot_id": snapshot_id, "room_id": room_id}),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": correlation_id or "none"}},
        )


class WebhookQueue(Queue):
    def send(self, message_id: str) -> None:
        """Asks for one delivery of a webhook message (what to send is in its record)."""
        client("sqs").send_message(QueueUrl=self.queue_url, MessageBody=json.dumps({"message_id": message_id}))


class DeadLetterQueue:
    def __init__(self, queue_url: str):
        self.queue_url = queue_url

    def redrive(self, to_queue_url: str, most: int) -> int:
        """Moves up to `most` parked messages back to `to_queue_url` (bodies and attributes as they
        were, but the reason they were parked), batch by batch: each batch is sent before it is
        deleted, so a crash can at worst deliver a message twice, which every consumer tolerates.
        Returns how many moved."""
        sqs, moved = client("sqs"), 0
        while moved < most:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, most - moved),
                MessageAttributeNames=["All"],
                VisibilityTimeout=60,
            ).get("Messages", [])
            if not messages:
                return moved
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": message["Body"],
                    "MessageAttributes": {
                        name: value for name, value in message.get("MessageAttributes", {}).items() if name != "reason"
                    },
                }
                for index, message in enumerate(messages)
            ]
            sent = sqs.send_message_batch(QueueUrl=to_queue_url, Entries=entries).get("Successful", [])
            if not sent:
                return moved  # the target refuses them; they stay parked
            sent_ids = {entry["Id"] for entry in sent}
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                    if str(i) in sent_ids
                ],
            )
            moved += len(sent_ids)
        return moved

    def park(self, body: str, reason: str) -> None:
        """A message no retry can fix, with the reason it was parked."""
        client("sqs").send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )


def queue_depth(queue_url: str) -> dict[str, int]:
    """Messages waiting, in flight and delayed (SQS's approximate counts)."""
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


class QueueDepths:
    """The depths of named queues, as the metrics summary reports them."""

    def __init__(self, queue_urls: dict[str, str]):
        self.queue_urls = queue_urls

    def read(self) -> dict[str, dict[str, int]]:
        return {name: queue_depth(url) for name, url in self.queue_urls.items()}
