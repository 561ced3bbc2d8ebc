"""Room domain: a room's data, its corrections, its clearance and the changes that make up its
activity log (who may do what is roomsnap.access's RoomAccess, which the live channel's
subscriptions share)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from roomsnap.access import Caller, RoomAccess
from roomsnap.clearance import Clearance, ClearanceFacts
from roomsnap.dal.rooms import Change
from roomsnap.errors import Conflict, Forbidden, NotFound, RoomChanged, UnprocessableEntity
from roomsnap.ids import new_id
from roomsnap.models import (
    Activity,
    ActivityCategory,
    Approval,
    ApprovalIn,
    ApprovalPatch,
    Document,
    DocumentIn,
    DocumentPatch,
    Party,
    PartyIn,
    PartyPatch,
    Role,
    Room,
    RoomDetail,
    RoomIn,
    RoomPatch,
    Vessel,
    VesselIn,
    VesselPatch,
    iso,
    normalize_email,
    utc_now,
)
from roomsnap.permissions import Action

# Reads and writes of a correction when other changes keep landing between them (each a new try).
CHANGE_ATTEMPTS = 3
Result = TypeVar("Result")


def activity(
    caller: Caller, action: str, detail: str = "", category: ActivityCategory = "room", at: str | None = None
) -> Activity:
    moment = datetime.fromisoformat(at) if at else datetime.now(UTC)
    return Activity(
        id=new_id(moment), at=iso(moment), actor=caller.email, action=action, detail=detail, category=category
    )


def shown(value: Any) -> str:
    """A field's value as an audit line shows it."""
    if value is None or value == "":
        return "none"
    return str(getattr(value, "value", value))


def before_after(before: BaseModel, after: BaseModel, fields: list[str]) -> str:
    """What a correction changed, field by field: `status: uploaded → approved; expires_on: none → 2027-01-15`."""
    return "; ".join(
        f"{name}: {shown(getattr(before, name))} → {shown(getattr(after, name))}"
        for name in fields
        if getattr(before, name) != getattr(after, name)
    )


def judge(room: Room, facts: ClearanceFacts) -> Clearance:
    """The room's verdict now, against its operation time."""
    return facts.decide(datetime.fromisoformat(room.operation_time), datetime.now(UTC))


