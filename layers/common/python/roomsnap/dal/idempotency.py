"""Idempotency-Key claims of create requests: a key, per user, names one snapshot for 24 hours."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure, record, to_dynamo
from roomsnap.dal.transactions import Guard

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class IdempotencyClaim:
    snapshot_id: str
    request_digest: str


class KeyClaimed(Exception):
    """The Idempotency-Key was used by an earlier request, still within its window."""

    def __init__(self, claim: IdempotencyClaim):
        super().__init__(claim.snapshot_id)
        self.claim = claim


class IdempotencyKeys(Repository):
    def claim_guard(self, user: str, key: str, request_digest: str, snapshot_id: str, at: datetime) -> Guard:
        """A create's transaction item that claims `key` for `user` for 24 hours, for the snapshot it
        creates; its refusal is KeyClaimed with the earlier claim. Claimed in the same transaction
        as the snapshot, a claim always names a snapshot that was created."""
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
        put = {
            "TableName": self.table_name,
            "Item": item,
            # An expired claim (TTL may lag) no longer counts.
            "ConditionExpression": "attribute_not_exists(PK) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": {"N": str(int(at.timestamp()))}},
        }
        return Guard({"Put": put}, lambda old: KeyClaimed(_claim(record(old or {}))))

    def release(self, user: str, key: str, snapshot_id: str) -> None:
        """Gives a claim up when the snapshot it names failed at once (its message could not be sent),
        so that a retry of that request is a new create rather than that failed snapshot."""
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


def _claim(item: dict) -> IdempotencyClaim:
    return IdempotencyClaim(item["snapshot_id"], item["request_digest"])
