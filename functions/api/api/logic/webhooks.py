"""Webhook domain on the request path: a room's endpoints (owners and admins only), their secrets,
test events, the delivery log and replays. Nothing is delivered here: the delivery function does
that from the webhook queue."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from roomsnap.access import Caller
from roomsnap.dal.queues import WebhookQueue
from roomsnap.dal.secrets import SecretBox
from roomsnap.dal.webhooks import DeliveryLog, MessageRepository, WebhookRepository
from roomsnap.errors import Conflict, NotFound, UnprocessableEntity
from roomsnap.ids import new_id
from roomsnap.models import utc_now
from roomsnap.outbox import Outbox
from roomsnap.permissions import Action
from roomsnap.ssrf import ForbiddenUrl, Target
from roomsnap.webhooks import (
    MAX_WEBHOOKS_PER_ROOM,
    DeliveryAttempt,
    Webhook,
    WebhookIn,
    WebhookPatch,
    new_secret,
)

from api.logic.rooms import RoomService, activity

PREVIOUS_SECRET_VALIDITY = timedelta(hours=24)


@dataclass(frozen=True)
class WebhookServices:
    """What the webhook service stores and calls."""

    webhooks: WebhookRepository
    messages: MessageRepository
    log: DeliveryLog
    secrets: SecretBox
    queue: WebhookQueue
    check_url: Callable[[str], Target]


def url_origin(url: str) -> str:
    """Scheme and host only: the activity log is read by every member, and a webhook URL's path or
    query may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.hostname}"


class WebhookService:
    def __init__(self, rooms: RoomService, services: WebhookServices):
        self.rooms = rooms
        self.webhooks = services.webhooks
        self.messages = services.messages
        self.log = services.log
        self.secrets = services.secrets
        self.queue = services.queue
        self.check_url = services.check_url
        self.outbox = Outbox(services.webhooks, services.messages, services.queue)

    def create(self, caller: Caller, room_id: str, data: WebhookIn) -> tuple[Webhook, str]:
        """The endpoint and its secret (shown this once; stored encrypted)."""
        self.rooms.authorize(caller, room_id, Action.MANAGE_WEBHOOKS)
        self._check(data.url)
        if len(self.webhooks.of_room(room_id)) >= MAX_WEBHOOKS_PER_ROOM:
            raise Conflict(f"a room has at most {MAX_WEBHOOKS_PER_ROOM} webhooks")
        webhook_id, secret = new_id(), new_secret()
        change = activity(caller, "webhook.created", f"{webhook_id}: {url_origin(data.url)}", category="audit")
        webhook = Webhook(
            id=webhook_id,
            room_id=room_id,
            url=data.url,
            events=data.events,
            description=data.description,
            created_by=caller.email,
            created_at=change.at,
            updated_at=change.at,
            secret_ciphertext=self.secrets.seal(secret, room_id, webhook_id),
        )
        self.webhooks.create(webhook, change)
        return webhook, secret

    def list_for_room(self, caller: Caller, room_id: str) -> list[Webhook]:
        self.rooms.authorize(caller, room_id, Action.MANAGE_WEBHOOKS)
        return self.webhooks.of_room(room_id)

    def get(self, caller: Caller, room_id: str, webhook_id: str) -> Webhook:
        self.rooms.authorize(caller, room_id, Action.MANAGE_WEBHOOKS)
        webhook = self.webhooks.get(room_id, webhook_id)
        if webhook is None:
            raise NotFound("webhook not found")
        return webhook

    def update(self, caller: Caller, room_id: str, webhook_id: str, data: WebhookPatch) -> Webhook:
        webhook = self.get(caller, room_id, webhook_id)
        changes = data.model_dump(exclude_none=True)
        detail = ", ".join(f"{name} {value}" for name, value in changes.items() if name != "description")
        change = activity(caller, "webhook.updated", f"{webhook_id}: {detail or 'description'}", category="audit")
        # Enabling an endpoint forgets why it was disabled and its run of failures.
        forget = ("disabled_reason", "failing_since") if data.enabled else ()
        return self.webhooks.update(webhook, {**changes, "updated_at": change.at}, change, remove=forget)

    def delete(self, caller: Caller, room_id: str, webhook_id: str) -> None:
        webhook = self.get(caller, room_id, webhook_id)
        self.webhooks.delete(webhook, activity(caller, "webhook.deleted", webhook_id, category="audit"))

    def rotate_secret(self, caller: Caller, room_id: str, webhook_id: str) -> tuple[str, Webhook]:
        """A new secret; the previous one stays valid (deliveries are signed with both) for 24 h."""
        webhook = self.get(caller, room_id, webhook_id)
        secret = new_secret()
        change = activity(caller, "webhook.secret_rotated", webhook_id, category="audit")
        previous_until = datetime.fromisoformat(change.at) + PREVIOUS_SECRET_VALIDITY
        fields = {
            "secret_ciphertext": self.secrets.seal(secret, room_id, webhook_id),
            "previous_secret_ciphertext": webhook.secret_ciphertext,
            "previous_secret_expires_at": int(previous_until.timestamp()),
            "updated_at": change.at,
        }
        return secret, self.webhooks.update(webhook, fields, change, expect_secret=True)

    def send_test(self, caller: Caller, room_id: str, webhook_id: str) -> str:
        """Queues a `webhook.test` event for the endpoint; returns its message id."""
        webhook = self._enabled(caller, room_id, webhook_id)
        data = {"webhook_id": webhook.id, "room_id": room_id, "requested_by": caller.email}
        return self.outbox.send(webhook, "webhook.test", new_id(), utc_now(), data)

    def deliveries(
        self, caller: Caller, room_id: str, webhook_id: str, limit: int, cursor: str | None
    ) -> tuple[list[DeliveryAttempt], str | None]:
        self.get(caller, room_id, webhook_id)
        return self.log.page(webhook_id, limit, cursor)

    def retry(self, caller: Caller, room_id: str, webhook_id: str, message_id: str) -> str:
        """Re-sends one settled message now: one attempt, with the same webhook-id."""
        webhook = self._enabled(caller, room_id, webhook_id)
        message = self.messages.get(message_id)
        if message is None or message.webhook_id != webhook.id:
            raise NotFound("message not found")
        replayed, current = self.messages.replay(message_id, time.time_ns() // 1_000_000)
        if not replayed:
            state = current.delivery_status.value if current else "gone"
            raise Conflict(f"the message is {state}: it can be re-sent once it has succeeded or failed")
        self.queue.send(message_id)
        return message_id

    def _enabled(self, caller: Caller, room_id: str, webhook_id: str) -> Webhook:
        webhook = self.get(caller, room_id, webhook_id)
        if not webhook.enabled:
            raise Conflict(f"the webhook is disabled ({webhook.disabled_reason or 'by a user'}); enable it first")
        return webhook

    def _check(self, url: str) -> None:
        try:
            self.check_url(url)
        except ForbiddenUrl as refused:
            raise UnprocessableEntity(f"this URL cannot receive webhooks: {refused}") from None
