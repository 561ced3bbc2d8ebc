"""RoomService against an in-memory RoomRepository: who may do what in a room, the membership
cache, and the changes that make up a room's activity log."""

from datetime import UTC, datetime

import pytest

from roomsnap import access as access_module
from roomsnap.errors import BadRequest, Conflict, Forbidden, NotFound
from roomsnap.ids import new_id
from roomsnap.models import (
    Activity,
    ApprovalIn,
    ApprovalStatus,
    DocumentIn,
    DocumentPatch,
    DocumentStatus,
    PartyIn,
    PartyPatch,
    Role,
    RoomIn,
    VesselIn,
)
from roomsnap.permissions import ROLE_ACTIONS, Action

from api.logic import rooms as rooms_module
from api.logic.rooms import RoomService
from tests.unit.builders import ADMIN, OWNER, STRANGER, member, new_room
from tests.unit.fakes import Repositories

VESSEL = VesselIn(name="MT Seawise", imo="9074729", vessel_type="crude tanker", flag="MT")


@pytest.fixture
def service(repos: Repositories) -> RoomService:
    return RoomService(repos.rooms)


def party(email: str, role: Role) -> PartyIn:
    return PartyIn(email=email, company="Fleet Shipping", role=role)


def last_logged(repos: Repositories, room_id: str) -> Activity:
    """The room's latest activity line, as written (ids order lines only to the millisecond)."""
    return repos.rooms.logs[room_id][-1]


# ---------------------------------------------------------------- authorize


def test_an_admin_may_do_anything_in_an_existing_room_and_has_no_role(service, room_id):
    # When an admin, who is no party of the room, asks for each action
    # Then every one is allowed, with no role
    assert [service.authorize(ADMIN, room_id, action) for action in Action] == [None] * len(Action)


def test_an_admin_gets_404_for_a_missing_room(service):
    # When an admin asks for a room that does not exist
    # Then it is not found
    with pytest.raises(NotFound, match="room not found"):
        service.authorize(ADMIN, new_id(), Action.READ)


def test_a_non_member_gets_404_for_an_existing_room(service, room_id):
    # When someone who is no party of the room asks to read it
    with pytest.raises(NotFound) as refused:
        service.authorize(STRANGER, room_id, Action.READ)
    # Then the answer is the very one a missing room gets, so the room's existence does not leak
    with pytest.raises(NotFound) as missing:
        service.authorize(STRANGER, new_id(), Action.READ)
    assert (refused.value.status, refused.value.message) == (missing.value.status, missing.value.message)


@pytest.mark.parametrize("role", list(Role))
def test_a_member_may_do_exactly_what_the_role_allows(service, room_id, role):
    # When a party of the room with this role asks for each action
    allowed = []
    for action in Action:
        try:
            assert service.authorize(member(role), room_id, action) is role
            allowed.append(action)
        except Forbidden:
            pass
    # Then the actions let through are the role's, and only those
    assert set(allowed) == ROLE_ACTIONS[role]


def test_a_role_lacking_the_action_gets_403_with_a_plain_message(service, room_id):
    # When a viewer tries to change the room's data
    with pytest.raises(Forbidden) as refused:
        service.authorize(member(Role.VIEWER), room_id, Action.EDIT_ROOM)
    # Then it is a 403 that says why in words
    assert refused.value.status == 403
    assert refused.value.message == "a viewer may not edit room data in this room"


# ---------------------------------------------------------------- memberships, read on every request


def test_every_request_reads_the_membership_so_nothing_stale_is_kept(repos, service, room_id):
    # Given a member let in once
    service.authorize(member(Role.BROKER), room_id, Action.READ)
    # When the member asks again, for other actions
    service.authorize(member(Role.BROKER), room_id, Action.CREATE_SNAPSHOT)
    service.authorize(member(Role.BROKER), room_id, Action.DOWNLOAD)
    # Then the membership was read each time
    assert repos.rooms.reads["get_party"] == 3


def test_a_removed_party_is_refused_at_once_by_a_container_that_let_them_in(repos, service, room_id):
    # Given a container that let an operator in
    operator = member(Role.OPERATOR)
    assert service.authorize(operator, room_id, Action.EDIT_ROOM) is Role.OPERATOR
    # When another container removes them
    RoomService(repos.rooms).remove_party(OWNER, room_id, operator.email)
    # Then the first container refuses them on their next request, as a stranger
    with pytest.raises(NotFound):
        service.authorize(operator, room_id, Action.READ)


