"""The content hash covers everything a snapshot prints and nothing it does not."""

import subprocess
import sys
from datetime import date
from enum import Enum

import pytest

from roomsnap.content import gather
from roomsnap.errors import PermanentRenderError, TransientError
from roomsnap.hashing import content_hash
from roomsnap.models import Activity, Approval, Document, Party, RoomDetail, Snapshot, Vessel

ROOM_ID = "01m8gj9p3fzgz3gbmpmz9xbb6m"
TODAY = date(2026, 11, 28)


class FakeRooms:
    """The data-access boundary, faked: returns the room it was given."""

    def __init__(self, detail: RoomDetail, activity: list[Activity]):
        self.detail, self.activity = detail, activity

    def get_room_detail(self, room_id):
        return self.detail

    def room_changes(self, room_id):
        return self.activity

    def room_version(self, room_id):
        return self.detail.version


def room(**changes) -> tuple[RoomDetail, list[Activity]]:
    detail = RoomDetail(
        id=ROOM_ID,
        title="STS Malta",
        location="Hurd's Bank",
        operation_time="2026-12-01T06:00:00+00:00",
        created_by="owner@x.io",
        created_at="2026-11-01T00:00:00.000Z",
        updated_at="2026-11-20T10:00:00.000Z",
        parties=[
            Party(email="owner@x.io", company="Owner Co", role="owner", added_at="2026-11-01T00:00:00.000Z"),
            Party(email="insp@x.io", company="Inspect Ltd", role="inspector", added_at="2026-11-02T00:00:00.000Z"),
        ],
        vessels=[
            Vessel(name="Seawise", imo="9074729", vessel_type="tanker", flag="MT", added_at="2026-11-03T00:00:00.000Z")
        ],
        documents=[
            Document(
                id="01m8gj9p3fzgz3gbmpmz9xbb6a",
                name="Q88",
                document_type="questionnaire",
                status="approved",
                expires_on="2027-01-01",
                vessel_imo="9074729",
                updated_at="2026-11-04T00:00:00.000Z",
            )
        ],
        approvals=[
            Approval(
                id="01m8gj9p3fzgz3gbmpmz9xbb6b",
                status="approved",
                comment="ok",
                by="insp@x.io",
                at="2026-11-05T00:00:00.000Z",
            )
        ],
    )
    activity = [
        Activity(
            id="01m8gj9p3fzgz3gbmpmz9xbb6c",
            at="2026-11-05T00:00:00.000Z",
            actor="insp@x.io",
            action="approval.recorded",
            detail="approved: ok",
        )
    ]
    for path, value in changes.items():
        target = detail
        *parents, leaf = path.split(".")
        for part in parents:
            target = activity if part == "activity" else target[int(part)] if part.isdigit() else getattr(target, part)
        current = getattr(target, leaf)
        setattr(target, leaf, type(current)(value) if isinstance(current, Enum) else value)
    return detail, activity


def snapshot(**flags) -> Snapshot:
    return Snapshot(
        id="01m8gj9p3fzgz3gbmpmz9xbb6z",
        room_id=ROOM_ID,
        title="Pre-transfer",
        created_by="owner@x.io",
        created_at="2026-11-28T00:00:00Z",
        **flags,
    )


def digest(detail, activity, snap=None, today=TODAY) -> str:
    content, _ = gather(FakeRooms(detail, activity), snap or snapshot(), today)
    return content_hash(content, "t1", "rl1")


BASE = digest(*room())


@pytest.mark.parametrize(
    "printed_change",
    [
        {"title": "Other"},
        {"location": "Elsewhere"},
        {"operation_time": "2026-12-02T06:00:00+00:00"},
        {"updated_at": "2026-11-21T10:00:00.000Z"},
        {"parties.0.email": "new@x.io"},
        {"parties.0.company": "Other Co"},
        {"parties.1.role": "viewer"},
        {"vessels.0.name": "Other"},
        {"vessels.0.imo": "9074730"},
        {"vessels.0.vessel_type": "bulk"},
        {"vessels.0.flag": "PA"},
        {"documents.0.name": "Q88 v2"},
        {"documents.0.document_type": "other"},
        {"documents.0.status": "rejected"},
        {"documents.0.expires_on": date(2027, 2, 1)},
        {"documents.0.vessel_imo": None},
        {"approvals.0.status": "rejected"},
        {"approvals.0.comment": "not ok"},
        {"approvals.0.by": "owner@x.io"},
        {"approvals.0.at": "2026-11-06T00:00:00.000Z"},
        {"activity.0.at": "2026-11-06T00:00:00.000Z"},
        {"activity.0.actor": "owner@x.io"},
        {"activity.0.action": "other"},
        {"activity.0.detail": "other"},
    ],
)
def test_every_printed_field_changes_the_hash(printed_change):
    assert digest(*room(**printed_change)) != BASE


