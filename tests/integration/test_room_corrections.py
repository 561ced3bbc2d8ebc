"""Corrections through the real RoomRepository on moto (the template's table): one transaction each,
conditioned on the room's version, retried writes applied once, a re-numbered vessel's documents
moved in the same transaction, the expiry index following a corrected date, and the clearance facts
that the room list judges from, kept on META."""

from datetime import date

import pytest

from roomsnap.access import Caller
from roomsnap.dal.expiring_documents import ExpiringDocuments
from roomsnap.dal.rooms import Change
from roomsnap.errors import Conflict, RoomChanged
from roomsnap.models import DocumentIn, DocumentPatch, PartyPatch, Role, VesselIn, VesselPatch

from api.logic.rooms import RoomService, activity
from tests.integration.builders import new_room
from tests.integration.test_retried_writes import first_answer_dropped

OWNER = Caller("o@x.io", is_admin=False)
ADMIN = Caller("admin@x.io", is_admin=True)
VESSEL = VesselIn(name="MT Sohar Spirit", imo="9074729", vessel_type="crude tanker", flag="OM")


@pytest.fixture
def service(parts) -> RoomService:
    return RoomService(parts["rooms"])


def test_a_retried_correction_is_applied_once(parts, service):
    room_id = new_room(parts)
    service.add_vessel(OWNER, room_id, VESSEL)
    version = parts["rooms"].room_version(room_id)
    with first_answer_dropped("TransactWriteItems") as dropped:
        service.update_vessel(OWNER, room_id, VESSEL.imo, VesselPatch(flag="AE"))
    assert dropped == ["TransactWriteItems"]
    assert parts["rooms"].room_version(room_id) == version + 1
    assert [line.action for line in parts["rooms"].room_changes(room_id)][-1:] == ["vessel.changed"]
    assert len([line for line in parts["rooms"].room_changes(room_id) if line.action == "vessel.changed"]) == 1


def test_a_change_decided_on_an_older_version_is_refused_as_the_room_having_changed(parts, service):
    room_id = new_room(parts)
    detail = parts["rooms"].get_room_detail(room_id, consistent=True)
    service.add_vessel(OWNER, room_id, VESSEL)  # lands after the read
    stale = Change(activity(OWNER, "room.changed", "x"), version=detail.version)
    with pytest.raises(RoomChanged):
        parts["rooms"].update_room(room_id, {"title": "Stale"}, stale)
    assert parts["rooms"].get_room(room_id).title == "Integration room"


def test_a_re_numbered_vessel_moves_with_its_documents_in_one_transaction(parts, service):
    room_id = new_room(parts)
    service.add_vessel(OWNER, room_id, VESSEL)
    service.add_vessel(OWNER, room_id, VESSEL.model_copy(update={"imo": "9176187", "name": "MT Busan"}))
    q88 = service.add_document(OWNER, room_id, DocumentIn(name="Q88", document_type="q", vessel_imo=VESSEL.imo))
    # Onto a number another vessel has: refused, nothing moved
    with pytest.raises(Conflict, match="IMO 9176187 is already in this room"):
        service.update_vessel(OWNER, room_id, VESSEL.imo, VesselPatch(imo="9176187"))
    detail = parts["rooms"].get_room_detail(room_id)
    assert sorted(v.imo for v in detail.vessels) == ["9074729", "9176187"]
    assert [d.vessel_imo for d in detail.documents] == [VESSEL.imo]
    # Onto a free number: the vessel and its document move together
    service.update_vessel(OWNER, room_id, VESSEL.imo, VesselPatch(imo="9321483"))
    detail = parts["rooms"].get_room_detail(room_id)
    assert sorted(v.imo for v in detail.vessels) == ["9176187", "9321483"]
    assert [(d.id, d.vessel_imo) for d in detail.documents] == [(q88.id, "9321483")]


def test_the_expiry_index_follows_a_corrected_expiry_date_and_a_deleted_document(parts, service):
    room_id = new_room(parts)
    expiring = ExpiringDocuments(parts["rooms"].table_name)
    data = DocumentIn(name="P&I certificate", document_type="insurance", expires_on=date(2031, 3, 1))
    document = service.add_document(OWNER, room_id, data)
    assert [d.id for _, d in expiring.expiring_on(date(2031, 3, 1))] == [document.id]
    service.update_document(OWNER, room_id, document.id, DocumentPatch(expires_on=date(2031, 4, 1)))
    assert expiring.expiring_on(date(2031, 3, 1)) == []
    assert [d.id for _, d in expiring.expiring_on(date(2031, 4, 1))] == [document.id]
    service.delete_document(OWNER, room_id, document.id)
    assert expiring.expiring_on(date(2031, 4, 1)) == []


def test_the_room_list_judges_rooms_from_the_facts_on_their_items_as_the_room_itself(parts, service):
    room_id = new_room(parts, "Listed with its clearance")
    service.add_document(OWNER, room_id, DocumentIn(name="Q88", document_type="q", status="missing"))
    for caller in (OWNER, ADMIN):
        listed = {room.id: clearance for room, clearance in service.list_rooms(caller)}
        own = service.get_room(OWNER, room_id)[1]
        assert listed[room_id].model_dump(exclude={"judged_at"}) == own.model_dump(exclude={"judged_at"})
        assert [b.kind for b in listed[room_id].blockers] == ["missing", "no_approval"]


def test_the_last_owner_is_kept_under_a_version_condition_too(parts, service):
    room_id = new_room(parts)
    with pytest.raises(Conflict, match="at least one owner"):
        service.update_party(OWNER, room_id, OWNER.email, PartyPatch(role=Role.BROKER))
    assert parts["rooms"].get_party(room_id, OWNER.email).role is Role.OWNER