def test_a_demoted_party_loses_the_rights_of_their_old_role_at_once(repos, service, room_id):
    # Given an operator let in to edit
    operator = member(Role.OPERATOR)
    service.authorize(operator, room_id, Action.EDIT_ROOM)
    # When the owner makes them a viewer
    changed = RoomService(repos.rooms).update_party(OWNER, room_id, operator.email, PartyPatch(role=Role.VIEWER))
    # Then they may read but no longer edit
    assert changed.role is Role.VIEWER
    assert service.authorize(operator, room_id, Action.READ) is Role.VIEWER
    with pytest.raises(Forbidden):
        service.authorize(operator, room_id, Action.EDIT_ROOM)


def test_absences_are_not_cached_so_a_party_just_added_is_let_in_at_once(repos, service, room_id):
    # Given a container that refused a non-member
    with pytest.raises(NotFound):
        service.authorize(STRANGER, room_id, Action.READ)
    # When another container adds them as an operator
    RoomService(repos.rooms).add_party(OWNER, room_id, party(STRANGER.email, Role.OPERATOR))
    # Then the first container lets them in at once
    assert service.authorize(STRANGER, room_id, Action.EDIT_ROOM) is Role.OPERATOR


def test_a_membership_is_known_for_its_own_room_only(repos, service, room_id):
    # Given a broker known in one room
    service.authorize(member(Role.BROKER), room_id, Action.READ)
    other_room = new_room(repos.rooms, "Another room", roles=())
    # When the broker asks for another room they are no party of
    # Then it is not found
    with pytest.raises(NotFound):
        service.authorize(member(Role.BROKER), other_room, Action.READ)


def test_a_room_an_admin_was_refused_for_is_found_once_it_exists(repos, service):
    # Given an admin refused for a room id that is no room yet
    room_id = new_id()
    with pytest.raises(NotFound):
        service.authorize(ADMIN, room_id, Action.READ)
    # When a room with that id is created
    new_room(repos.rooms, room_id=room_id)
    # Then the admin is let in
    assert service.authorize(ADMIN, room_id, Action.READ) is None


def test_an_existing_room_is_looked_up_once_for_admins(repos, service, room_id):
    # When an admin asks for the same room three times
    for action in (Action.READ, Action.EDIT_ROOM, Action.DELETE_SNAPSHOT):
        service.authorize(ADMIN, room_id, action)
    # Then the room was read once
    assert repos.rooms.reads["get_room"] == 1


def test_the_rooms_known_to_admins_are_bounded_least_recently_used_first(repos, monkeypatch):
    # Given a bound of 2 and an admin who has looked at four rooms
    monkeypatch.setattr(access_module, "KNOWN_ROOMS_LIMIT", 2)
    service = RoomService(repos.rooms)
    rooms = [new_room(repos.rooms, roles=()) for _ in range(4)]
    for room_id in rooms:
        service.authorize(ADMIN, room_id, Action.READ)
    # When the admin comes back to the last room and then to the first
    service.authorize(ADMIN, rooms[3], Action.READ)
    service.authorize(ADMIN, rooms[0], Action.READ)
    # Then the last one was still known and the first was read again
    assert repos.rooms.reads["get_room"] == 5


# ---------------------------------------------------------------- readable


def test_readable_keeps_the_rooms_the_caller_is_a_party_of_in_one_batch_read(repos, service, room_id):
    # Given a room where the viewer is a party, one where it is not, and an id of no room
    elsewhere = new_room(repos.rooms, roles=())
    # When asked which of them the viewer may read
    readable = service.readable(member(Role.VIEWER), {room_id, elsewhere, new_id()})
    # Then only its own room, from one batch read
    assert readable == {room_id}
    assert repos.rooms.reads["roles_in"] == 1
    assert repos.rooms.reads["get_party"] == 0


def test_readable_lets_an_admin_read_every_room_asked_about_without_reading(repos, service, room_id):
    # When an admin asks about rooms it is no party of
    asked = {room_id, new_room(repos.rooms, roles=())}
    # Then they are all readable, and the table was not asked
    assert service.readable(ADMIN, asked) == asked
    assert repos.rooms.reads["roles_in"] == 0