class RoomService(RoomAccess):
    """Rooms and their data; who may do what in them is RoomAccess's (shared with the live channel).

    A change that depends on what the room holds (a correction, whose audit line says what the
    data was; anything that moves the room's clearance; a reference to a party, a vessel or a
    document) is decided on a strongly consistent read of the room and written on condition that
    the room is still at the version read; if another change landed between the two, it is decided
    again on a fresh read."""

    # ---------------------------------------------------------------- rooms

    def create_room(self, caller: Caller, data: RoomIn) -> Room:
        now = utc_now()
        room = Room(
            id=new_id(),
            title=data.title,
            location=data.location,
            operation_time=data.operation_time.isoformat(),
            created_by=caller.email,
            created_at=now,
            updated_at=now,
        )
        owner = Party(email=caller.email, company=data.company, role=Role.OWNER, added_at=now)
        self.rooms.create_room(room, owner, activity(caller, "room.created", room.title, at=now))
        return room

    def list_rooms(self, caller: Caller) -> list[tuple[Room, Clearance]]:
        """The caller's rooms (every room for an admin), each judged now from the clearance facts
        its own item keeps; a room whose item has none yet is judged from its data (one read)."""
        listed = []
        for room, facts in self.rooms.list_rooms(None if caller.is_admin else caller.email):
            if facts is None and (detail := self.rooms.get_room_detail(room.id)) is not None:
                facts = ClearanceFacts.of(detail.documents, detail.approvals)
            listed.append((room, judge(room, facts or ClearanceFacts())))
        return listed

    def get_room(self, caller: Caller, room_id: str) -> tuple[RoomDetail, Clearance]:
        self.authorize(caller, room_id, Action.READ)
        detail = self.rooms.get_room_detail(room_id)
        if detail is None:
            raise NotFound("room not found")
        return detail, judge(detail, ClearanceFacts.of(detail.documents, detail.approvals))

    def update_room(self, caller: Caller, room_id: str, data: RoomPatch) -> Room:
        """The room's title, location and operation time (which its clearance is judged against)."""
        self.authorize(caller, room_id, Action.EDIT_ROOM)

        def correct(detail: RoomDetail) -> Room:
            given = data.changes()
            if "operation_time" in given:
                given["operation_time"] = given["operation_time"].isoformat()
            after = Room.model_validate({**detail.model_dump(), **given})
            room_before = Room.model_validate(detail.model_dump())
            line = activity(caller, "room.changed", before_after(room_before, after, list(given)))
            change = self._change_of(detail, line)
            self.rooms.update_room(room_id, given, change)
            return after.model_copy(update={"updated_at": change.activity.at, "version": detail.version + 1})

        return self._decided(room_id, correct)

    # ---------------------------------------------------------------- parties

    def add_party(self, caller: Caller, room_id: str, data: PartyIn) -> Party:
        role = self.authorize(caller, room_id, Action.MANAGE_PARTIES)
        if data.role is Role.OWNER and role not in (None, Role.OWNER):
            raise Forbidden("only an owner may add another owner")
        change = activity(caller, "party.added", f"{data.email} ({data.company}) as {data.role.value}")
        party = Party(**data.model_dump(), added_at=change.at)
        self.rooms.add_party(room_id, party, change)
        return party

    def update_party(self, caller: Caller, room_id: str, email: str, data: PartyPatch) -> Party:
        """Owners (and admins) change roles, and brokers correct companies too (as they add parties),
        but only owners touch an owner; the last owner cannot be demoted (409)."""
        given = data.changes()
        role = self.authorize(caller, room_id, Action.CHANGE_PARTIES if "role" in given else Action.MANAGE_PARTIES)

        def correct(detail: RoomDetail) -> Party:
            before = self._party_in(detail, email)
            if role not in (None, Role.OWNER) and before.role is Role.OWNER:
                raise Forbidden("only an owner may change an owner's details")
            after = before.model_copy(update=given)
            if after == before:
                return before
            action = "party.role_changed" if set(given) == {"role"} else "party.changed"
            detail_text = (
                f"{before.email}: {before.role.value} → {after.role.value}"
                if action == "party.role_changed"
                else f"{before.email}: {before_after(before, after, list(given))}"
            )
            self.rooms.update_party(
                room_id, before, after, self._change_of(detail, activity(caller, action, detail_text))
            )
            return after

        return self._decided(room_id, correct)

    def remove_party(self, caller: Caller, room_id: str, email: str) -> None:
        """Owners (and admins) remove parties, who lose access at once; the last owner stays (409)."""
        self.authorize(caller, room_id, Action.CHANGE_PARTIES)
        party = self.rooms.get_party(room_id, normalize_email(email))
        if party is None:
            raise NotFound(f"{email} is not a party of this room")
        change = activity(caller, "party.removed", f"{party.email} ({party.company}), was {party.role.value}")
        self.rooms.remove_party(room_id, party, change)

    # ---------------------------------------------------------------- vessels

    def add_vessel(self, caller: Caller, room_id: str, data: VesselIn) -> Vessel:
        self.authorize(caller, room_id, Action.EDIT_ROOM)
        change = activity(caller, "vessel.added", f"{data.name} (IMO {data.imo})")
        vessel = Vessel(**data.model_dump(), added_at=change.at)
        self.rooms.add_vessel(room_id, vessel, change)
        return vessel

    def update_vessel(self, caller: Caller, room_id: str, imo: str, data: VesselPatch) -> Vessel:
        """A vessel corrected. A new IMO number carries the room's documents that named the old one
        with it, in the same change, and its audit line names them."""
        self.authorize(caller, room_id, Action.EDIT_ROOM)

        def correct(detail: RoomDetail) -> Vessel:
            before = self._vessel_in(detail, imo)
            after = before.model_copy(update=data.changes())
            if after == before:
                return before
            moved = [d for d in detail.documents if d.vessel_imo == before.imo and after.imo != before.imo]
            text = f"{before.name} (IMO {before.imo}): {before_after(before, after, list(data.changes()))}"
            if moved:
                text += f"; its documents moved with it: {_named(moved)}"
            change = self._change_of(detail, activity(caller, "vessel.changed", text))
            repointed = [
                d.model_copy(update={"vessel_imo": after.imo, "updated_at": change.activity.at}) for d in moved
            ]
            self.rooms.replace_vessel(room_id, before, after, repointed, change)
            return after

        return self._decided(room_id, correct)

    def delete_vessel(self, caller: Caller, room_id: str, imo: str) -> None:
        """Removes a vessel that no document names (409 naming those that do: move or delete them
        first, so that no document is left naming a vessel the room does not hold)."""
        self.authorize(caller, room_id, Action.EDIT_ROOM)

        def delete(detail: RoomDetail) -> None:
            vessel = self._vessel_in(detail, imo)
            if naming := [d for d in detail.documents if d.vessel_imo == vessel.imo]:
                raise Conflict(
                    f"documents name vessel IMO {vessel.imo}: {_named(naming)}; move them to another vessel or "
                    "delete them first"
                )
            text = f"{vessel.name} (IMO {vessel.imo}, {vessel.vessel_type}, flag {vessel.flag})"
            self.rooms.delete_vessel(
                room_id, vessel.imo, self._change_of(detail, activity(caller, "vessel.deleted", text))
            )

        self._decided(room_id, delete)

    # ---------------------------------------------------------------- documents

    def add_document(self, caller: Caller, room_id: str, data: DocumentIn) -> Document:
        self.authorize(caller, room_id, Action.EDIT_ROOM)

        def add(detail: RoomDetail) -> Document:
            self._check_vessel(detail, data.vessel_imo)
            line = activity(caller, "document.added", f"{data.name} ({data.document_type}): {data.status.value}")
            document = Document(**data.model_dump(), id=new_id(), updated_at=line.at)
            change = self._change_of(detail, line, documents=[*detail.documents, document])
            self.rooms.put_document(room_id, document, change)
            return document

        return self._decided(room_id, add)

    def update_document(self, caller: Caller, room_id: str, document_id: str, data: DocumentPatch) -> Document:
        self.authorize(caller, room_id, Action.EDIT_ROOM)

        def correct(detail: RoomDetail) -> Document:
            before = self._document_in(detail, document_id)
            given = data.changes()
            if "vessel_imo" in given:
                self._check_vessel(detail, given["vessel_imo"])
            after = before.model_copy(update=given)
            if after == before:
                return before
            action = "document.status" if set(given) == {"status"} else "document.changed"
            text = f"{before.name}: {before_after(before, after, list(given))}"
            others = [d for d in detail.documents if d.id != document_id]
            line = activity(caller, action, text)
            after = after.model_copy(update={"updated_at": line.at})
            change = self._change_of(detail, line, documents=[*others, after])
            self.rooms.put_document(room_id, after, change)
            return after

        return self._decided(room_id, correct)

    def delete_document(self, caller: Caller, room_id: str, document_id: str) -> None:
        """Removes a document, and with it what it counted for the clearance. Approvals that name it
        keep naming it (they record what was approved; the audit line says it is gone)."""
        self.authorize(caller, room_id, Action.EDIT_ROOM)

        def delete(detail: RoomDetail) -> None:
            document = self._document_in(detail, document_id)
            text = (
                f"{document.name} ({document.document_type}): {document.status.value}, expires on "
                f"{shown(document.expires_on)}, vessel {shown(document.vessel_imo)}"
            )
            others = [d for d in detail.documents if d.id != document_id]
            change = self._change_of(detail, activity(caller, "document.deleted", text), documents=others)
            self.rooms.delete_document(room_id, document_id, change)

        self._decided(room_id, delete)

    # ---------------------------------------------------------------- approvals

    def add_approval(self, caller: Caller, room_id: str, data: ApprovalIn) -> Approval:
        """An approval by the caller, for a party of the room (the caller's own by default) and about
        a document of the room (the transfer as a whole by default)."""
        self.authorize(caller, room_id, Action.APPROVE)

        def add(detail: RoomDetail) -> Approval:
            self._check_subject(detail, data.party, data.document_id)
            line = activity(caller, "approval.recorded", "")
            approval = Approval(id=new_id(), by=caller.email, at=line.at, **data.model_dump())
            line = line.model_copy(update={"detail": _approval_text(approval)})
            change = self._change_of(detail, line, approvals=[*detail.approvals, approval])
            self.rooms.put_approval(room_id, approval, change)
            return approval

        return self._decided(room_id, add)

    def update_approval(self, caller: Caller, room_id: str, approval_id: str, data: ApprovalPatch) -> Approval:
        """Corrects an approval: whoever recorded it (while their role records approvals), or an
        owner. It keeps the moment it was recorded at."""
        role = self.authorize(caller, room_id, Action.APPROVE)

        def correct(detail: RoomDetail) -> Approval:
            before = self._approval_of(caller, role, detail, approval_id)
            given = data.changes()
            after = before.model_copy(update=given)
            if after == before:
                return before
            self._check_subject(detail, after.party, after.document_id)
            text = f"{before.id}: {before_after(before, after, list(given))}"
            others = [a for a in detail.approvals if a.id != approval_id]
            change = self._change_of(detail, activity(caller, "approval.changed", text), approvals=[*others, after])
            self.rooms.put_approval(room_id, after, change)
            return after

        return self._decided(room_id, correct)

    def withdraw_approval(self, caller: Caller, room_id: str, approval_id: str) -> None:
        """Withdraws an approval (same rights as correcting it): it no longer counts, and the activity
        log keeps what it said."""
        role = self.authorize(caller, room_id, Action.APPROVE)

        def withdraw(detail: RoomDetail) -> None:
            approval = self._approval_of(caller, role, detail, approval_id)
            text = f"{approval.id}: {_approval_text(approval)}, recorded by {approval.by} at {approval.at}"
            others = [a for a in detail.approvals if a.id != approval_id]
            change = self._change_of(detail, activity(caller, "approval.withdrawn", text), approvals=others)
            self.rooms.delete_approval(room_id, approval_id, change)

        self._decided(room_id, withdraw)

    # ---------------------------------------------------------------- the activity log

    def audit(self, room_id: str, entry: Activity) -> None:
        self.rooms.append_audit(room_id, entry)

    def list_activity(
        self, caller: Caller, room_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Activity], str | None]:
        self.authorize(caller, room_id, Action.READ)
        return self.rooms.list_activity(room_id, limit, cursor)

    # ---------------------------------------------------------------- helpers

    def _decided(self, room_id: str, decide: Callable[[RoomDetail], Result]) -> Result:
        """`decide` on a consistent read of the room, again on a fresh one if the room changed meanwhile."""
        for attempt in range(CHANGE_ATTEMPTS):
            detail = self.rooms.get_room_detail(room_id, consistent=True)
            if detail is None:
                raise NotFound("room not found")
            try:
                return decide(detail)
            except RoomChanged:
                if attempt == CHANGE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _change_of(
        detail: RoomDetail,
        line: Activity,
        documents: list[Document] | None = None,
        approvals: list[Approval] | None = None,
    ) -> Change:
        """The change decided on `detail`, with the room's clearance facts after it when it moves
        its documents or approvals."""
        facts = None
        if documents is not None or approvals is not None:
            facts = ClearanceFacts.of(
                detail.documents if documents is None else documents,
                detail.approvals if approvals is None else approvals,
            )
        return Change(line, version=detail.version, facts=facts)

    @staticmethod
    def _party_in(detail: RoomDetail, email: str) -> Party:
        wanted = normalize_email(email)
        return _one(detail.parties, lambda p: p.email == wanted, f"{email} is not a party of this room")

    @staticmethod
    def _vessel_in(detail: RoomDetail, imo: str) -> Vessel:
        return _one(detail.vessels, lambda v: v.imo == imo, f"no vessel with IMO {imo} in this room")

    @staticmethod
    def _document_in(detail: RoomDetail, document_id: str) -> Document:
        return _one(detail.documents, lambda d: d.id == document_id, "document not found")

    @staticmethod
    def _approval_of(caller: Caller, role: Role | None, detail: RoomDetail, approval_id: str) -> Approval:
        """The approval, if the caller may correct or withdraw it: whoever recorded it, or an owner."""
        approval = _one(detail.approvals, lambda a: a.id == approval_id, "approval not found")
        if role not in (None, Role.OWNER) and approval.by != caller.email:
            raise Forbidden("only whoever recorded an approval, or an owner, may change or withdraw it")
        return approval

    @staticmethod
    def _check_vessel(detail: RoomDetail, imo: str | None) -> None:
        if imo is not None and all(vessel.imo != imo for vessel in detail.vessels):
            raise UnprocessableEntity(f"vessel_imo: no vessel with IMO {imo} in this room; add the vessel first")

    @staticmethod
    def _check_subject(detail: RoomDetail, party: str | None, document_id: str | None) -> None:
        if party is not None and all(p.email != party for p in detail.parties):
            raise UnprocessableEntity(f"party: {party} is not a party of this room")
        if document_id is not None and all(d.id != document_id for d in detail.documents):
            raise UnprocessableEntity(f"document_id: no document {document_id} in this room")


Item = TypeVar("Item")


def _one(items: list[Item], matches: Callable[[Item], bool], missing: str) -> Item:
    """The item of the room that matches, or 404."""
    found = next((item for item in items if matches(item)), None)
    if found is None:
        raise NotFound(missing)
    return found


def _named(documents: list[Document]) -> str:
    return ", ".join(f"{document.name} ({document.id})" for document in documents)


def _approval_text(approval: Approval) -> str:
    """An approval as its audit line reads: `approved for x@y.io on <document>: comment`."""
    text = approval.status.value
    if approval.party:
        text += f" for {approval.party}"
    if approval.document_id:
        text += f" on document {approval.document_id}"
    return f"{text}: {approval.comment}" if approval.comment else text
