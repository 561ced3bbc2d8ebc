"""The render queue: one message per snapshot to render. The correlation id travels as a message
attribute so the renderer's logs join the API request's."""

import json

from roomsnap.aws import client


class RenderQueue:
    def __init__(self, queue_url: str, copies: int = 1):
        self.queue_url = queue_url
        self.copies = copies  # >1 only under test-only fault injection: duplicate deliveries

    @property
    def sqs(self):
        return client("sqs")

    def send(self, snapshot_id: str, room_id: str, correlation_id: str) -> None:
        for _ in range(self.copies):
            self.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=json.dumps({"snapshot_id": snapshot_id, "room_id": room_id}),
                MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": correlation_id or "none"}},
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
