"""Corrections of a room's data (RoomService against the in-memory RoomRepository): what each
changes, who may make it, the before → after of its audit line, what a vessel's documents do when
it is re-numbered or deleted, approvals withdrawn, references checked, and the room's clearance as
the API answers it, in the room and in the room list."""

from datetime import UTC, date, datetime, timedelta

import pytest

from roomsnap.clearance import BlockerKind, ClearanceFacts, ClearanceStatus, decide
from roomsnap.dal.rooms import Change
from roomsnap.errors import Conflict, Forbidden, NotFound, RoomChanged, UnprocessableEntity
from roomsnap.ids import new_id
from roomsnap.models import (
    Activity,
    Approval,
    ApprovalIn,
    ApprovalPatch,
    ApprovalStatus,
    DocumentIn,
    DocumentPatch,
    DocumentStatus,
    PartyPatch,
    Role,
    RoomPatch,
    Vessel,
    VesselIn,
    VesselPatch,
    utc_now,
)

from api.logic import rooms as rooms_module
from api.logic.rooms import RoomService
from tests.unit.builders import ADMIN, OWNER, member
from tests.unit.fakes import Repositories

SEAWISE = VesselIn(name="ناقلة الخليج", imo="9074729", vessel_type="crude tanker", flag="AE")
RENUMBERED = "9176187"


@pytest.fixture
def service(repos: Repositories) -> RoomService:
    return RoomService(repos.rooms)


def last_line(repos: Repositories, room_id: str) -> Activity:
    return repos.rooms.logs[room_id][-1]


def document(service: RoomService, room_id: str, name: str = "Q88", **fields) -> str:
    data = DocumentIn(name=name, document_type="questionnaire", **fields)
    return service.add_document(OWNER, room_id, data).id


# ---------------------------------------------------------------- the rooms of real operations


def test_an_arabic_vessel_a_company_and_an_emoji_comment_are_corrected_with_before_and_after(repos, service, room_id):
    # Given the vessel, company and comment of a room off Fujairah, as first entered
    service.add_vessel(OWNER, room_id, SEAWISE)
    service.update_party(OWNER, room_id, member(Role.BROKER).email, PartyPatch(company="شركة الخليج للشحن"))
    approval = service.add_approval(member(Role.INSPECTOR), room_id, ApprovalIn(status="approved", comment="ok 👍"))
    # When each is corrected
    vessel = service.update_vessel(OWNER, room_id, SEAWISE.imo, VesselPatch(name="ناقلة الخليج ٢"))
    vessel_line = last_line(repos, room_id)
    party = service.update_party(OWNER, room_id, member(Role.BROKER).email, PartyPatch(company="Gulf Shipping LLC"))
    party_line = last_line(repos, room_id)
    corrected = service.update_approval(
        member(Role.INSPECTOR), room_id, approval.id, ApprovalPatch(comment="ok 👍🏽 hoses checked")
    )
    approval_line = last_line(repos, room_id)
    # Then the room holds the corrected values
    detail, _ = service.get_room(OWNER, room_id)
    assert [v.name for v in detail.vessels] == ["ناقلة الخليج ٢"] == [vessel.name]
    assert party.company == "Gulf Shipping LLC"
    assert [a.comment for a in detail.approvals] == ["ok 👍🏽 hoses checked"] == [corrected.comment]
    # And each audit line says what it was and what it became
    assert (vessel_line.action, vessel_line.detail) == (
        "vessel.changed",
        "ناقلة الخليج (IMO 9074729): name: ناقلة الخليج → ناقلة الخليج ٢",
    )
    assert (party_line.action, party_line.detail) == (
        "party.changed",
        f"{member(Role.BROKER).email}: company: شركة الخليج للشحن → Gulf Shipping LLC",
    )
    assert (approval_line.action, approval_line.actor) == ("approval.changed", member(Role.INSPECTOR).email)
    assert approval_line.detail == f"{approval.id}: comment: ok 👍 → ok 👍🏽 hoses checked"


