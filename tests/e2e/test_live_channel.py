"""The live channel on the local stack, spoken to as a browser does: a plain WebSocket client with AppSync
Events' subprotocol and messages, real tokens, and the real notifier publishing what the stream carries."""

import contextlib
import json

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from template_emulator.metering import METER
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support import Channel, realtime_header

OWNER = "owner.live@example.com"
WAIT_S = 60


@pytest.fixture
def channel(stack):
    with contextlib.ExitStack() as sockets:
        yield lambda email, **claims: Channel(stack, stack.mint_token(email, **claims), sockets)


@pytest.fixture
def room(as_user):
    return as_user(OWNER).create_room("STS Live")["id"]


def test_a_party_sees_every_change_of_a_snapshot_created_in_the_room(as_user, channel, room):
    # Given a viewer of the room, subscribed to its channel
    owner = as_user(OWNER)
    owner.add(room, "parties", {"email": "viewer.live@example.com", "company": "V", "role": "viewer"})
    viewer = channel("viewer.live@example.com")
    assert viewer.subscribe(f"/rooms/{room}")["type"] == "subscribe_success"

    # When the owner creates a snapshot
    snapshot = owner.create_snapshot(room, "Pushed")

    # Then the viewer hears of it from creation to completion, in order, in events of the agreed shape
    events = viewer.events_until(lambda event: event["status"] in ("completed", "failed"))
    assert events[0]["status"] == "pending"
    assert events[-1]["status"] == "completed"
    assert events[-1]["progress"] == 100
    assert {event["snapshot_id"] for event in events} == {snapshot["id"]}
    assert all(set(event) == {"task_id", "snapshot_id", "status", "progress", "stage", "at"} for event in events)
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress)
    task = owner.ok("GET", f"/snapshots/tasks/{snapshot['task_id']}")
    assert events[-1]["at"] == task["completed_at"]

    # And a deletion is an event too
    owner.ok("DELETE", f"/rooms/{room}/snapshots/{snapshot['id']}", 204)
    (deleted,) = viewer.events_until(lambda event: True)
    assert (deleted["snapshot_id"], deleted["status"]) == (snapshot["id"], "deleted")


def test_strangers_wildcards_and_other_rooms_are_refused(as_user, channel, room):
    stranger = channel("stranger.live@example.com")
    for path in (f"/rooms/{room}", "/rooms/*", f"/rooms/{room}/*"):
        answer = stranger.subscribe(path)
        assert answer["type"] == "subscribe_error", path
        assert answer["errors"][0]["errorType"] == "UnauthorizedException"
    owner = channel(OWNER)
    assert owner.subscribe("/rooms/*")["errors"][0]["errorType"] == "UnauthorizedException"  # every room's events
    assert owner.subscribe("/elsewhere/x")["type"] == "subscribe_error"  # no such namespace
    assert owner.subscribe("not a path")["type"] == "subscribe_error"


def test_a_removed_party_is_refused_when_they_subscribe_again(as_user, channel, room):
    owner = as_user(OWNER)
    owner.add(room, "parties", {"email": "ops.live@example.com", "company": "O", "role": "operator"})
    operator = channel("ops.live@example.com")
    assert operator.subscribe(f"/rooms/{room}")["type"] == "subscribe_success"

    owner.ok("DELETE", f"/rooms/{room}/parties/ops.live%40example.com", 204)
    operator.close()

    reconnected = channel("ops.live@example.com")
    refused = reconnected.subscribe(f"/rooms/{room}")
    assert refused["type"] == "subscribe_error"
    assert refused["errors"][0]["errorType"] == "UnauthorizedException"


def test_an_unverified_email_cannot_subscribe_to_its_owners_room(channel, room):
    impostor = channel(OWNER, email_verified=False)
    assert impostor.subscribe(f"/rooms/{room}")["errors"][0]["errorType"] == "UnauthorizedException"


def test_after_unsubscribing_nothing_more_arrives(as_user, channel, room):
    owner = channel(OWNER)
    subscribed = owner.subscribe(f"/rooms/{room}")
    owner.send({"type": "unsubscribe", "id": subscribed["id"]})
    assert owner.next() == {"type": "unsubscribe_success", "id": subscribed["id"]}
    as_user(OWNER).create_snapshot(room, "Unheard")
    with pytest.raises(TimeoutError):
        owner.next(timeout=3)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "expired",
        "other-audience",
    ],
)
def test_a_connection_without_a_valid_token_is_refused(stack, token):
    tokens = {
        "expired": stack.mint_token(OWNER, ttl=-60),
        "other-audience": stack.mint_token(OWNER, aud="someone-else"),
    }
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(
            f"ws://{stack.authority}/event/realtime",
            subprotocols=["aws-appsync-event-ws", realtime_header(stack.authority, tokens.get(token, token))],  # type: ignore[list-item]
        ),
    ):
        pass
    assert refused.value.response.status_code == 401


# ---------------------------------------------------------------------- HTTP publish


def signed(stack, principal: str, body: dict, secret: str | None = None) -> requests.Response:
    url = f"{stack.base_url}/event"
    request = AWSRequest("POST", url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    key = METER.access_key(principal)
    credentials = Credentials(key, secret or stack.endpoint.credentials["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(credentials, "appsync", stack.endpoint.region).add_auth(request)
    return requests.post(url, data=request.body, headers=dict(request.headers.items()), timeout=WAIT_S)


def test_only_the_notifier_may_publish_and_only_with_a_valid_signature(stack, channel, room):
    owner = channel(OWNER)
    subscription = owner.subscribe(f"/rooms/{room}")["id"]
    event = {"task_id": "t", "snapshot_id": "s", "status": "running", "progress": 50, "stage": "x", "at": "now"}
    body = {"channel": f"/rooms/{room}", "events": [json.dumps(event)]}

    assert requests.post(f"{stack.base_url}/event", json=body, timeout=WAIT_S).status_code == 401  # unsigned
    assert signed(stack, "NotifierFunction", body, secret="wrong").status_code == 401
    assert signed(stack, "ApiFunction", body).status_code == 401  # no appsync:EventPublish in its policies

    published = signed(stack, "NotifierFunction", body)
    assert published.status_code == 200
    assert published.json()["failed"] == []
    assert len(published.json()["successful"]) == 1
    # The first thing the subscriber receives: none of the refused publishes reached it
    assert owner.next() == {"type": "data", "id": subscription, "event": json.dumps(event)}


def test_a_publish_with_a_bad_body_is_a_400(stack, room):
    for body in ({"channel": "/rooms/*", "events": ["{}"]}, {"channel": f"/rooms/{room}", "events": []}):
        assert signed(stack, "NotifierFunction", body).status_code == 400, body
