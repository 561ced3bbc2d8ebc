"""Rooms and what they hold: parties, vessels, documents, approvals and the activity log."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from roomsnap.clearance import ClearanceFacts
from roomsnap.dal.expiring_documents import expiry_index_keys
from roomsnap.dal.items import Repository, log_item, log_partition, record, room_key, shard_of, to_dynamo
from roomsnap.dal.transactions import Guard
from roomsnap.errors import Conflict, DomainError, NotFound, RoomChanged
from roomsnap.models import Activity, Approval, Document, Party, Role, Room, RoomDetail, Vessel

# A transaction holds at most 100 items; a change's own are the room's META and two log lines.
MAX_CHANGE_ITEMS = 97


@dataclass(frozen=True)
class Change:
    """A change to a room's data as the transaction writes it: its activity line (whose id is the
    transaction's ClientRequestToken), the room version it was decided on (None: any), and the
    room's clearance facts after it (None: the change leaves them as they are)."""

    activity: Activity
    version: int | None = None
    facts: ClearanceFacts | None = None


@dataclass(frozen=True)
class Step:
    """One item's write in a change, and what its condition failing means to the caller."""

    operation: dict  # {"Put" | "Update" | "Delete": {...}} without the table name
    refusal: DomainError | None = None


# Every room's META item is in GSI1 for the admins' list of all rooms, and every change to a room's
# data rewrites it there: under one key, that partition would take only ~1,000 changes a second
# across all rooms. So the rooms are spread over 16 shards by their id (the list reads them all),
# and "ROOMS", their one key before the sharding, is still read for the rooms created under it.
ROOM_SHARDS = 16
ROOM_PARTITIONS = ("ROOMS", *(f"ROOMS#{shard}" for shard in range(ROOM_SHARDS)))