def test_the_room_s_own_details_are_corrected_and_its_clearance_follows_the_operation_time(repos, service, room_id):
    # Given a P&I certificate that expires on 8 Dec, and a transfer moved to a week from now
    expires = date.today() + timedelta(days=4)
    document(service, room_id, "P&I certificate", status=DocumentStatus.APPROVED, expires_on=expires)
    service.add_approval(OWNER, room_id, ApprovalIn(status="approved"))
    later = datetime.now(UTC) + timedelta(days=8)
    before = repos.rooms.get_room(room_id)
    # When the operation is moved and the room renamed
    room = service.update_room(OWNER, room_id, RoomPatch(title="STS Khor Fakkan", operation_time=later))
    # Then the room holds the new details, one version further, and the log has the before and after
    assert (room.title, room.location, room.operation_time) == ("STS Khor Fakkan", before.location, later.isoformat())
    assert repos.rooms.get_room(room_id) == room
    assert room.version == before.version + 1
    line = last_line(repos, room_id)
    assert line.action == "room.changed"
    assert line.detail == (
        f"title: {before.title} → STS Khor Fakkan; operation_time: {before.operation_time} → {later.isoformat()}"
    )
    # And the certificate that outlasts today but not the operation now blocks it
    _, clearance = service.get_room(OWNER, room_id)
    assert clearance.status is ClearanceStatus.NOT_CLEARED
    assert [(b.kind, b.name, b.date) for b in clearance.blockers] == [
        (BlockerKind.EXPIRES_BEFORE_OPERATION, "P&I certificate", expires.isoformat())
    ]


def test_a_correction_that_changes_nothing_writes_nothing(repos, service, room_id):
    service.add_vessel(OWNER, room_id, SEAWISE)
    version, lines = repos.rooms.room_version(room_id), len(repos.rooms.logs[room_id])
    service.update_vessel(OWNER, room_id, SEAWISE.imo, VesselPatch(flag="AE"))
    assert (repos.rooms.room_version(room_id), len(repos.rooms.logs[room_id])) == (version, lines)


# ---------------------------------------------------------------- vessels and the documents that name them


def test_a_re_numbered_vessel_takes_its_documents_along_and_its_audit_line_names_them(repos, service, room_id):
    # Given a vessel with two documents, and a document of no vessel
    service.add_vessel(OWNER, room_id, SEAWISE)
    q88 = document(service, room_id, "Q88", vessel_imo=SEAWISE.imo)
    sire = document(service, room_id, "SIRE report", vessel_imo=SEAWISE.imo)
    other = document(service, room_id, "Mooring plan")
    # When its IMO number is corrected
    vessel = service.update_vessel(member(Role.OPERATOR), room_id, SEAWISE.imo, VesselPatch(imo=f"IMO {RENUMBERED}"))
    # Then the vessel is under its new number only, and its documents name it there
    detail, _ = service.get_room(OWNER, room_id)
    assert vessel.imo == RENUMBERED
    assert [v.imo for v in detail.vessels] == [RENUMBERED]
    assert {d.id: d.vessel_imo for d in detail.documents} == {q88: RENUMBERED, sire: RENUMBERED, other: None}
    # And one audit line says so
    line = last_line(repos, room_id)
    moved = ", ".join(f"{name} ({id})" for id, name in sorted([(q88, "Q88"), (sire, "SIRE report")]))
    assert (
        line.detail == f"ناقلة الخليج (IMO 9074729): imo: 9074729 → {RENUMBERED}; its documents moved with it: {moved}"
    )


def test_a_vessel_cannot_be_re_numbered_onto_another_vessel_of_the_room(service, room_id):
    service.add_vessel(OWNER, room_id, SEAWISE)
    service.add_vessel(OWNER, room_id, SEAWISE.model_copy(update={"imo": RENUMBERED, "name": "MT Sohar"}))
    with pytest.raises(Conflict, match=f"IMO {RENUMBERED} is already in this room"):
        service.update_vessel(OWNER, room_id, SEAWISE.imo, VesselPatch(imo=RENUMBERED))


def test_a_vessel_that_documents_name_is_not_deleted_and_the_refusal_names_them(repos, service, room_id):
    # Given a vessel a document names
    service.add_vessel(OWNER, room_id, SEAWISE)
    q88 = document(service, room_id, "Q88", vessel_imo=SEAWISE.imo)
    # When it is deleted, it is refused, naming the document
    with pytest.raises(Conflict, match=f"Q88 \\({q88}\\); move them to another vessel or delete them first"):
        service.delete_vessel(OWNER, room_id, SEAWISE.imo)
    # And once the document names no vessel, the vessel goes, and its audit line keeps what it was
    service.update_document(OWNER, room_id, q88, DocumentPatch(vessel_imo=None))
    service.delete_vessel(OWNER, room_id, SEAWISE.imo)
    assert service.get_room(OWNER, room_id)[0].vessels == []
    line = last_line(repos, room_id)
    assert (line.action, line.detail) == ("vessel.deleted", "ناقلة الخليج (IMO 9074729, crude tanker, flag AE)")


