"""Data access: the single DynamoDB table, the PDF bucket and the render queue.

Table layout (docs/data-model.md explains the access patterns):
  ROOM#<room>      META               the room                 GSI1: ROOMS / <room>
  ROOM#<room>      PARTY#<email>      a party = a membership   GSI1: USER#<email> / ROOM#<room>
  ROOM#<room>      VESSEL#<imo>, DOC#<id>, APPROVAL#<id>
  ROOMLOG#<room>   <id>               the activity log (time-ordered ids)
  SNAP#<id>        SNAP               a snapshot and its task  GSI1: ROOMSNAPS#<room> / <id>
"""

import base64
import json
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from roomsnap.aws import client
from roomsnap.errors import BadRequest, Conflict, Forbidden, NotFound
from roomsnap.models import (
    Activity,
    Approval,
    Document,
    DocumentStatus,
    Party,
    Role,
    Room,
    RoomDetail,
    Snapshot,
    TaskStatus,
    Vessel,
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK", "entity", "expires_at")


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


def _record(item: dict) -> dict:
    """A stored item without its key attributes, ready for a model."""
    return {k: v for k, v in from_dynamo(item).items() if k not in _KEYS}


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, partition: str) -> dict | None:
    """A cursor is only valid for the partition it was issued for; anything else is a 400."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        values = [v["S"] for v in key.values()]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BadRequest("invalid cursor") from None
    if partition not in values:
        raise BadRequest("invalid cursor")
    return key


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _room_key(room_id: str, sort_key: str = "META") -> dict:
    return {"PK": {"S": f"ROOM#{room_id}"}, "SK": {"S": sort_key}}


def _snapshot_key(snapshot_id: str) -> dict:
    return {"PK": {"S": f"SNAP#{snapshot_id}"}, "SK": {"S": "SNAP"}}


def _log_put(table_name: str, room_id: str, activity: Activity) -> dict:
    item = {"PK": {"S": f"ROOMLOG#{room_id}"}, "SK": {"S": activity.id}, **to_dynamo({"entity": "activity", **activity.model_dump()})}
    return {"Put": {"TableName": table_name, "Item": item}}


class RoomRepository:
    """Rooms and what they hold. Every change to a room's data is one transaction that also bumps
    the room's `updated_at` (its "data as of") and appends to its activity log."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    @property
    def dynamodb(self):
        return client("dynamodb")

    # ---------------------------------------------------------------- reads

    def get_room(self, room_id: str) -> Room | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=_room_key(room_id), ConsistentRead=True).get("Item")
        return Room.model_validate(_record(item)) if item else None

    def get_party(self, room_id: str, email: str) -> Party | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=_room_key(room_id, f"PARTY#{email}"), ConsistentRead=True
        ).get("Item")
        return Party.model_validate(_record(item)) if item else None

    def get_room_detail(self, room_id: str) -> RoomDetail | None:
        items = self._query_all(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"ROOM#{room_id}"}}
        )
        detail: dict[str, Any] = {"parties": [], "vessels": [], "documents": [], "approvals": []}
        sections = {"PARTY#": "parties", "VESSEL#": "vessels", "DOC#": "documents", "APPROVAL#": "approvals"}
        for item in items:
            sort_key = item["SK"]["S"]
            if sort_key == "META":
                detail.update(_record(item))
            else:
                detail[sections[sort_key[: sort_key.index("#") + 1]]].append(_record(item))
        return RoomDetail.model_validate(detail) if "id" in detail else None

    def list_rooms(self, email: str | None) -> list[Room]:
        """The rooms `email` is a party of, or every room when email is None (admins)."""
        if email is None:
            items = self._query_all(
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk",
                ExpressionAttributeValues={":pk": {"S": "ROOMS"}},
                ScanIndexForward=False,
            )
            return [Room.model_validate(_record(item)) for item in items]
        memberships = self._query_all(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER#{email}"}},
            ScanIndexForward=False,
        )
        keys = [_room_key(item["GSI1SK"]["S"].removeprefix("ROOM#")) for item in memberships]
        rooms = [Room.model_validate(_record(item)) for item in self._batch_get(keys)]
        return sorted(rooms, key=lambda room: room.id, reverse=True)

    def list_activity(
        self, room_id: str, limit: int, cursor: str | None, category: str | None = None
    ) -> tuple[list[Activity], str | None]:
        partition = f"ROOMLOG#{room_id}"
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start := decode_cursor(cursor, partition):
            query["ExclusiveStartKey"] = start
        page = self.dynamodb.query(**query)
        entries = [Activity.model_validate(_record(item)) for item in page["Items"]]
        if category:
            entries = [entry for entry in entries if entry.category == category]
        return entries, encode_cursor(page.get("LastEvaluatedKey"))

    def room_activity(self, room_id: str) -> list[Activity]:
        """The whole log of changes to the room's data, oldest first (what a report prints)."""
        items = self._query_all(
            KeyConditionExpression="PK = :pk",
            FilterExpression="category = :room",
            ExpressionAttributeValues={":pk": {"S": f"ROOMLOG#{room_id}"}, ":room": {"S": "room"}},
        )
        return [Activity.model_validate(_record(item)) for item in items]

    # ---------------------------------------------------------------- writes

    def create_room(self, room: Room, owner: Party, activity: Activity) -> None:
        meta = {**_room_key(room.id), **to_dynamo({"GSI1PK": "ROOMS", "GSI1SK": room.id, "entity": "room", **room.model_dump()})}
        self.dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": meta, "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"TableName": self.table_name, "Item": self._party_item(room.id, owner)}},
                _log_put(self.table_name, room.id, activity),
            ]
        )

    def add_party(self, room_id: str, party: Party, activity: Activity) -> None:
        self._change(
            room_id,
            {"Put": {"Item": self._party_item(room_id, party), "ConditionExpression": "attribute_not_exists(PK)"}},
            activity,
            conflict=f"{party.email} is already a party of this room",
        )

    def add_vessel(self, room_id: str, vessel: Vessel, activity: Activity) -> None:
        item = {**_room_key(room_id, f"VESSEL#{vessel.imo}"), **to_dynamo({"entity": "vessel", **vessel.model_dump()})}
        self._change(
            room_id,
            {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
            activity,
            conflict=f"vessel IMO {vessel.imo} is already in this room",
        )

    def add_document(self, room_id: str, document: Document, activity: Activity) -> None:
        item = {**_room_key(room_id, f"DOC#{document.id}"), **to_dynamo({"entity": "document", **document.model_dump(mode="json")})}
        self._change(room_id, {"Put": {"Item": item}}, activity)

    def set_document_status(self, room_id: str, document_id: str, status: DocumentStatus, activity: Activity) -> None:
        update = {
            "Update": {
                "Key": _room_key(room_id, f"DOC#{document_id}"),
                "UpdateExpression": "SET #status = :status, updated_at = :at",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": {"S": status.value}, ":at": {"S": activity.at}},
            }
        }
        self._change(room_id, update, activity, missing="document not found")

    def add_approval(self, room_id: str, approval: Approval, activity: Activity) -> None:
        item = {**_room_key(room_id, f"APPROVAL#{approval.id}"), **to_dynamo({"entity": "approval", **approval.model_dump(mode="json")})}
        self._change(room_id, {"Put": {"Item": item}}, activity)

    def append_activity(self, room_id: str, activity: Activity) -> None:
        put = _log_put(self.table_name, room_id, activity)["Put"]
        self.dynamodb.put_item(TableName=put["TableName"], Item=put["Item"])

    def delete_expired(self, now_epoch: int) -> int:
        """Deletes items whose `expires_at` has passed; the condition keeps a record that was
        extended meanwhile. Returns how many were deleted."""
        removed, start = 0, None
        while True:
            page = self.dynamodb.scan(
                TableName=self.table_name,
                FilterExpression="expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
                ProjectionExpression="PK, SK",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for key in page["Items"]:
                try:
                    self.dynamodb.delete_item(
                        TableName=self.table_name,
                        Key=key,
                        ConditionExpression="expires_at < :now",
                        ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
                    )
                    removed += 1
                except ClientError as error:
                    if not is_condition_failure(error):
                        raise
            start = page.get("LastEvaluatedKey")
            if not start:
                return removed

    # ---------------------------------------------------------------- helpers

    def _party_item(self, room_id: str, party: Party) -> dict:
        extra = {"GSI1PK": f"USER#{party.email}", "GSI1SK": f"ROOM#{room_id}", "entity": "party"}
        return {**_room_key(room_id, f"PARTY#{party.email}"), **to_dynamo({**extra, **party.model_dump(mode="json")})}

    def _change(self, room_id: str, operation: dict, activity: Activity, conflict: str = "", missing: str = "") -> None:
        (kind, body), = operation.items()
        touch = {
            "Update": {
                "TableName": self.table_name,
                "Key": _room_key(room_id),
                "UpdateExpression": "SET updated_at = :at",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":at": {"S": activity.at}},
            }
        }
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[{kind: {"TableName": self.table_name, **body}}, touch, _log_put(self.table_name, room_id, activity)]
            )
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise (Conflict(conflict) if conflict else NotFound(missing)) from None
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise NotFound("room not found") from None
            raise

    def _query_all(self, **query) -> list[dict]:
        items, start = [], None
        while True:
            page = self.dynamodb.query(TableName=self.table_name, **query, **({"ExclusiveStartKey": start} if start else {}))
            items.extend(page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def _batch_get(self, keys: list[dict]) -> list[dict]:
        """BatchGetItem in chunks of 100, retrying unprocessed keys (throttling) until all are read."""
        found: list[dict] = []
        for offset in range(0, len(keys), 100):
            request = {self.table_name: {"Keys": keys[offset : offset + 100]}}
            while request:
                page = self.dynamodb.batch_get_item(RequestItems=request)
                found.extend(page["Responses"].get(self.table_name, []))
                request = page.get("UnprocessedKeys") or {}
        return found


class SnapshotRepository:
    """Snapshot + task records. Status only moves forward: every transition is conditional."""

    def __init__(self, table_name: str, retention_days: int = 90):
        self.table_name = table_name
        self.retention = timedelta(days=retention_days)

    @property
    def dynamodb(self):
        return client("dynamodb")

    def create(self, snapshot: Snapshot, audit: Activity, member: str | None, roles: Iterable[Role]) -> None:
        """Writes the snapshot and its audit line, in one transaction that also checks the caller's
        standing: `member` must be a party of the room with one of `roles` (None: an admin, for
        whom the room must merely exist). No separate read is needed on the request path."""
        if member is None:
            check = {"Key": _room_key(snapshot.room_id), "ConditionExpression": "attribute_exists(PK)"}
        else:
            role_values = {f":r{i}": {"S": role.value} for i, role in enumerate(roles)}
            check = {
                "Key": _room_key(snapshot.room_id, f"PARTY#{member}"),
                "ConditionExpression": f"#role IN ({', '.join(role_values)})",
                "ExpressionAttributeNames": {"#role": "role"},
                "ExpressionAttributeValues": role_values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        expires_at = int((datetime.fromisoformat(snapshot.created_at) + self.retention).timestamp())
        item = {
            **_snapshot_key(snapshot.id),
            **to_dynamo(
                {
                    "GSI1PK": f"ROOMSNAPS#{snapshot.room_id}",
                    "GSI1SK": snapshot.id,
                    "entity": "snapshot",
                    "expires_at": expires_at,
                    **snapshot.model_dump(mode="json"),
                }
            ),
        }
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {"ConditionCheck": {"TableName": self.table_name, **check}},
                    {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                    _log_put(self.table_name, snapshot.room_id, audit),
                ]
            )
        except ClientError as error:
            reasons = error.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                if member is not None and reasons[0].get("Item"):
                    raise Forbidden("your role in this room may not create snapshots") from None
                raise NotFound("room not found") from None
            raise

    def get(self, snapshot_id: str) -> Snapshot | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=_snapshot_key(snapshot_id), ConsistentRead=True).get("Item")
        return Snapshot.model_validate(_record(item)) if item else None

    def list_for_room(self, room_id: str, limit: int, cursor: str | None) -> tuple[list[Snapshot], str | None]:
        partition = f"ROOMSNAPS#{room_id}"
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start := decode_cursor(cursor, partition):
            query["ExclusiveStartKey"] = start
        page = self.dynamodb.query(**query)
        return [Snapshot.model_validate(_record(item)) for item in page["Items"]], encode_cursor(page.get("LastEvaluatedKey"))

    def delete(self, snapshot: Snapshot, audit: Activity) -> None:
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": _snapshot_key(snapshot.id),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    _log_put(self.table_name, snapshot.room_id, audit),
                ]
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise NotFound("snapshot not found") from None
            raise

    def transition(self, snapshot_id: str, allowed_from: Iterable[TaskStatus], **changes: Any) -> Snapshot | None:
        """Applies `changes` only while the task is in one of `allowed_from`. Returns the updated
        snapshot, or None when the condition failed (already moved on, or gone)."""
        allowed = {f":from{i}": {"S": status.value} for i, status in enumerate(allowed_from)}
        values = to_dynamo({f":{name}": value for name, value in changes.items()})
        names = {f"#{name}": name for name in changes}
        try:
            item = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_snapshot_key(snapshot_id),
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in changes),
                ConditionExpression=f"task_status IN ({', '.join(allowed)})",
                ExpressionAttributeNames={**names},
                ExpressionAttributeValues={**values, **allowed},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return Snapshot.model_validate(_record(item))