# ---------------------------------------------------------------- rooms


def test_create_room_makes_the_creator_its_owner_and_logs_its_creation(repos, service):
    # When someone creates a room
    data = RoomIn(title="STS Malta", location="Hurd's Bank", operation_time=datetime(2026, 12, 1, 6, tzinfo=UTC))
    room = service.create_room(STRANGER, data)
    # Then the creator is its owner, from the moment it exists
    owner = repos.rooms.get_party(room.id, STRANGER.email)
    assert owner is not None
    assert (owner.role, owner.added_at) == (Role.OWNER, room.created_at)
    assert service.authorize(STRANGER, room.id, Action.MANAGE_PARTIES) is Role.OWNER
    # And the room records who made it when, and its log says so
    assert (room.created_by, room.updated_at) == (STRANGER.email, room.created_at)
    assert room.operation_time == "2026-12-01T06:00:00+00:00"
    (line,) = repos.rooms.room_changes(room.id)
    assert (line.action, line.detail, line.actor, line.at) == (
        "room.created",
        "STS Malta",
        STRANGER.email,
        room.created_at,
    )


def test_a_room_is_listed_for_its_parties_and_admins_only(service, room_id):
    # When its viewer, a stranger and an admin list their rooms
    # Then the room is on the viewer's and the admin's lists only
    assert [room.id for room, _ in service.list_rooms(member(Role.VIEWER))] == [room_id]
    assert service.list_rooms(STRANGER) == []
    assert [room.id for room, _ in service.list_rooms(ADMIN)] == [room_id]


def test_get_room_holds_what_the_room_holds(service, room_id):
    # Given a vessel added to the room
    service.add_vessel(OWNER, room_id, VESSEL)
    # When a viewer reads the room
    detail, _ = service.get_room(member(Role.VIEWER), room_id)
    # Then it holds its parties and the vessel
    assert {p.email: p.role for p in detail.parties} == {member(role).email: role for role in Role}
    assert [v.imo for v in detail.vessels] == ["9074729"]


def test_a_non_member_cannot_read_the_room(service, room_id):
    # When a stranger reads the room
    # Then it is not found
    with pytest.raises(NotFound):
        service.get_room(STRANGER, room_id)


# ---------------------------------------------------------------- parties


def test_only_an_owner_may_add_another_owner(repos, service, room_id):
    # Given the room's log
    lines = len(repos.rooms.logs[room_id])
    # When a broker, who may manage parties, tries to add an owner
    with pytest.raises(Forbidden, match="^only an owner may add another owner$"):
        service.add_party(member(Role.BROKER), room_id, party(STRANGER.email, Role.OWNER))
    # Then nobody was added and nothing logged
    assert repos.rooms.get_party(room_id, STRANGER.email) is None
    assert len(repos.rooms.logs[room_id]) == lines


@pytest.mark.parametrize("adder", [OWNER, ADMIN], ids=["owner", "admin"])
def test_an_owner_or_an_admin_may_add_another_owner(service, room_id, adder):
    # When an owner or an admin adds an owner
    added = service.add_party(adder, room_id, party(STRANGER.email, Role.OWNER))
    # Then the new owner may do what owners do
    assert added.role is Role.OWNER
    assert service.authorize(STRANGER, room_id, Action.MANAGE_PARTIES) is Role.OWNER


def test_a_broker_may_add_a_party_below_owner_and_the_log_says_so(repos, service, room_id):
    # When a broker adds an inspector
    added = service.add_party(member(Role.BROKER), room_id, party("new@example.com", Role.INSPECTOR))
    # Then the party is in, and the log names who, from which company, as what
    assert repos.rooms.get_party(room_id, "new@example.com") == added
    line = last_logged(repos, room_id)
    assert (line.action, line.actor, line.at) == ("party.added", member(Role.BROKER).email, added.added_at)
    assert line.detail == "new@example.com (Fleet Shipping) as inspector"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.INSPECTOR, Role.VIEWER])
def test_roles_below_broker_may_not_add_parties(service, room_id, role):
    # When a party below broker adds someone
    # Then it is refused
    with pytest.raises(Forbidden):
        service.add_party(member(role), room_id, party(STRANGER.email, Role.VIEWER))


