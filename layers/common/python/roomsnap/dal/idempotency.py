"""Idempotency-Key claims of create requests: a key, per user, names one snapshot for 24 hours."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure, item_on_condition_failure, record, to_dynamo

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyClaim:
    snapshot_id: str
    request_digest: str


class IdempotencyKeys(Repository):
    def claim(
        self, user: str, key: str, request_digest: str, snapshot_id: str, at: datetime
    ) -> IdempotencyClaim | None:
        """Claims `key` for `user` for 24 hours, for the snapshot about to be created. Returns None
        once claimed, or the earlier claim while it is valid."""
        item = {
            **self._key(user, key),
            **to_dynamo(
                {
                    "snapshot_id": snapshot_id,
                    "request_digest": request_digest,
                    "entity": "idempotency",
                    "expires_at": int((at + WINDOW).timestamp()),
                }
            ),
        }
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=item,
                # An expired claim (TTL may lag) no longer counts.
                ConditionExpression="attribute_not_exists(PK) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(at.timestamp()))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            earlier = record(item_on_condition_failure(error) or {})
            if earlier.get("snapshot_id") == snapshot_id:
                return None  # our own earlier attempt, whose answer was lost and retried
            return IdempotencyClaim(earlier["snapshot_id"], earlier["request_digest"])
        return None

    def release(self, user: str, key: str, snapshot_id: str) -> None:
        """Gives a claim up when the create it was for failed, so that a retry of that request is a
        new create rather than a 409 for the next 24 hours."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name,
                Key=self._key(user, key),
                ConditionExpression="snapshot_id = :mine",
                ExpressionAttributeValues={":mine": {"S": snapshot_id}},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def _key(self, user: str, key: str) -> dict:
        digest = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()
        return {"PK": {"S": f"IDEMP#{digest}"}, "SK": {"S": "IDEMP"}}
