"""DynamoDB item plumbing shared by the repositories: typed values, keys, cursors, paging."""

import base64
import json
import zlib
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from roomsnap.dal.clients import client
from roomsnap.errors import BadRequest
from roomsnap.models import Activity

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
KEYS = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "entity", "expires_at")


def _numbers_to_decimal(value: Any) -> Any:
    """Prepares a value for DynamoDB: floats become Decimals, models and enums plain values."""
    if isinstance(value, BaseModel):
        return _numbers_to_decimal(value.model_dump(mode="json"))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return Decimal(str(round(value, 3)))
    if isinstance(value, dict):
        return {k: _numbers_to_decimal(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_numbers_to_decimal(v) for v in value]
    return value


def _decimals_to_numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _decimals_to_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals_to_numbers(v) for v in value]
    return value


def to_dynamo(item: dict) -> dict:
    return {k: _serializer.serialize(v) for k, v in _numbers_to_decimal(item).items()}


def from_dynamo(item: dict) -> dict:
    return _decimals_to_numbers({k: _deserializer.deserialize(v) for k, v in item.items()})


def record(item: dict) -> dict:
    """A stored item without its key attributes, ready for a model."""
    return {k: v for k, v in from_dynamo(item).items() if k not in KEYS}


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


INDEX_KEYS = {None: ("PK", "SK"), "GSI1": ("PK", "SK", "GSI1PK", "GSI1SK"), "GSI2": ("PK", "SK", "GSI2PK", "GSI2SK")}
MAX_KEY_VALUE = 1024  # our key values are short; DynamoDB's limit is far above any of them


def decode_cursor(cursor: str | None, partition: str, index: str | None = None) -> dict | None:
    """The start key in a cursor, checked against the exact shape the query issues: the key names
    of the table (and index), each a string, its partition the one asked for. Anything else was
    not issued by this server and is a 400, before it reaches DynamoDB."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise BadRequest("invalid cursor: pass back the X-Next-Cursor of the previous page unchanged") from None
    names = INDEX_KEYS[index]
    well_formed = (
        isinstance(key, dict)
        and set(key) == set(names)
        and all(isinstance(value, dict) and set(value) == {"S"} for value in key.values())
        and all(isinstance(value["S"], str) and 0 < len(value["S"]) <= MAX_KEY_VALUE for value in key.values())
    )
    if not well_formed or key[names[-2]]["S"] != partition:
        raise BadRequest("invalid cursor: pass back the X-Next-Cursor of the previous page unchanged")
    return key


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionCanceledException")


def item_on_condition_failure(error: ClientError) -> dict | None:
    """The item as it was, from a write that asked for ReturnValuesOnConditionCheckFailure=ALL_OLD."""
    return cast(dict | None, error.response.get("Item"))


def shard_of(key: str, shards: int) -> int:
    """A stable shard number of `key` in [0, shards): spreads a partition that many items write over
    `shards` partitions, which a reader of them all queries one by one."""
    return zlib.crc32(key.encode()) % shards


def room_key(room_id: str, sort_key: str = "META") -> dict:
    return {"PK": {"S": f"ROOM#{room_id}"}, "SK": {"S": sort_key}}


def snapshot_key(snapshot_id: str) -> dict:
    return {"PK": {"S": f"SNAP#{snapshot_id}"}, "SK": {"S": "SNAP"}}


def log_partition(room_id: str) -> str:
    """The room's activity log: every change to its data and every audit line, by time-ordered id."""
    return f"ROOMLOG#{room_id}"


def log_item(room_id: str, activity: Activity) -> dict:
    return {
        "PK": {"S": log_partition(room_id)},
        "SK": {"S": activity.id},
        **to_dynamo({"entity": "activity", **activity.model_dump()}),
    }


class Repository:
    """A repository of the table: its name, its client, and paging helpers."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    @property
    def dynamodb(self):
        return client("dynamodb")

    def query_all(self, **query) -> list[dict]:
        items, start = [], None
        while True:
            page = self.dynamodb.query(
                TableName=self.table_name, **query, **({"ExclusiveStartKey": start} if start else {})
            )
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def query_page(self, partition: str, limit: int, cursor: str | None, **query) -> tuple[list[dict], str | None]:
        """One page, newest first; the cursor is the opaque LastEvaluatedKey, valid only for this partition.
        Without `query`, the partition is the table's own (PK); an index's needs its key condition."""
        query = query or {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": {"S": partition}}}
        request: dict[str, Any] = {"TableName": self.table_name, "ScanIndexForward": False, "Limit": limit, **query}
        if start := decode_cursor(cursor, partition, query.get("IndexName")):
            request["ExclusiveStartKey"] = start
        page = self.dynamodb.query(**request)
        return page["Items"], encode_cursor(page.get("LastEvaluatedKey"))

    def conditional_update(
        self,
        key: dict,
        fields: dict[str, Any],
        condition: str,
        values: dict[str, Any],
        add: dict[str, int] | None = None,
        remove: tuple[str, ...] = (),
    ) -> tuple[bool, dict | None]:
        """SET `fields`, ADD `add`, REMOVE `remove` if `condition` holds (it may name the fields as
        #field). Returns whether it applied, and the item after the update or, when the condition
        failed, as it was (None: there is no such item)."""
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in fields)
        if add:
            expression += " ADD " + ", ".join(f"#{name} :{name}" for name in add)
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        every = {**fields, **(add or {})}
        try:
            item = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={f"#{name}": name for name in every},
                ExpressionAttributeValues=to_dynamo({**{f":{n}": v for n, v in every.items()}, **values}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False, item_on_condition_failure(error)
        return True, item

    def batch_put(self, items: list[dict]) -> None:
        """BatchWriteItem (up to 25 items), retrying unprocessed items (throttling) until all are in."""
        request = {self.table_name: [{"PutRequest": {"Item": item}} for item in items]}
        while request:
            request = self.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    def batch_get(self, keys: list[dict]) -> list[dict]:
        """BatchGetItem in chunks of 100, retrying unprocessed keys (throttling) until all are read."""
        found: list[dict] = []
        for offset in range(0, len(keys), 100):
            request = {self.table_name: {"Keys": keys[offset : offset + 100]}}
            while request:
                page = self.dynamodb.batch_get_item(RequestItems=request)
                found.extend(page["Responses"].get(self.table_name, []))
                request = page.get("UnprocessedKeys") or {}
        return found