def test_a_document_names_only_a_vessel_of_the_room(service, room_id):
    with pytest.raises(UnprocessableEntity, match="vessel_imo: no vessel with IMO 9074729 in this room"):
        document(service, room_id, vessel_imo=SEAWISE.imo)
    q88 = document(service, room_id)
    with pytest.raises(UnprocessableEntity, match="vessel_imo"):
        service.update_document(OWNER, room_id, q88, DocumentPatch(vessel_imo=SEAWISE.imo))


def test_a_missing_vessel_is_404(service, room_id):
    with pytest.raises(NotFound, match="no vessel with IMO 9074729"):
        service.update_vessel(OWNER, room_id, SEAWISE.imo, VesselPatch(name="x"))
    with pytest.raises(NotFound):
        service.delete_vessel(OWNER, room_id, SEAWISE.imo)


# ---------------------------------------------------------------- documents


def test_every_field_of_a_document_is_corrected_and_the_audit_line_lists_each_change(repos, service, room_id):
    service.add_vessel(OWNER, room_id, SEAWISE)
    q88 = document(service, room_id, "Q88", status=DocumentStatus.UPLOADED, expires_on=date(2027, 1, 15))
    patch = DocumentPatch(
        name="Q88 (rev. 2)",
        document_type="vessel questionnaire",
        status=DocumentStatus.APPROVED,
        expires_on=None,
        vessel_imo=SEAWISE.imo,
    )
    changed = service.update_document(member(Role.OPERATOR), room_id, q88, patch)
    stored = service.get_room(OWNER, room_id)[0].documents[0]
    assert stored == changed
    assert (stored.name, stored.document_type, stored.status, stored.expires_on, stored.vessel_imo) == (
        "Q88 (rev. 2)",
        "vessel questionnaire",
        DocumentStatus.APPROVED,
        None,
        SEAWISE.imo,
    )
    line = last_line(repos, room_id)
    assert (line.action, line.at) == ("document.changed", stored.updated_at)
    assert line.detail == (
        "Q88: name: Q88 → Q88 (rev. 2); document_type: questionnaire → vessel questionnaire; status: uploaded → "
        "approved; expires_on: 2027-01-15 → none; vessel_imo: none → 9074729"
    )


def test_a_deleted_document_is_gone_from_the_room_and_its_clearance_and_kept_in_the_log(repos, service, room_id):
    service.add_approval(OWNER, room_id, ApprovalIn(status="approved"))
    q88 = document(service, room_id, "Q88", status=DocumentStatus.MISSING)
    assert service.get_room(OWNER, room_id)[1].status is ClearanceStatus.NOT_CLEARED
    service.delete_document(member(Role.BROKER), room_id, q88)
    detail, clearance = service.get_room(OWNER, room_id)
    assert detail.documents == []
    assert clearance.status is ClearanceStatus.CLEARED
    line = last_line(repos, room_id)
    assert (line.action, line.detail) == (
        "document.deleted",
        "Q88 (questionnaire): missing, expires on none, vessel none",
    )
    with pytest.raises(NotFound, match="document not found"):
        service.delete_document(OWNER, room_id, q88)


# ---------------------------------------------------------------- approvals


def test_an_approval_names_a_party_and_a_document_of_the_room_only(service, room_id):
    q88 = document(service, room_id)
    approval = service.add_approval(
        member(Role.INSPECTOR), room_id, ApprovalIn(status="approved", party=member(Role.BROKER).email, document_id=q88)
    )
    assert (approval.party, approval.document_id, approval.by) == (
        member(Role.BROKER).email,
        q88,
        member(Role.INSPECTOR).email,
    )
    assert service.get_room(OWNER, room_id)[0].approvals == [approval]
    with pytest.raises(UnprocessableEntity, match="party: nobody@example.com is not a party of this room"):
        service.add_approval(OWNER, room_id, ApprovalIn(party="nobody@example.com"))
    with pytest.raises(UnprocessableEntity, match="document_id: no document"):
        service.add_approval(OWNER, room_id, ApprovalIn(document_id=new_id()))
    with pytest.raises(UnprocessableEntity, match="party"):
        service.update_approval(OWNER, room_id, approval.id, ApprovalPatch(party="nobody@example.com"))


