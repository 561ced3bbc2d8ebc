"""The fan-out of an event to a room's endpoints: one message per subscribed, enabled endpoint,
recorded once under an id derived from the event and the endpoint, then queued for delivery.

Whatever the stream or a caller repeats, an event reaches an endpoint as one message: the record's
conditional put refuses a second one. The queue message is sent again only while no delivery has
claimed the record yet (a crash between the put and the send would otherwise lose it); a second
queue message for the same record is harmless, because deliveries claim the record before sending.
"""

import time

from roomsnap.dal.queues import WebhookQueue
from roomsnap.dal.webhooks import MessageRepository, WebhookRepository
from roomsnap.models import utc_now
from roomsnap.webhooks import EventType, Message, Webhook, event_body, message_id


class Outbox:
    def __init__(self, webhooks: WebhookRepository, messages: MessageRepository, queue: WebhookQueue):
        self.webhooks = webhooks
        self.messages = messages
        self.queue = queue

    def publish(self, room_id: str, event_type: EventType, subject_id: str, timestamp: str, data: dict) -> list[str]:
        """Sends the event to every endpoint of the room that subscribes to it; returns the message ids."""
        return [
            self.send(webhook, event_type, subject_id, timestamp, data)
            for webhook in self.webhooks.of_room(room_id)
            if webhook.subscribes_to(event_type)
        ]

    def send(self, webhook: Webhook, event_type: EventType, subject_id: str, timestamp: str, data: dict) -> str:
        message = Message(
            id=message_id(event_type, subject_id, webhook.id),
            webhook_id=webhook.id,
            room_id=webhook.room_id,
            event_type=event_type,
            body=event_body(event_type, timestamp, data),
            created_at=utc_now(),
            next_attempt_at=time.time_ns() // 1_000_000,
        )
        earlier = self.messages.create(message)
        if earlier is None or earlier.ticket is None:
            self.queue.send(message.id)
        return message.id
