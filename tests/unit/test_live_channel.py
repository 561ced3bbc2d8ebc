"""The live channel: which task changes become events on a room's channel, how a batch publishes them,
and who the on-subscribe handler admits (the same people the API lets read the room)."""

from dataclasses import dataclass

import pytest
from aws_lambda_powertools.event_handler.events_appsync.exceptions import UnauthorizedException

from roomsnap.access import RoomAccess
from roomsnap.dal.live_channels import LiveChannels, PublishFailed
from roomsnap.models import Role, Snapshot, TaskStatus

from notifier.logic.changes import TaskChange
from notifier.logic.live import LiveConsumer
from tests.unit import function_modules
from tests.unit.builders import ADMIN, OWNER, STRANGER, member, new_room
from tests.unit.fakes import FakeRooms

AT = "2026-01-01T00:00:01.000Z"


def snapshot(room_id: str = "r1", **fields) -> Snapshot:
    return Snapshot(id="s1", room_id=room_id, title="T", created_by="o@x.io", created_at=AT, **fields)


class RecordingChannels(LiveChannels):
    """The real fan-out over channels (publish_all), with each channel's publish recorded instead of sent."""

    def __init__(self, failing: set[str] = frozenset()):
        super().__init__("http://127.0.0.1:9/event", timeout_seconds=1)
        self.published: list[tuple[str, list[dict]]] = []
        self.failing = failing

    def publish(self, channel: str, events: list[dict]) -> None:
        if channel in self.failing:
            raise PublishFailed("endpoint unreachable")
        self.published.append((channel, events))


def test_every_visible_change_of_a_batch_is_published_per_room_in_order_at_the_end():
    channels = RecordingChannels()
    live = LiveConsumer(channels)
    pending = snapshot()
    running = snapshot(task_status=TaskStatus.RUNNING, progress=10, stage="Gathering room data")
    done = snapshot(
        task_status=TaskStatus.COMPLETED, progress=100, stage="Completed", completed_at="2026-01-01T00:00:02.500Z"
    )
    live(TaskChange(None, pending, AT))
    live(TaskChange(pending, running, AT))
    live(TaskChange(running, done, AT))
    live(TaskChange(None, snapshot("r2"), AT))
    assert channels.published == []  # nothing is sent before the batch is through

    assert live.flush() == 4
    assert sorted(channel for channel, _ in channels.published) == ["/rooms/r1", "/rooms/r2"]  # side by side
    channels.published.sort()
    events = channels.published[0][1]
    assert [(e["status"], e["progress"], e["stage"]) for e in events] == [
        ("pending", 0, "Queued, waiting for a renderer"),
        ("running", 10, "Gathering room data"),
        ("completed", 100, "Completed"),
    ]
    assert events[2] == {
        "task_id": "snapshot-s1",
        "snapshot_id": "s1",
        "status": "completed",
        "progress": 100,
        "stage": "Completed",
        "at": "2026-01-01T00:00:02.500Z",  # when the renderer finished, not when the stream told
    }
    assert live.flush() == 0  # a batch's events are sent once


def test_writes_a_watcher_cannot_see_are_not_published_and_a_deletion_is():
    channels = RecordingChannels()
    live = LiveConsumer(channels)
    done = snapshot(task_status=TaskStatus.COMPLETED, progress=100, stage="Completed", completed_at=AT)
    live(TaskChange(done, done.model_copy(update={"file_size": 10}), AT))  # e.g. a later bookkeeping write
    live(TaskChange(done, done, AT, removed=True))
    live.flush()
    assert [e["status"] for _, events in channels.published for e in events] == ["deleted"]


def test_a_failed_publish_is_dropped_without_failing_the_batch_or_the_other_rooms():
    channels = RecordingChannels(failing={"/rooms/r1"})
    live = LiveConsumer(channels)
    live(TaskChange(None, snapshot("r1"), AT))
    live(TaskChange(None, snapshot("r2"), AT))
    assert live.flush() == 1
    assert [channel for channel, _ in channels.published] == ["/rooms/r2"]


def test_events_go_out_five_per_request_and_a_refused_one_is_a_failure(monkeypatch):
    channels = LiveChannels("http://127.0.0.1:9/event", timeout_seconds=1)
    bodies: list[dict] = []

    def post(body):
        bodies.append(body)
        return {"successful": [{"index": i} for i in range(len(body["events"]))], "failed": []}

    monkeypatch.setattr(channels, "_post", post)
    channels.publish("/rooms/r1", [{"n": n} for n in range(12)])
    assert [len(body["events"]) for body in bodies] == [5, 5, 2]
    assert bodies[0]["events"][0] == '{"n": 0}'  # each event is a JSON string, as AppSync Events wants

    monkeypatch.setattr(channels, "_post", lambda body: {"successful": [], "failed": [{"index": 0}]})
    with pytest.raises(PublishFailed):
        channels.publish("/rooms/r1", [{"n": 1}])


# ---------------------------------------------------------------------- on-subscribe


@dataclass
class LambdaContext:
    function_name: str = "SubscribeFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:subscribe"
    aws_request_id: str = "request-1"


@pytest.fixture(scope="module")
def subscribe_handler():
    return function_modules.load("subscribe")


@pytest.fixture
def room(subscribe_handler, monkeypatch):
    rooms = FakeRooms()
    monkeypatch.setattr(subscribe_handler, "access", RoomAccess(rooms))  # type: ignore[arg-type]
    return new_room(rooms)


def subscribe(handler, channel: str, email: str, admin: bool = False, verified: bool = True):
    claims = {
        "sub": "u",
        "email": email,
        "email_verified": verified,
        **({"cognito:groups": ["admin"]} if admin else {}),
    }
    event = {
        "identity": {"sub": "u", "issuer": "https://idp", "claims": claims},
        "info": {
            "channel": {"path": channel, "segments": channel.strip("/").split("/")},
            "channelNamespace": {"name": "rooms"},
            "operation": "SUBSCRIBE",
        },
        "request": {"headers": {}, "domainName": None},
        "stash": {},
        "outErrors": [],
        "events": None,
    }
    return handler.lambda_handler(event, LambdaContext())


@pytest.mark.parametrize("caller", [OWNER, member(Role.VIEWER), member(Role.INSPECTOR), ADMIN])
def test_parties_and_admins_are_admitted_to_the_rooms_channel(subscribe_handler, room, caller):
    assert subscribe(subscribe_handler, f"/rooms/{room}", caller.email, admin=caller.is_admin) is None


@pytest.mark.parametrize(
    ("channel", "email", "verified"),
    [
        ("/rooms/{room}", STRANGER.email, True),  # not a party
        ("/rooms/{room}", OWNER.email, False),  # the owner's email, unverified
        ("/rooms/*", OWNER.email, True),  # every room's events
        ("/rooms/{room}/*", OWNER.email, True),
        ("/rooms", OWNER.email, True),
        ("/rooms/not-a-room-id", OWNER.email, True),
    ],
)
def test_anyone_else_and_any_other_channel_is_refused(subscribe_handler, room, channel, email, verified):
    with pytest.raises(UnauthorizedException):
        subscribe(subscribe_handler, channel.format(room=room), email, verified=verified)


def test_an_admin_is_refused_a_room_that_does_not_exist(subscribe_handler, room):
    with pytest.raises(UnauthorizedException):
        subscribe(subscribe_handler, "/rooms/01m8t1c6hwkbrsz55mpmd6bh53", ADMIN.email, admin=True)
