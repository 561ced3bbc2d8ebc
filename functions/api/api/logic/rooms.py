"""Room domain: a room's data and the changes that make up its activity log (who may do what is
roomsnap.access's RoomAccess, which the live channel's subscriptions share)."""

from datetime import UTC, datetime

from roomsnap.access import Caller, RoomAccess
from roomsnap.errors import Forbidden, NotFound
from roomsnap.ids import new_id
from roomsnap.models import (
    Activity,
    ActivityCategory,
    Approval,
    ApprovalIn,
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
    Vessel,
    VesselIn,
    iso,
    normalize_email,
    utc_now,
)
from roomsnap.permissions import Action


def activity(
    caller: Caller, action: str, detail: str = "", category: ActivityCategory = "room", at: str | None = None
) -> Activity:
    moment = datetime.fromisoformat(at) if at else datetime.now(UTC)
    return Activity(
        id=new_id(moment), at=iso(moment), actor=caller.email, action=action, detail=detail, category=category
    )


class RoomService(RoomAccess):
    """Rooms and their data; who may do what in them is RoomAccess's (shared with the live channel)."""

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

    def list_rooms(self, caller: Caller) -> list[Room]:
        return self.rooms.list_rooms(None if caller.is_admin else caller.email)

    def get_room(self, caller: Caller, room_id: str) -> RoomDetail:
        self.authorize(caller, room_id, Action.READ)
        detail = self.rooms.get_room_detail(room_id)
        if detail is None:
            raise NotFound("room not found")
        return detail

    def add_party(self, caller: Caller, room_id: str, data: PartyIn) -> Party:
        role = self.authorize(caller, room_id, Action.MANAGE_PARTIES)
        if data.role is Role.OWNER and role not in (None, Role.OWNER):
            raise Forbidden("only an owner may add another owner")
        change = activity(caller, "party.added", f"{data.email} ({data.company}) as {data.role.value}")
        party = Party(**data.model_dump(), added_at=change.at)
        self.rooms.add_party(room_id, party, change)
        return party

    def change_party_role(self, caller: Caller, room_id: str, email: str, data: PartyPatch) -> Party:
        """Owners (and admins) change roles; the last owner cannot be demoted (409)."""
        party = self._party(caller, room_id, email)
        if party.role is data.role:
            return party
        change = activity(caller, "party.role_changed", f"{party.email}: {party.role.value} → {data.role.value}")
        self.rooms.set_party_role(room_id, party, data.role, change)
        return party.model_copy(update={"role": data.role})

    def remove_party(self, caller: Caller, room_id: str, email: str) -> None:
        """Owners (and admins) remove parties, who lose access at once; the last owner stays (409)."""
        party = self._party(caller, room_id, email)
        change = activity(caller, "party.removed", f"{party.email} ({party.company}), was {party.role.value}")
        self.rooms.remove_party(room_id, party, change)

    def _party(self, caller: Caller, room_id: str, email: str) -> Party:
        self.authorize(caller, room_id, Action.CHANGE_PARTIES)
        party = self.rooms.get_party(room_id, normalize_email(email))
        if party is None:
            raise NotFound(f"{email} is not a party of this room")
        return party

    def add_vessel(self, caller: Caller, room_id: str, data: VesselIn) -> Vessel:
        self.authorize(caller, room_id, Action.EDIT_ROOM)
        change = activity(caller, "vessel.added", f"{data.name} (IMO {data.imo})")
        vessel = Vessel(**data.model_dump(), added_at=change.at)
        self.rooms.add_vessel(room_id, vessel, change)
        return vessel

    def add_document(self, caller: Caller, room_id: str, data: DocumentIn) -> Document:
        self.authorize(caller, room_id, Action.EDIT_ROOM)
        change = activity(caller, "document.added", f"{data.name} ({data.document_type}): {data.status.value}")
        document = Document(**data.model_dump(), id=new_id(), updated_at=change.at)
        self.rooms.add_document(room_id, document, change)
        return document

    def set_document_status(self, caller: Caller, room_id: str, document_id: str, data: DocumentPatch) -> dict:
        self.authorize(caller, room_id, Action.EDIT_ROOM)
        change = activity(caller, "document.status", f"{document_id}: {data.status.value}")
        self.rooms.set_document_status(room_id, document_id, data.status, change)
        return {"id": document_id, "status": data.status.value, "updated_at": change.at}

    def add_approval(self, caller: Caller, room_id: str, data: ApprovalIn) -> Approval:
        self.authorize(caller, room_id, Action.APPROVE)
        change = activity(caller, "approval.recorded", f"{data.status.value}: {data.comment}".rstrip(": "))
        approval = Approval(id=new_id(), status=data.status, comment=data.comment, by=caller.email, at=change.at)
        self.rooms.add_approval(room_id, approval, change)
        return approval

    def audit(self, room_id: str, entry: Activity) -> None:
        self.rooms.append_audit(room_id, entry)

    def list_activity(
        self, caller: Caller, room_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Activity], str | None]:
        self.authorize(caller, room_id, Action.READ)
        return self.rooms.list_activity(room_id, limit, cursor)
