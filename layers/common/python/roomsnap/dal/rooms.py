"""Rooms and what they hold: parties, vessels, documents, approvals and the activity log."""

from typing import Any

from botocore.exceptions import ClientError

from roomsnap.dal.expiring_documents import expiry_index_keys
from roomsnap.dal.items import Repository, log_put, record, room_key, to_dynamo
from roomsnap.errors import Conflict, NotFound
from roomsnap.models import Activity, Approval, Document, DocumentStatus, Party, Role, Room, RoomDetail, Vessel


class RoomRepository(Repository):
    """Rooms and what they hold. Every change to a room's data is one transaction that also sets
    the room's `updated_at` (its "data as of"), counts up its `version` and appends to its activity
    log: equal versions of a room hold equal data."""

    # ---------------------------------------------------------------- reads

    def get_room(self, room_id: str) -> Room | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=room_key(room_id), ConsistentRead=True).get("Item")
        return Room.model_validate(record(item)) if item else None

    def room_version(self, room_id: str) -> int | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=room_key(room_id), ConsistentRead=True, ProjectionExpression="version"
        ).get("Item")
        return int(item["version"]["N"]) if item else None

    def get_party(self, room_id: str, email: str) -> Party | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=room_key(room_id, f"PARTY#{email}"), ConsistentRead=True
        ).get("Item")
        return Party.model_validate(record(item)) if item else None

    def roles_in(self, email: str, room_ids: set[str]) -> dict[str, Role]:
        """The caller's role in each of the rooms it is a party of (one BatchGetItem per 100)."""
        items = self.batch_get([room_key(room_id, f"PARTY#{email}") for room_id in sorted(room_ids)])
        return {item["PK"]["S"].removeprefix("ROOM#"): Role(item["role"]["S"]) for item in items}

    def get_room_detail(self, room_id: str) -> RoomDetail | None:
        items = self.query_all(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"ROOM#{room_id}"}}
        )
        detail: dict[str, Any] = {"parties": [], "vessels": [], "documents": [], "approvals": []}
        sections = {"PARTY#": "parties", "VESSEL#": "vessels", "DOC#": "documents", "APPROVAL#": "approvals"}
        for item in items:
            sort_key = item["SK"]["S"]
            if sort_key == "META":
                detail.update(record(item))
            else:
                detail[sections[sort_key[: sort_key.index("#") + 1]]].append(record(item))
        return RoomDetail.model_validate(detail) if "id" in detail else None

    def list_rooms(self, email: str | None) -> list[Room]:
        """The rooms `email` is a party of, or every room when email is None (admins)."""
        if email is None:
            items = self.query_all(
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk",
                ExpressionAttributeValues={":pk": {"S": "ROOMS"}},
                ScanIndexForward=False,
            )
            return [Room.model_validate(record(item)) for item in items]
        memberships = self.query_all(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER#{email}"}},
            ScanIndexForward=False,
        )
        keys = [room_key(item["GSI1SK"]["S"].removeprefix("ROOM#")) for item in memberships]
        rooms = [Room.model_validate(record(item)) for item in self.batch_get(keys)]
        return sorted(rooms, key=lambda room: room.id, reverse=True)

    def list_activity(self, room_id: str, limit: int, cursor: str | None) -> tuple[list[Activity], str | None]:
        partition = f"ROOMLOG#{room_id}"
        items, next_cursor = self.query_page(
            partition,
            limit,
            cursor,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
        )
        return [Activity.model_validate(record(item)) for item in items], next_cursor

    def room_activity(self, room_id: str) -> list[Activity]:
        """The whole log of changes to the room's data, oldest first (what a report prints)."""
        items = self.query_all(
            KeyConditionExpression="PK = :pk",
            FilterExpression="category = :room",
            ExpressionAttributeValues={":pk": {"S": f"ROOMLOG#{room_id}"}, ":room": {"S": "room"}},
        )
        return [Activity.model_validate(record(item)) for item in items]

    # ---------------------------------------------------------------- writes

    def create_room(self, room: Room, owner: Party, activity: Activity) -> None:
        meta = {
            **room_key(room.id),
            **to_dynamo({"GSI1PK": "ROOMS", "GSI1SK": room.id, "entity": "room", **room.model_dump()}),
        }
        self.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": meta,
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {"Put": {"TableName": self.table_name, "Item": self._party_item(room.id, owner)}},
                log_put(self.table_name, room.id, activity),
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
        item = {**room_key(room_id, f"VESSEL#{vessel.imo}"), **to_dynamo({"entity": "vessel", **vessel.model_dump()})}
        self._change(
            room_id,
            {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
            activity,
            conflict=f"vessel IMO {vessel.imo} is already in this room",
        )

    def add_document(self, room_id: str, document: Document, activity: Activity) -> None:
        item = {
            **room_key(room_id, f"DOC#{document.id}"),
            **to_dynamo(
                {"entity": "document", **expiry_index_keys(room_id, document), **document.model_dump(mode="json")}
            ),
        }
        self._change(room_id, {"Put": {"Item": item}}, activity)

    def set_document_status(self, room_id: str, document_id: str, status: DocumentStatus, activity: Activity) -> None:
        update = {
            "Update": {
                "Key": room_key(room_id, f"DOC#{document_id}"),
                "UpdateExpression": "SET #status = :status, updated_at = :at",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":status": {"S": status.value}, ":at": {"S": activity.at}},
            }
        }
        self._change(room_id, update, activity, missing="document not found")

    def add_approval(self, room_id: str, approval: Approval, activity: Activity) -> None:
        item = {
            **room_key(room_id, f"APPROVAL#{approval.id}"),
            **to_dynamo({"entity": "approval", **approval.model_dump(mode="json")}),
        }
        self._change(room_id, {"Put": {"Item": item}}, activity)

    def append_activity(self, room_id: str, activity: Activity) -> None:
        put = log_put(self.table_name, room_id, activity)["Put"]
        self.dynamodb.put_item(TableName=put["TableName"], Item=put["Item"])

    # ---------------------------------------------------------------- helpers

    def _party_item(self, room_id: str, party: Party) -> dict:
        extra = {"GSI1PK": f"USER#{party.email}", "GSI1SK": f"ROOM#{room_id}", "entity": "party"}
        return {**room_key(room_id, f"PARTY#{party.email}"), **to_dynamo({**extra, **party.model_dump(mode="json")})}

    def _change(self, room_id: str, operation: dict, activity: Activity, conflict: str = "", missing: str = "") -> None:
        ((kind, body),) = operation.items()
        touch = {
            "Update": {
                "TableName": self.table_name,
                "Key": room_key(room_id),
                "UpdateExpression": "SET updated_at = :at ADD version :one",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":at": {"S": activity.at}, ":one": {"N": "1"}},
            }
        }
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {kind: {"TableName": self.table_name, **body}},
                    touch,
                    log_put(self.table_name, room_id, activity),
                ]
            )
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise (Conflict(conflict) if conflict else NotFound(missing)) from None
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise NotFound("room not found") from None
            raise