class RoomRepository(Repository):
    """Rooms and what they hold. Every change to a room's data is one transaction that also sets
    the room's `updated_at` (its "data as of"), counts up its `version` and appends to its activity
    log: equal versions of a room hold equal data. A change decided on what was read of the room
    is written on condition that the room is still at the version read, so what its activity line
    says the data was is what it was."""

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

    def get_room_detail(self, room_id: str, consistent: bool = False) -> RoomDetail | None:
        """The room and all it holds. `consistent` for a read that a change is decided on."""
        items = self.query_all(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ROOM#{room_id}"}},
            ConsistentRead=consistent,
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

    def list_rooms(self, email: str | None) -> list[tuple[Room, ClearanceFacts | None]]:
        """The rooms `email` is a party of, or every room when email is None (admins), newest
        first, each with the clearance facts its META item keeps (None for a room that has had no
        change since they were introduced)."""
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
        else:
            memberships = self.query_all(
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk",
                ExpressionAttributeValues={":pk": {"S": f"USER#{email}"}},
                ScanIndexForward=False,
            )
            items = self.batch_get([room_key(item["GSI1SK"]["S"].removeprefix("ROOM#")) for item in memberships])
        rooms = [(Room.model_validate(record(item)), _facts_of(item)) for item in items]
        return sorted(rooms, key=lambda listed: listed[0].id, reverse=True)

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
            FACTS: {"S": ClearanceFacts().model_dump_json()},
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
        put = {"Put": {"Item": self._party_item(room_id, party), "ConditionExpression": "attribute_not_exists(PK)"}}
        self._change(
            room_id,
            [Step(put, Conflict(f"{party.email} is already a party of this room"))],
            Change(activity),
            owners_delta=int(party.role is Role.OWNER),
        )

    def update_party(self, room_id: str, before: Party, after: Party, change: Change) -> None:
        """A party's role or company; the room keeps at least one owner."""
        delta = int(after.role is Role.OWNER) - int(before.role is Role.OWNER)
        put = {"Put": {"Item": self._party_item(room_id, after)}}
        self._change(room_id, [Step(put)], change, owners_delta=delta)

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
        refusal = Conflict(f"{party.email}'s role changed meanwhile")
        self._change(room_id, [Step(delete, refusal)], Change(activity), owners_delta=delta)

    def update_room(self, room_id: str, details: dict[str, str], change: Change) -> None:
        """The room's own details (title, location, operation time), on its META item."""
        self._change(room_id, [], change, details=details)

    def add_vessel(self, room_id: str, vessel: Vessel, activity: Activity) -> None:
        put = {"Put": {"Item": self._vessel_item(room_id, vessel), "ConditionExpression": "attribute_not_exists(PK)"}}
        self._change(room_id, [Step(put, _vessel_taken(vessel))], Change(activity))

    def replace_vessel(
        self, room_id: str, before: Vessel, after: Vessel, documents: list[Document], change: Change
    ) -> None:
        """A vessel corrected; under a new IMO number it moves to its new key, and `documents` (those
        that named it, now naming the new number) move with it, in the same transaction."""
        if after.imo == before.imo:
            self._change(room_id, [Step({"Put": {"Item": self._vessel_item(room_id, after)}})], change)
            return
        steps = [
            Step({"Delete": {"Key": room_key(room_id, f"VESSEL#{before.imo}")}}),
            Step(
                {"Put": {"Item": self._vessel_item(room_id, after), "ConditionExpression": "attribute_not_exists(PK)"}},
                _vessel_taken(after),
            ),
            *(Step({"Put": {"Item": self._document_item(room_id, document)}}) for document in documents),
        ]
        if len(steps) > MAX_CHANGE_ITEMS:
            raise Conflict(
                f"{len(documents)} documents name this vessel; at most {MAX_CHANGE_ITEMS - 2} can move with it at once"
            )
        self._change(room_id, steps, change)

    def delete_vessel(self, room_id: str, imo: str, change: Change) -> None:
        self._change(room_id, [Step({"Delete": {"Key": room_key(room_id, f"VESSEL#{imo}")}})], change)

    def put_document(self, room_id: str, document: Document, change: Change) -> None:
        """A document added or corrected (the whole item, so its expiry index keys follow its date)."""
        self._change(room_id, [Step({"Put": {"Item": self._document_item(room_id, document)}})], change)

    def delete_document(self, room_id: str, document_id: str, change: Change) -> None:
        self._change(room_id, [Step({"Delete": {"Key": room_key(room_id, f"DOC#{document_id}")}})], change)

    def put_approval(self, room_id: str, approval: Approval, change: Change) -> None:
        item = {
            **room_key(room_id, f"APPROVAL#{approval.id}"),
            **to_dynamo({"entity": "approval", **approval.model_dump(mode="json")}),
        }
        self._change(room_id, [Step({"Put": {"Item": item}})], change)

    def delete_approval(self, room_id: str, approval_id: str, change: Change) -> None:
        self._change(room_id, [Step({"Delete": {"Key": room_key(room_id, f"APPROVAL#{approval_id}")}})], change)

    def append_audit(self, room_id: str, activity: Activity) -> None:
        self.dynamodb.put_item(TableName=self.table_name, Item=log_item(room_id, activity))

    # ---------------------------------------------------------------- helpers

    def _party_item(self, room_id: str, party: Party) -> dict:
        extra = {"GSI1PK": f"USER#{party.email}", "GSI1SK": f"ROOM#{room_id}", "entity": "party"}
        return {**room_key(room_id, f"PARTY#{party.email}"), **to_dynamo({**extra, **party.model_dump(mode="json")})}

    def _vessel_item(self, room_id: str, vessel: Vessel) -> dict:
        return {**room_key(room_id, f"VESSEL#{vessel.imo}"), **to_dynamo({"entity": "vessel", **vessel.model_dump()})}

    def _document_item(self, room_id: str, document: Document) -> dict:
        fields = {"entity": "document", **expiry_index_keys(room_id, document), **document.model_dump(mode="json")}
        return {**room_key(room_id, f"DOC#{document.id}"), **to_dynamo(fields)}

    def _log_puts(self, room_id: str, activity: Activity) -> list[dict]:
        """A change to the room's data goes to the activity log and to the changes a report prints."""
        changes = {**log_item(room_id, activity), "PK": {"S": f"ROOMCHANGES#{room_id}"}}
        return [
            {"Put": {"TableName": self.table_name, "Item": item}} for item in (log_item(room_id, activity), changes)
        ]

    def _change(
        self,
        room_id: str,
        steps: list[Step],
        change: Change,
        owners_delta: int = 0,
        details: dict[str, str] | None = None,
    ) -> None:
        """One change to a room's data, in one transaction with the room's `updated_at` and
        `version` (and, as the change has them, its own details, owner count and clearance facts)
        and its activity. The activity line's id is the transaction's ClientRequestToken, so a
        retry of a write that succeeded is recognized as the same write."""
        activity = change.activity
        sets = ["updated_at = :at", *(f"#{name} = :{name}" for name in details or {})]
        values = {
            ":at": {"S": activity.at},
            ":one": {"N": "1"},
            **{f":{n}": {"S": v} for n, v in (details or {}).items()},
        }
        condition = "attribute_exists(PK)"
        if change.facts is not None:
            sets.append(f"{FACTS} = :facts")
            values[":facts"] = {"S": change.facts.model_dump_json()}
        if change.version is not None:
            condition += " AND version = :version"
            values[":version"] = {"N": str(change.version)}
        expression = f"SET {', '.join(sets)} ADD version :one"
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
                **({"ExpressionAttributeNames": {f"#{name}": name for name in details}} if details else {}),
            }
        }
        operations = [
            {kind: {"TableName": self.table_name, **body}} for s in steps for kind, body in s.operation.items()
        ]
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[*operations, touch, *self._log_puts(room_id, activity)],
                ClientRequestToken=activity.id,
            )
        except ClientError as error:
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            for step, reason in zip(steps, reasons, strict=False):
                if reason == "ConditionalCheckFailed" and step.refusal is not None:
                    raise step.refusal from None
            if reasons[len(steps) : len(steps) + 1] == ["ConditionalCheckFailed"]:
                raise self._room_refusal(room_id, change.version) from None
            raise

    def _room_refusal(self, room_id: str, version: int | None) -> DomainError:
        """Why the condition on the room's META failed: no such room, a change meanwhile, or the
        last owner about to go."""
        room = self.get_room(room_id)
        if room is None:
            return NotFound("room not found")
        if version is not None and room.version != version:
            return RoomChanged()
        return Conflict("a room keeps at least one owner: make another party owner first")


FACTS = "clearance_facts"  # the META item's attribute holding the room's ClearanceFacts (JSON)


def _facts_of(item: dict) -> ClearanceFacts | None:
    stored = item.get(FACTS)
    return ClearanceFacts.model_validate_json(stored["S"]) if stored else None


def _vessel_taken(vessel: Vessel) -> Conflict:
    return Conflict(f"vessel IMO {vessel.imo} is already in this room")
