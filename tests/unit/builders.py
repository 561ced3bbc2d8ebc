"""Given steps shared by the unit tests of the services: callers, rooms and snapshots, written
straight to the fakes (tests/unit/fakes.py), so no service has seen them before the test does."""

import hashlib

from roomsnap.access import Caller
from roomsnap.ids import new_id
from roomsnap.models import Party, Role, Room, Snapshot, utc_now

from api.logic.rooms import activity
from tests.unit.fakes import FakeRooms, Repositories

OWNER = Caller("owner@example.com", is_admin=False)
ADMIN = Caller("admin@example.com", is_admin=True)
STRANGER = Caller("stranger@example.com", is_admin=False)
OTHER_ROLES = (Role.BROKER, Role.OPERATOR, Role.INSPECTOR, Role.VIEWER)


def member(role: Role) -> Caller:
    """The party with this role in a room made by `new_room` (its owner is OWNER)."""
    return OWNER if role is Role.OWNER else Caller(f"{role.value}@example.com", is_admin=False)


def new_room(
    rooms: FakeRooms, title: str = "STS Malta", roles: tuple[Role, ...] = OTHER_ROLES, room_id: str | None = None
) -> str:
    """A room made by OWNER, with a party of each of `roles` besides."""
    now = utc_now()
    room = Room(
        id=room_id or new_id(),
        title=title,
        location="Hurd's Bank",
        operation_time="2026-12-01T06:00:00+00:00",
        created_by=OWNER.email,
        created_at=now,
        updated_at=now,
    )
    owner = Party(email=OWNER.email, company="Owner Shipping", role=Role.OWNER, added_at=now)
    rooms.create_room(room, owner, activity(OWNER, "room.created", title, at=now))
    for role in roles:
        party = Party(email=member(role).email, company=f"{role.value.title()} Ltd", role=role, added_at=now)
        rooms.add_party(room.id, party, activity(OWNER, "party.added", party.email))
    return room.id


def new_snapshot(
    repos: Repositories, room_id: str, title: str = "Before transfer", created_at: str | None = None, **fields
) -> Snapshot:
    """A snapshot just created (pending), with its audit line, as SnapshotService.create writes it."""
    snapshot = Snapshot(
        id=new_id(), room_id=room_id, title=title, created_by=OWNER.email, created_at=created_at or utc_now(), **fields
    )
    audit = activity(OWNER, "snapshot.created", snapshot.id, category="audit", at=snapshot.created_at)
    repos.snapshots.create(snapshot, audit, guards=[])
    return snapshot


def rendered(repos: Repositories, snapshot: Snapshot, pdf: bytes = b"%PDF-1.7 a snapshot") -> Snapshot:
    """The snapshot as a renderer leaves it: claimed, its PDF stored under its hash, completed."""
    content_hash = hashlib.sha256(pdf).hexdigest()
    repos.pdfs.put_if_absent(content_hash, pdf)
    claimed = repos.snapshots.claim(snapshot.id, lease_seconds=30)
    completed = repos.snapshots.complete(claimed, content_hash, {}, file_size=len(pdf), cache_layer="rendered")
    assert completed is not None
    return completed
