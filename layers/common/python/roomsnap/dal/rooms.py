"""Rooms and what they hold: parties, vessels, documents, approvals and the activity log."""

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from roomsnap.dal.expiring_documents import expiry_index_keys
from roomsnap.dal.items import Repository, log_item, log_partition, record, room_key, shard_of, to_dynamo
from roomsnap.dal.transactions import Guard
from roomsnap.errors import Conflict, NotFound
from roomsnap.models import Activity, Approval, Document, DocumentStatus, Party, Role, Room, RoomDetail, Vessel

# Every room's META item is in GSI1 for the admins' list of all rooms, and every change to a room's
# data rewrites it there: under one key, that partition would take only ~1,000 changes a second
# across all rooms. So the rooms are spread over 16 shards by their id (the list reads them all),
# and "ROOMS", their one key before the sharding, is still read for the rooms created under it.
ROOM_SHARDS = 16
ROOM_PARTITIONS = ("ROOMS", *(f"ROOMS#{shard}" for shard in range(ROOM_SHARDS)))


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
            items = [
                item
                for partition in ROOM_PARTITIONS
                for item in self.query_all(
                    IndexName="GSI1",
                    KeyConditionExpression="GSI1PK = :pk",
                    ExpressionAttributeValues={":pk": {"S": partition}},
                )
            ]
            rooms = [Room.model_validate(record(item)) for item in items]
            return sorted(rooms, key=lambda room: room.id, reverse=True)
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
        partition = log_partition(room_id)
        items, next_cursor = self.query_page(
            partition,
            limit,
            cursor,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
        )
        return [Activity.model_validate(record(item)) for item in items], next_cursor

    def room_changes(self, room_id: str) -> list[Activity]:
        """The changes to the room's data, oldest first: what a report prints. They have a partition
        of their own, so reading them never reads the audit lines (downloads and the like)."""
        items = self.query_all(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ROOMCHANGES#{room_id}"}},
            ConsistentRead=True,
        )
        return [Activity.model_validate(record(item)) for item in items]

    # ---------------------------------------------------------------- conditions of other writes

    def party_guard(
        self, room_id: str, email: str, roles: list[Role], refused: Callable[[Party | None], Exception]
    ) -> Guard:
        """A transaction's condition that `email` is a party of the room in one of `roles`: what
        get_party and a role check do, with no read. `refused` is given the party as it was (None:
        not a party)."""
        names = {f":role{index}": role.value for index, role in enumerate(roles)}
        check = {
            "TableName": self.table_name,
            "Key": room_key(room_id, f"PARTY#{email}"),
            "ConditionExpression": f"#role IN ({', '.join(names)})",
            "ExpressionAttributeNames": {"#role": "role"},
            "ExpressionAttributeValues": to_dynamo(names),
        }
        return Guard(
            {"ConditionCheck": check}, lambda item: refused(Party.model_validate(record(item)) if item else None)
        )

    def room_guard(self, room_id: str, refused: Callable[[], Exception]) -> Guard:
        """A transaction's condition that the room exists."""
        check = {"TableName": self.table_name, "Key": room_key(room_id), "ConditionExpression": "attribute_exists(PK)"}
        return Guard({"ConditionCheck": check}, lambda _: refused())

    # ---------------------------------------------------------------- writes

    def create_room(self, room: Room, owner: Party, activity: Activity) -> None:
        meta = {
            **room_key(room.id),
            **to_dynamo(
                {
                    "GSI1PK": f"ROOMS#{shard_of(room.id, ROOM_SHARDS)}",
                    "GSI1SK": room.id,
                    "entity": "room",
                    "owners": 1,
                    **room.model_dump(),
                }
            ),
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
                *self._log_puts(room.id, activity),
            ],
            ClientRequestToken=activity.id,
        )

    def add_party(self, room_id: str, party: Party, activity: Activity) -> None:
        self._change(
            room_id,
            {"Put": {"Item": self._party_item(room_id, party), "ConditionExpression": "attribute_not_exists(PK)"}},
            activity,
            conflict=f"{party.email} is already a party of this room",
            owners_delta=int(party.role is Role.OWNER),
        )

    def set_party_role(self, room_id: str, party: Party, role: Role, activity: Activity) -> None:
        """Changes a party's role from the one read (`party.role`); the room keeps at least one owner."""
        update = {
            "Update": {
                "Key": room_key(room_id, f"PARTY#{party.email}"),
                "UpdateExpression": "SET #role = :role",
                "ConditionExpression": "#role = :was",
                "ExpressionAttributeNames": {"#role": "role"},
                "ExpressionAttributeValues": {":role": {"S": role.value}, ":was": {"S": party.role.value}},
            }
        }
        delta = int(role is Role.OWNER) - int(party.role is Role.OWNER)
        self._change(room_id, update, activity, conflict=f"{party.email}'s role changed meanwhile", owners_delta=delta)

    def remove_party(self, room_id: str, party: Party, activity: Activity) -> None:
        delete = {
            "Delete": {
                "Key": room_key(room_id, f"PARTY#{party.email}"),
                "ConditionExpression": "#role = :was",
                "ExpressionAttributeNames": {"#role": "role"},
                "ExpressionAttributeValues": {":was": {"S": party.role.value}},
            }
        }
        delta = -int(party.role is Role.OWNER)
        self._change(room_id, delete, activity, conflict=f"{party.email}'s role changed meanwhile", owners_delta=delta)

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

    def append_audit(self, room_id: str, activity: Activity) -> None:
        self.dynamodb.put_item(TableName=self.table_name, Item=log_item(room_id, activity))

    # ---------------------------------------------------------------- helpers

    def _party_item(self, room_id: str, party: Party) -> dict:
        extra = {"GSI1PK": f"USER#{party.email}", "GSI1SK": f"ROOM#{room_id}", "entity": "party"}
        return {**room_key(room_id, f"PARTY#{party.email}"), **to_dynamo({**extra, **party.model_dump(mode="json")})}

    def _log_puts(self, room_id: str, activity: Activity) -> list[dict]:
        """A change to the room's data goes to the activity log and to the changes a report prints."""
        changes = {**log_item(room_id, activity), "PK": {"S": f"ROOMCHANGES#{room_id}"}}
        return [
            {"Put": {"TableName": self.table_name, "Item": item}} for item in (log_item(room_id, activity), changes)
        ]

    def _change(
        self,
        room_id: str,
        operation: dict,
        activity: Activity,
        conflict: str = "",
        missing: str = "",
        owners_delta: int = 0,
    ) -> None:
        """One change to a room's data, in one transaction with the room's `updated_at` and
        `version`, its owner count and its activity. The activity line's id is the transaction's
        ClientRequestToken, so a retry of a write that succeeded is recognized as the same write."""
        ((kind, body),) = operation.items()
        expression, condition = "SET updated_at = :at ADD version :one", "attribute_exists(PK)"
        values = {":at": {"S": activity.at}, ":one": {"N": "1"}}
        if owners_delta:
            expression += ", owners :owners"
            values[":owners"] = {"N": str(owners_delta)}
            if owners_delta < 0:
                condition += " AND owners > :one"
        touch = {
            "Update": {
                "TableName": self.table_name,
                "Key": room_key(room_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {kind: {"TableName": self.table_name, **body}},
                    touch,
                    *self._log_puts(room_id, activity),
                ],
                ClientRequestToken=activity.id,
            )
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise (Conflict(conflict) if conflict else NotFound(missing)) from None
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                if owners_delta < 0 and self.get_room(room_id):
                    raise Conflict("a room keeps at least one owner: make another party owner first") from None
                raise NotFound("room not found") from None
            raise
