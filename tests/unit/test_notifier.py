"""The notifier: stream records decoded into changes, and which changes become webhook events."""

import pytest

from roomsnap.dal.items import to_dynamo
from roomsnap.models import Snapshot, TaskStatus
from roomsnap.views import snapshot_view

from notifier.logic.changes import DocumentExpiring, TaskChange, change_of
from notifier.logic.webhooks import WebhookConsumer

AT = "2026-01-01T00:01:00.000Z"
SNAPSHOT = Snapshot(id="s1", room_id="r1", title="T", created_by="o@x.io", created_at="2026-01-01T00:00:00.000Z")


def image(snapshot: Snapshot) -> dict:
    keys = {"PK": "SNAP#s1", "SK": "SNAP", "GSI2PK": "ACTIVE", "entity": "snapshot", "expires_at": 1}
    return to_dynamo({**keys, **snapshot.model_dump(mode="json")})


def snapshot_in(status: TaskStatus, **fields) -> Snapshot:
    return SNAPSHOT.model_copy(update={"task_status": status, **fields})


def modify(old: Snapshot, new: Snapshot) -> dict:
    return {"eventName": "MODIFY", "dynamodb": {"OldImage": image(old), "NewImage": image(new)}}


class RecordingOutbox:
    def __init__(self):
        self.published: list[tuple] = []

    def publish(self, room_id, event_type, subject_id, timestamp, data):
        self.published.append((room_id, event_type, subject_id, timestamp, data))
        return [f"msg for {event_type}"]


def test_a_snapshot_record_is_a_task_change_with_the_snapshot_before_and_as_it_is_now():
    record = modify(snapshot_in(TaskStatus.RUNNING), snapshot_in(TaskStatus.COMPLETED, progress=100))
    record["dynamodb"]["ApproximateCreationDateTime"] = 1767225660
    change = change_of(record)
    assert change == TaskChange(
        snapshot_in(TaskStatus.RUNNING), snapshot_in(TaskStatus.COMPLETED, progress=100), "2026-01-01T00:01:00.000Z"
    )
    assert change.finished


def test_a_created_snapshot_has_nothing_before_and_a_deleted_one_is_as_it_was():
    created = change_of({"eventName": "INSERT", "dynamodb": {"NewImage": image(SNAPSHOT)}})
    deleted = change_of({"eventName": "REMOVE", "dynamodb": {"OldImage": image(SNAPSHOT)}})
    assert created == TaskChange(None, SNAPSHOT, created.at)
    assert deleted == TaskChange(SNAPSHOT, SNAPSHOT, deleted.at, removed=True)
    assert not created.finished
    assert not deleted.finished


def test_an_expiry_alert_insert_is_a_document_expiring_change():
    alert = {"room_id": "r1", "document_id": "d1", "day": "2026-01-01", "created_at": "now", "data": {"days_left": 3}}
    change = change_of(
        {"eventName": "INSERT", "dynamodb": {"NewImage": to_dynamo({"entity": "document_expiry", **alert})}}
    )
    assert isinstance(change, DocumentExpiring)
    assert change.alert.subject_id == "d1@2026-01-01"
    assert change.alert.data == {"days_left": 3}


@pytest.mark.parametrize(
    "stream_record",
    [
        {"eventName": "INSERT", "dynamodb": {"NewImage": to_dynamo({"PK": "ROOMLOG#r1", "entity": "activity"})}},
    ],
)
def test_other_writes_are_no_change(stream_record):
    assert change_of(stream_record) is None


@pytest.mark.parametrize(
    ("previous", "now", "event_type"),
    [
        (TaskStatus.RUNNING, TaskStatus.COMPLETED, "snapshot.completed"),
        (TaskStatus.RUNNING, TaskStatus.FAILED, "snapshot.failed"),
        (TaskStatus.PENDING, TaskStatus.FAILED, "snapshot.failed"),  # the cleanup fails a stuck task
        (TaskStatus.PENDING, TaskStatus.CANCELLED, "snapshot.cancelled"),
        (TaskStatus.RUNNING, TaskStatus.CANCELLED, "snapshot.cancelled"),
    ],
)
def test_terminal_transitions_are_published_with_the_snapshot_view(previous, now, event_type):
    outbox = RecordingOutbox()
    snapshot = snapshot_in(now, completed_at="2026-01-01T00:01:00.000Z")
    WebhookConsumer(outbox)(TaskChange(snapshot_in(previous), snapshot, AT))
    assert outbox.published == [("r1", event_type, "s1", "2026-01-01T00:01:00.000Z", snapshot_view(snapshot))]
    assert outbox.published[0][4]["task_id"] == "snapshot-s1"


@pytest.mark.parametrize(
    ("previous", "now"),
    [
        (TaskStatus.PENDING, TaskStatus.RUNNING),  # live progress, for another consumer
        (TaskStatus.RUNNING, TaskStatus.RUNNING),
        (TaskStatus.COMPLETED, TaskStatus.COMPLETED),  # a later write to a settled snapshot
        (TaskStatus.CANCELLED, TaskStatus.CANCELLED),
        (None, TaskStatus.PENDING),  # created
    ],
)
def test_the_webhook_consumer_decides_for_itself_whatever_the_filter_passes(previous, now):
    outbox = RecordingOutbox()
    assert WebhookConsumer(outbox)(TaskChange(previous and snapshot_in(previous), snapshot_in(now), AT)) == []
    assert outbox.published == []


def test_a_completed_snapshot_s_event_carries_the_clearance_it_printed_and_a_failed_one_none():
    # Given a completion whose PDF printed "not cleared", read back from the stream's image
    from datetime import UTC, datetime

    from roomsnap.clearance import decide
    from roomsnap.models import DocumentLine

    missing = DocumentLine(id="d1", name="Q88", document_type="questionnaire", status="missing")
    printed = decide([missing], [], datetime(2026, 12, 12, 6, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC))
    completed = snapshot_in(TaskStatus.COMPLETED, clearance=printed, completed_at=AT)
    failed = snapshot_in(TaskStatus.FAILED, error="the room is too large to print", completed_at=AT)
    outbox = RecordingOutbox()
    consumer = WebhookConsumer(outbox)  # type: ignore[arg-type]
    # When both reach the consumer through the stream
    for done in (completed, failed):
        consumer(change_of(modify(snapshot_in(TaskStatus.RUNNING), done)))
    # Then the completed one's data carries that verdict, blockers and all, and the failed one's none
    (_, kind, _, _, data), (_, failed_kind, _, _, failed_data) = outbox.published
    assert (kind, failed_kind) == ("snapshot.completed", "snapshot.failed")
    assert data["clearance"] == printed.model_dump(mode="json")
    assert data["clearance"]["blockers"][0]["kind"] == "missing"
    assert failed_data["clearance"] is None
