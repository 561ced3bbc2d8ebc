"""Webhook endpoints, their messages and their delivery logs.

  ROOMHOOKS#<room>   HOOK#<id>    an endpoint of the room (its secret encrypted by KMS)
  HOOKMSG#<msg>      MSG          one event for one endpoint and where its delivery stands
  HOOKLOG#<webhook>  <id>         one attempt (time-ordered ids: a Query newest first is the log)

A message is created once (a conditional put on its derived id), and every attempt is claimed
with a conditional write before anything is sent: see MessageRepository.claim.
"""

from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure, item_on_condition_failure, log_item, record, to_dynamo
from roomsnap.errors import Conflict, NotFound
from roomsnap.ids import new_id
from roomsnap.models import Activity
from roomsnap.webhooks import DeliveryAttempt, Message, MessageState, Webhook


def webhook_key(room_id: str, webhook_id: str) -> dict:
    return {"PK": {"S": f"ROOMHOOKS#{room_id}"}, "SK": {"S": f"HOOK#{webhook_id}"}}


def message_key(message_id: str) -> dict:
    return {"PK": {"S": f"HOOKMSG#{message_id}"}, "SK": {"S": "MSG"}}


def _expires_at(retention: timedelta) -> int:
    return int((datetime.now(UTC) + retention).timestamp())