@pytest.mark.parametrize(
    "unprinted_change",
    [
        {"id": "01m8gj9p3fzgz3gbmpmz9xbb60"},
        {"created_by": "someone@x.io"},
        {"created_at": "2020-01-01T00:00:00.000Z"},
        {"parties.0.added_at": "2020-01-01T00:00:00.000Z"},
        {"vessels.0.added_at": "2020-01-01T00:00:00.000Z"},
        {"documents.0.updated_at": "2020-01-01T00:00:00.000Z"},
        {"activity.0.id": "01m8gj9p3fzgz3gbmpmz9xbb63"},
    ],
)
def test_nothing_unprinted_changes_the_hash(unprinted_change):
    assert digest(*room(**unprinted_change)) == BASE


def test_who_asked_and_when_do_not_change_the_hash_but_the_title_and_sections_do():
    detail, activity = room()
    same = Snapshot(
        **{
            **snapshot().model_dump(),
            "id": "01m8gj9p3fzgz3gbmpmz9xbb6y",
            "created_by": "x@y.io",
            "created_at": "2027-01-01T00:00:00Z",
        }
    )
    assert digest(detail, activity, same) == BASE
    assert digest(detail, activity, Snapshot(**{**snapshot().model_dump(), "title": "Other"})) != BASE
    for flag in ("include_documents", "include_approvals", "include_activity"):
        assert digest(detail, activity, snapshot(**{flag: False})) != BASE


def test_the_day_expiry_is_checked_on_and_the_versions_are_part_of_the_hash():
    detail, activity = room()
    assert digest(detail, activity, today=date(2026, 11, 29)) != BASE
    content, _ = gather(FakeRooms(detail, activity), snapshot(), TODAY)
    assert content_hash(content, "t2", "rl1") != BASE
    assert content_hash(content, "t1", "rl2") != BASE


def test_the_order_records_arrive_in_does_not_change_the_hash():
    detail, activity = room()
    detail.parties.reverse()
    detail.vessels.append(Vessel(name="Alpha", imo="9176187", vessel_type="tanker", flag="GR", added_at="x"))
    forward = digest(detail, activity)
    detail.vessels.reverse()
    assert digest(detail, activity) == forward


def test_the_hash_is_stable_across_processes():
    code = "import sys; sys.path[:0] = sys.argv[1:];import test_content_hash as t; print(t.BASE)"
    here = __import__("pathlib").Path(__file__).parent
    paths = [str(here), *[p for p in sys.path if "layers" in p or "functions" in p]]
    out = subprocess.run(
        [sys.executable, "-c", code, *paths],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )
    assert out.stdout.strip() == BASE


def test_a_room_over_the_row_budget_fails_at_once_with_a_plain_reason():
    detail, activity = room()
    lines = [Activity(id=f"{i:026d}", at="2026-11-01T00:00:00Z", actor="o@x.io", action="x") for i in range(5000)]
    with pytest.raises(PermanentRenderError, match=r"too large to print: 50\d\d rows / \d+ characters; the limit"):
        gather(FakeRooms(detail, lines), snapshot(), TODAY)


def test_a_room_over_the_character_budget_fails_at_once_with_a_plain_reason():
    detail, _ = room()
    long_lines = [Activity(id=f"{i:026d}", at="x", actor="o@x.io", action="x", detail="y" * 2000) for i in range(501)]
    with pytest.raises(PermanentRenderError, match="the limit is 5000 rows and 1,000,000 characters"):
        gather(FakeRooms(detail, long_lines), snapshot(), TODAY)
    # And the same room with the activity left out prints
    assert gather(FakeRooms(detail, long_lines), snapshot(include_activity=False), TODAY)


class ChangingRooms(FakeRooms):
    """A room whose version moves on while it is being read, `changes` times."""

    def __init__(self, detail, activity, changes: int):
        super().__init__(detail, activity)
        self.changes = changes

    def room_version(self, room_id):
        if self.changes:
            self.changes -= 1
            self.detail = self.detail.model_copy(update={"version": self.detail.version + 1})
        return self.detail.version


def test_a_room_that_changed_while_it_was_read_is_read_again():
    detail, activity = room()
    content, version = gather(ChangingRooms(detail, activity, changes=2), snapshot(), TODAY)
    assert version == detail.version + 2


def test_a_room_that_keeps_changing_is_retried_later():
    detail, activity = room()
    with pytest.raises(TransientError, match="kept changing"):
        gather(ChangingRooms(detail, activity, changes=10), snapshot(), TODAY)