def test_a_withdrawn_approval_no_longer_counts_and_the_log_keeps_what_it_said(repos, service, room_id):
    # Given a rejection of the day before, then an approval by the same inspector
    inspector = member(Role.INSPECTOR)
    earlier = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    rejection = Approval(id=new_id(), status="rejected", comment="hoses leaking", by=inspector.email, at=earlier)
    repos.rooms.put_approval(room_id, rejection, Change(rooms_module.activity(inspector, "approval.recorded")))
    approval = service.add_approval(inspector, room_id, ApprovalIn(status="approved", comment="ok 👍"))
    assert service.get_room(OWNER, room_id)[1].status is ClearanceStatus.CLEARED
    # When the approval is withdrawn
    service.withdraw_approval(inspector, room_id, approval.id)
    # Then the rejection counts again, and the log says what was withdrawn
    detail, clearance = service.get_room(OWNER, room_id)
    assert [a.status for a in detail.approvals] == [ApprovalStatus.REJECTED]
    assert [b.kind for b in clearance.blockers] == [BlockerKind.REJECTED_APPROVAL]
    line = last_line(repos, room_id)
    assert (line.action, line.actor) == ("approval.withdrawn", inspector.email)
    assert line.detail == f"{approval.id}: approved: ok 👍, recorded by {inspector.email} at {approval.at}"


@pytest.mark.parametrize("role", [Role.BROKER, Role.OPERATOR])
def test_only_whoever_recorded_an_approval_or_an_owner_changes_or_withdraws_it(service, room_id, role):
    approval = service.add_approval(member(Role.INSPECTOR), room_id, ApprovalIn(status="approved"))
    with pytest.raises(Forbidden, match="only whoever recorded an approval, or an owner"):
        service.update_approval(member(role), room_id, approval.id, ApprovalPatch(status="pending"))
    with pytest.raises(Forbidden):
        service.withdraw_approval(member(role), room_id, approval.id)
    with pytest.raises(Forbidden):
        service.withdraw_approval(member(Role.VIEWER), room_id, approval.id)
    assert service.update_approval(OWNER, room_id, approval.id, ApprovalPatch(status="pending")).status == "pending"
    service.withdraw_approval(ADMIN, room_id, approval.id)
    assert service.get_room(OWNER, room_id)[0].approvals == []


# ---------------------------------------------------------------- parties


def test_brokers_correct_companies_but_not_roles_nor_an_owner(service, room_id):
    broker = member(Role.BROKER)
    changed = service.update_party(broker, room_id, member(Role.VIEWER).email, PartyPatch(company="Ελληνική Ναυτιλία"))
    assert changed.company == "Ελληνική Ναυτιλία"
    with pytest.raises(Forbidden):
        service.update_party(broker, room_id, member(Role.VIEWER).email, PartyPatch(role=Role.INSPECTOR))
    with pytest.raises(Forbidden, match="only an owner may change an owner's details"):
        service.update_party(broker, room_id, OWNER.email, PartyPatch(company="Mine now"))
    with pytest.raises(Forbidden):
        service.update_party(member(Role.OPERATOR), room_id, member(Role.VIEWER).email, PartyPatch(company="x"))


def test_a_role_and_a_company_change_together_in_one_line(repos, service, room_id):
    email = member(Role.VIEWER).email
    service.update_party(OWNER, room_id, email, PartyPatch(role=Role.INSPECTOR, company="Korea Marine 해운"))
    line = last_line(repos, room_id)
    assert (line.action, line.detail) == (
        "party.changed",
        f"{email}: role: viewer → inspector; company: Viewer Ltd → Korea Marine 해운",
    )


# ---------------------------------------------------------------- who may correct


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.VIEWER])
def test_roles_that_may_not_add_room_data_may_not_correct_it(service, room_id, role):
    service.add_vessel(OWNER, room_id, SEAWISE)
    q88 = document(service, room_id)
    caller = member(role)
    for correct in (
        lambda: service.update_room(caller, room_id, RoomPatch(location="Sohar anchorage")),
        lambda: service.update_vessel(caller, room_id, SEAWISE.imo, VesselPatch(flag="PA")),
        lambda: service.delete_vessel(caller, room_id, SEAWISE.imo),
        lambda: service.update_document(caller, room_id, q88, DocumentPatch(name="x")),
        lambda: service.delete_document(caller, room_id, q88),
    ):
        with pytest.raises(Forbidden):
            correct()


# ---------------------------------------------------------------- decided on what was read