class WebhookRepository(Repository):
    """A room's endpoints. Each change is written with its audit line in the room's activity log
    (audit lines are not printed in reports and leave the room's version alone)."""

    def create(self, webhook: Webhook, audit: Activity) -> None:
        item = {**webhook_key(webhook.room_id, webhook.id), **to_dynamo({"entity": "webhook", **webhook.model_dump()})}
        self.batch_put([item, log_item(webhook.room_id, audit)])

    def get(self, room_id: str, webhook_id: str) -> Webhook | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=webhook_key(room_id, webhook_id), ConsistentRead=True
        ).get("Item")
        return Webhook.model_validate(record(item)) if item else None

    def of_room(self, room_id: str) -> list[Webhook]:
        """Every endpoint of the room (at most MAX_WEBHOOKS_PER_ROOM), oldest first."""
        items = self.query_all(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ROOMHOOKS#{room_id}"}},
            ConsistentRead=True,
        )
        return [Webhook.model_validate(record(item)) for item in items]

    def update(
        self, webhook: Webhook, fields: dict, audit: Activity, remove: tuple[str, ...] = (), expect_secret: bool = False
    ) -> Webhook:
        """Changes an existing endpoint. With `expect_secret`, only while its secret is still the
        one read (two rotations at once: the second is a 409)."""
        condition = "attribute_exists(PK)" + (" AND secret_ciphertext = :read_secret" if expect_secret else "")
        values = {":read_secret": webhook.secret_ciphertext} if expect_secret else {}
        applied, item = self.conditional_update(
            webhook_key(webhook.room_id, webhook.id), fields, condition, values, remove=remove
        )
        if item is None:
            raise NotFound("webhook not found")
        if not applied:
            raise Conflict("the webhook changed meanwhile; read it again")
        self.batch_put([log_item(webhook.room_id, audit)])
        return Webhook.model_validate(record(item))

    def delete(self, webhook: Webhook, audit: Activity) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name,
                Key=webhook_key(webhook.room_id, webhook.id),
                ConditionExpression="attribute_exists(PK)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise NotFound("webhook not found") from None
            raise
        self.batch_put([log_item(webhook.room_id, audit)])

    # ---------------------------------------------------------------- delivery side

    def disable(self, webhook: Webhook, reason: str, audit: Activity) -> bool:
        """enabled → disabled, with the reason; the audit line only if this call disabled it."""
        applied, _ = self.conditional_update(
            webhook_key(webhook.room_id, webhook.id),
            {"enabled": False, "disabled_reason": reason, "updated_at": audit.at},
            condition="#enabled = :was_enabled",
            values={":was_enabled": True},
        )
        if applied:
            self.batch_put([log_item(webhook.room_id, audit)])
        return applied

    def failing_since(self, webhook: Webhook, at: str) -> str:
        """Notes a failed attempt: the endpoint has been failing since its first failure after the
        last success. Returns that moment."""
        item = self.dynamodb.update_item(
            TableName=self.table_name,
            Key=webhook_key(webhook.room_id, webhook.id),
            UpdateExpression="SET failing_since = if_not_exists(failing_since, :at)",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":at": {"S": at}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return str(item["failing_since"]["S"])

    def succeeded(self, webhook: Webhook) -> None:
        """A success ends a run of failures."""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=webhook_key(webhook.room_id, webhook.id),
                UpdateExpression="REMOVE failing_since",
                ConditionExpression="attribute_exists(failing_since)",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise


class MessageRepository(Repository):
    def __init__(self, table_name: str, retention_days: int = 30):
        super().__init__(table_name)
        self.retention = timedelta(days=retention_days)

    def create(self, message: Message) -> Message | None:
        """Records the message once. Returns None when this call created it, else the message as
        it already was (a redelivered stream record, a retried request)."""
        item = {
            **message_key(message.id),
            **to_dynamo(
                {"entity": "webhook_message", "expires_at": _expires_at(self.retention), **message.model_dump()}
            ),
        }
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(PK)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return Message.model_validate(record(item_on_condition_failure(error) or item))
            raise
        return None

    def get(self, message_id: str) -> Message | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=message_key(message_id), ConsistentRead=True).get(
            "Item"
        )
        return Message.model_validate(record(item)) if item else None

    def claim(self, message_id: str, ticket: str, now_ms: int, lease_ms: int) -> tuple[bool, Message | None]:
        """Claims the message's next attempt for the queue message `ticket`, before anything is sent.
        It holds only if the message awaits an attempt that is due, no attempt is in progress, and
        no other queue message has claimed it before (the first claimer's ticket sticks), so a
        duplicate delivery never sends twice. Returns whether it applied, and the message (as it
        was, when the claim did not apply; None: no such message)."""
        applied, item = self.conditional_update(
            message_key(message_id),
            {"claim_until": now_ms + lease_ms, "ticket": ticket},
            add={"attempts": 1},
            condition=(
                "delivery_status IN (:pending, :replaying) AND next_attempt_at <= :now"
                " AND (attribute_not_exists(ticket) OR ticket = :ticket)"
                " AND (attribute_not_exists(claim_until) OR claim_until < :now)"
            ),
            values={":pending": MessageState.PENDING, ":replaying": MessageState.REPLAYING, ":now": now_ms},
        )
        return applied, Message.model_validate(record(item)) if item else None

    def settle(self, message: Message, status: MessageState, next_attempt_at_ms: int | None = None) -> bool:
        """Ends the claimed attempt: the message succeeded, failed for good, or waits for a retry
        at `next_attempt_at_ms`. Only the claim's holder can settle it."""
        fields = {"delivery_status": status, **({"next_attempt_at": next_attempt_at_ms} if next_attempt_at_ms else {})}
        applied, _ = self.conditional_update(
            message_key(message.id),
            fields,
            condition="attempts = :claimed AND ticket = :ticket",
            values={":claimed": message.attempts, ":ticket": message.ticket},
            remove=("claim_until",),
        )
        return applied

    def replay(self, message_id: str, now_ms: int) -> tuple[bool, Message | None]:
        """A settled message becomes due once more, for one attempt; its next queue message claims it."""
        applied, item = self.conditional_update(
            message_key(message_id),
            {"delivery_status": MessageState.REPLAYING, "next_attempt_at": now_ms},
            add={"replays": 1},
            condition="delivery_status IN (:succeeded, :failed)",
            values={":succeeded": MessageState.SUCCEEDED, ":failed": MessageState.FAILED},
            remove=("ticket",),
        )
        return applied, Message.model_validate(record(item)) if item else None


class DeliveryLog(Repository):
    def __init__(self, table_name: str, retention_days: int = 30):
        super().__init__(table_name)
        self.retention = timedelta(days=retention_days)

    def append(self, webhook_id: str, attempt: DeliveryAttempt) -> None:
        item = {
            "PK": {"S": f"HOOKLOG#{webhook_id}"},
            "SK": {"S": new_id()},
            **to_dynamo(
                {"entity": "webhook_attempt", "expires_at": _expires_at(self.retention), **attempt.model_dump()}
            ),
        }
        self.dynamodb.put_item(TableName=self.table_name, Item=item)

    def page(self, webhook_id: str, limit: int, cursor: str | None) -> tuple[list[DeliveryAttempt], str | None]:
        items, next_cursor = self.query_page(f"HOOKLOG#{webhook_id}", limit, cursor)
        return [DeliveryAttempt.model_validate(record(item)) for item in items], next_cursor