def test_adding_a_party_twice_is_a_conflict(service, room_id):
    # When the room's viewer is added again
    # Then it is a conflict, not a change of role
    with pytest.raises(Conflict):
        service.add_party(OWNER, room_id, party(member(Role.VIEWER).email, Role.BROKER))


# ---------------------------------------------------------------- vessels, documents, approvals


def test_adding_a_vessel_logs_it_and_counts_a_new_version_of_the_room(repos, service, room_id):
    # Given the room's version
    before = repos.rooms.room_version(room_id)
    # When an operator adds a vessel
    vessel = service.add_vessel(member(Role.OPERATOR), room_id, VESSEL)
    # Then the room is one version further, and its log says what was added
    assert repos.rooms.room_version(room_id) == before + 1
    line = last_logged(repos, room_id)
    assert (line.action, line.detail, line.at) == ("vessel.added", "MT Seawise (IMO 9074729)", vessel.added_at)


def test_an_inspector_may_not_edit_the_room(service, room_id):
    # When an inspector adds a vessel
    # Then it is refused
    with pytest.raises(Forbidden):
        service.add_vessel(member(Role.INSPECTOR), room_id, VESSEL)


def test_a_document_added_then_approved_is_logged_twice(repos, service, room_id):
    # Given a document added by an operator
    data = DocumentIn(name="Q88", document_type="questionnaire", status=DocumentStatus.UPLOADED)
    document = service.add_document(member(Role.OPERATOR), room_id, data)
    # When its status is set
    changed = service.update_document(OWNER, room_id, document.id, DocumentPatch(status=DocumentStatus.APPROVED))
    # Then the room holds the new status and the log holds both changes, the second from what to what
    assert (changed.id, changed.status, changed.updated_at) == (document.id, "approved", last_logged(repos, room_id).at)
    assert [d.status for d in service.get_room(OWNER, room_id)[0].documents] == [DocumentStatus.APPROVED]
    lines = [(line.action, line.detail) for line in repos.rooms.logs[room_id][-2:]]
    assert lines == [
        ("document.added", "Q88 (questionnaire): uploaded"),
        ("document.status", "Q88: status: uploaded → approved"),
    ]


def test_setting_the_status_of_a_missing_document_is_404(service, room_id):
    # When the status of a document the room does not hold is set
    # Then it is not found
    with pytest.raises(NotFound, match="document not found"):
        service.update_document(OWNER, room_id, new_id(), DocumentPatch(status=DocumentStatus.APPROVED))


def test_an_approval_is_recorded_by_its_author_and_logged_with_its_comment(repos, service, room_id):
    # When an inspector approves with a comment
    approval = service.add_approval(
        member(Role.INSPECTOR), room_id, ApprovalIn(status=ApprovalStatus.APPROVED, comment="Hoses checked")
    )
    # Then the approval is the inspector's, and the log carries status and comment
    assert (approval.by, approval.at) == (member(Role.INSPECTOR).email, last_logged(repos, room_id).at)
    assert last_logged(repos, room_id).detail == "approved: Hoses checked"


def test_an_approval_without_a_comment_is_logged_as_its_status_alone(repos, service, room_id):
    # When a rejection is recorded without a comment
    service.add_approval(OWNER, room_id, ApprovalIn(status=ApprovalStatus.REJECTED))
    # Then the log line is the status, with no dangling separator
    assert last_logged(repos, room_id).detail == "rejected"


def test_a_viewer_may_not_record_approvals(service, room_id):
    # When a viewer records an approval
    # Then it is refused
    with pytest.raises(Forbidden):
        service.add_approval(member(Role.VIEWER), room_id, ApprovalIn())


# ---------------------------------------------------------------- the activity log


def test_list_activity_is_for_parties_only(service, room_id):
    # When a stranger reads the room's log
    # Then the room is not found
    with pytest.raises(NotFound):
        service.list_activity(STRANGER, room_id, limit=10, cursor=None)


