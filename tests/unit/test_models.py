import re

import pytest
from pydantic import ValidationError

from roomsnap.ids import new_id
from roomsnap.models import ID_PATTERN, RoomIn, Snapshot, SnapshotIn, TaskStatus, VesselIn


def test_imo_numbers_are_checked_by_their_check_digit():
    # Given a real IMO number and the same number with a wrong last digit
    valid = VesselIn(name="Seawise", imo="IMO 9074729", vessel_type="tanker", flag="MT")
    # Then the valid one is normalised to its seven digits and the other is refused
    assert valid.imo == "9074729"
    with pytest.raises(ValidationError, match="check digit"):
        VesselIn(name="Seawise", imo="9074728", vessel_type="tanker", flag="MT")


def test_unknown_fields_and_wrong_types_are_rejected():
    with pytest.raises(ValidationError):
        SnapshotIn(title="t", colour="red")
    with pytest.raises(ValidationError):
        SnapshotIn(title="t", snapshot_type="docx")
    with pytest.raises(ValidationError):
        RoomIn(title="   ", location="x", operation_time="2026-01-01T00:00:00Z")


def test_snapshot_flags_default_to_true():
    data = SnapshotIn(title="Status")
    assert data.include_documents
    assert data.include_activity
    assert data.include_approvals


@pytest.mark.parametrize(
    ("task_status", "legacy_status"),
    [
        ("pending", "generating"),
        ("running", "generating"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "cancelled"),
    ],
)
def test_legacy_status_is_generating_until_the_task_is_terminal(task_status, legacy_status):
    snapshot = Snapshot(
        id=new_id(),
        room_id=new_id(),
        title="t",
        created_by="a@b.co",
        created_at="x",
        task_status=TaskStatus(task_status),
    )
    assert snapshot.status == legacy_status
    assert snapshot.task_id == f"snapshot-{snapshot.id}"


def test_ids_match_their_pattern_and_sort_by_creation_time():
    ids = [new_id() for _ in range(200)]
    assert all(re.fullmatch(ID_PATTERN, value) for value in ids)
    assert len(set(ids)) == 200
    # ids minted in later milliseconds sort later
    assert ids[0][:10] <= ids[-1][:10]


def test_an_id_made_for_a_moment_sorts_with_that_moment():
    from datetime import UTC, datetime, timedelta

    moment = datetime(2026, 12, 1, 19, 26, 0, 123000, tzinfo=UTC)
    ids = [new_id(moment + timedelta(milliseconds=n)) for n in (2, 0, 1)]
    assert sorted(ids) == [ids[1], ids[2], ids[0]]