def test_a_change_landing_between_the_read_and_the_write_makes_the_correction_read_again(repos, service, room_id):
    # Given a correction about to be written when another change lands first
    service.add_vessel(OWNER, room_id, SEAWISE)
    repos.rooms.before_write.append(
        lambda: repos.rooms.add_vessel(
            room_id,
            Vessel(**SEAWISE.model_dump(exclude={"imo"}), imo=RENUMBERED, added_at=utc_now()),
            rooms_module.activity(OWNER, "vessel.added", "concurrent"),
        )
    )
    reads = repos.rooms.reads["get_room_detail"]
    # When it is written
    service.update_vessel(OWNER, room_id, SEAWISE.imo, VesselPatch(flag="OM"))
    # Then it was decided again on a fresh read, and both changes are in
    assert repos.rooms.reads["get_room_detail"] == reads + 2
    assert {v.imo: v.flag for v in service.get_room(OWNER, room_id)[0].vessels} == {SEAWISE.imo: "OM", RENUMBERED: "AE"}


def test_a_room_that_keeps_changing_is_a_conflict_to_send_again(repos, service, room_id):
    service.add_vessel(OWNER, room_id, SEAWISE)

    def keeps_changing():
        room = repos.rooms.items[room_id]["META"]
        repos.rooms.items[room_id]["META"] = room.model_copy(update={"version": room.version + 1})
        repos.rooms.before_write.append(keeps_changing)

    repos.rooms.before_write.append(keeps_changing)
    with pytest.raises(RoomChanged, match="send it again"):
        service.update_vessel(OWNER, room_id, SEAWISE.imo, VesselPatch(flag="OM"))
    assert RoomChanged.status == 409


# ---------------------------------------------------------------- clearance in the room list


def test_the_room_list_judges_each_room_from_its_kept_facts_exactly_as_the_room_itself(repos, service, room_id):
    # Given a room with a missing document, an expired one, an approval and a rejection withdrawn
    document(service, room_id, "Q88", status=DocumentStatus.MISSING)
    document(service, room_id, "Class certificate", status=DocumentStatus.APPROVED, expires_on=date(2026, 1, 1))
    document(service, room_id, "Crew list", status=DocumentStatus.APPROVED)
    service.add_approval(OWNER, room_id, ApprovalIn(status="approved"))
    rejection = service.add_approval(member(Role.INSPECTOR), room_id, ApprovalIn(status="rejected"))
    service.withdraw_approval(member(Role.INSPECTOR), room_id, rejection.id)
    reads = repos.rooms.reads["get_room_detail"]
    # When the owner lists their rooms
    ((listed, clearance),) = service.list_rooms(OWNER)
    # Then the room is judged without reading its data, and the verdict is the room's own
    assert repos.rooms.reads["get_room_detail"] == reads
    _, own = service.get_room(OWNER, room_id)
    assert listed.id == room_id
    assert clearance.model_dump(exclude={"judged_at"}) == own.model_dump(exclude={"judged_at"})
    assert sorted(b.kind for b in clearance.blockers) == [BlockerKind.EXPIRED, BlockerKind.MISSING]


def test_a_room_without_kept_facts_is_judged_from_its_data(repos, service, room_id):
    del repos.rooms.facts[room_id]  # a room last changed before the facts were kept
    ((_, clearance),) = service.list_rooms(OWNER)
    assert [b.kind for b in clearance.blockers] == [BlockerKind.NO_APPROVAL]
    assert repos.rooms.reads["get_room_detail"] == 1


def test_kept_facts_judge_as_the_full_data_does_at_any_moment():
    # Given documents and approvals of every kind, judged at moments before, at and after the operation
    from roomsnap.models import ApprovalLine, DocumentLine

    documents = [
        DocumentLine(id=f"d{i}", name=f"D{i}", document_type="c", status=status, expires_on=expires)
        for i, (status, expires) in enumerate(
            [
                ("approved", None),
                ("approved", date(2026, 12, 10)),
                ("uploaded", date(2027, 3, 1)),
                ("expired", None),
                ("missing", None),
                ("rejected", date(2026, 12, 20)),
            ]
        )
    ]
    approvals = [
        ApprovalLine(id="a1", status="rejected", comment="", by="a@x.io", at="2026-12-01T00:00:00Z"),
        ApprovalLine(id="a2", status="approved", comment="", by="a@x.io", at="2026-12-02T00:00:00Z"),
        ApprovalLine(id="a3", status="pending", comment="", by="b@x.io", at="2026-12-02T00:00:00Z", document_id="d2"),
    ]
    facts = ClearanceFacts.model_validate_json(ClearanceFacts.of(documents, approvals).model_dump_json())
    operation = datetime(2026, 12, 15, 6, tzinfo=UTC)
    for day in (1, 11, 15, 25):
        moment = datetime(2026, 12, day, 12, tzinfo=UTC)
        assert facts.decide(operation, moment) == decide(documents, approvals, operation, moment), day
    assert len(facts.documents) == 5  # the approved document without an expiry day can never block