def test_list_activity_pages_newest_first_including_audit_lines(repos, service, room_id):
    # Given a room with a creation line, four party lines and an audit line
    service.audit(room_id, rooms_module.activity(OWNER, "snapshot.downloaded", "s1", category="audit"))
    # When a viewer reads the log four lines at a time
    first, cursor = service.list_activity(member(Role.VIEWER), room_id, limit=4, cursor=None)
    rest, end = service.list_activity(member(Role.VIEWER), room_id, limit=4, cursor=cursor)
    # Then the pages hold every line once, the newer ones first
    assert sorted(line.id for line in first + rest) == sorted(line.id for line in repos.rooms.logs[room_id])
    assert (len(first), len(rest), end) == (4, 2, None)
    assert min(line.at for line in first) >= max(line.at for line in rest)


def test_a_cursor_of_another_room_is_a_bad_request(repos, service, room_id):
    # Given a cursor of another room's log
    other = new_room(repos.rooms)
    _, cursor = service.list_activity(OWNER, other, limit=1, cursor=None)
    # When it is used on this room's log
    # Then it is refused
    with pytest.raises(BadRequest, match="invalid cursor"):
        service.list_activity(OWNER, room_id, limit=1, cursor=cursor)


# ---------------------------------------------------------------- changing and removing parties


def test_an_owner_changes_a_role_and_the_log_says_from_what_to_what(repos, service, room_id):
    service.update_party(OWNER, room_id, member(Role.OPERATOR).email, PartyPatch(role=Role.INSPECTOR))
    assert repos.rooms.get_party(room_id, member(Role.OPERATOR).email).role is Role.INSPECTOR
    (line,) = [line for line in repos.rooms.room_changes(room_id) if line.action == "party.role_changed"]
    assert line.detail == f"{member(Role.OPERATOR).email}: operator → inspector"


def test_emails_in_a_party_path_match_whatever_their_case(repos, service, room_id):
    email = member(Role.OPERATOR).email.upper()
    service.remove_party(OWNER, room_id, email)
    assert repos.rooms.get_party(room_id, member(Role.OPERATOR).email) is None


@pytest.mark.parametrize("role", [Role.BROKER, Role.OPERATOR, Role.INSPECTOR, Role.VIEWER])
def test_only_owners_change_or_remove_parties(service, room_id, role):
    with pytest.raises(Forbidden):
        service.remove_party(member(role), room_id, member(Role.VIEWER).email)
    with pytest.raises(Forbidden):
        service.update_party(member(role), room_id, member(Role.VIEWER).email, PartyPatch(role=Role.OWNER))


def test_an_admin_may_remove_a_party(repos, service, room_id):
    service.remove_party(ADMIN, room_id, member(Role.VIEWER).email)
    assert repos.rooms.get_party(room_id, member(Role.VIEWER).email) is None


def test_the_last_owner_can_be_neither_demoted_nor_removed(repos, service, room_id):
    with pytest.raises(Conflict, match="at least one owner"):
        service.update_party(OWNER, room_id, OWNER.email, PartyPatch(role=Role.BROKER))
    with pytest.raises(Conflict, match="at least one owner"):
        service.remove_party(OWNER, room_id, OWNER.email)
    assert repos.rooms.get_party(room_id, OWNER.email).role is Role.OWNER


def test_with_two_owners_one_may_step_down(repos, service, room_id):
    service.update_party(OWNER, room_id, member(Role.BROKER).email, PartyPatch(role=Role.OWNER))
    service.remove_party(OWNER, room_id, OWNER.email)
    assert repos.rooms.get_party(room_id, OWNER.email) is None


def test_a_party_that_is_not_in_the_room_is_404(service, room_id):
    with pytest.raises(NotFound, match="not a party"):
        service.remove_party(OWNER, room_id, "nobody@example.com")


def test_a_removed_party_can_be_added_again(repos, service, room_id):
    email = member(Role.VIEWER).email
    service.remove_party(OWNER, room_id, email)
    service.add_party(OWNER, room_id, PartyIn(email=email, company="Back", role=Role.INSPECTOR))
    assert repos.rooms.get_party(room_id, email).role is Role.INSPECTOR


@pytest.mark.parametrize(("role", "article"), [(Role.INSPECTOR, "an"), (Role.OPERATOR, "an"), (Role.VIEWER, "a")])
def test_a_refusal_reads_as_a_sentence(service, room_id, role, article):
    with pytest.raises(Forbidden, match=f"^{article} {role.value} may not"):
        service.authorize(member(role), room_id, Action.CHANGE_PARTIES)
