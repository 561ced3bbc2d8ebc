"""Webhooks end to end, on a stack of its own: real HTTP, real JWTs, the stream and queue mappings,
and a receiver on 127.0.0.1 that verifies every delivery with the standardwebhooks library.
Nothing here sends traffic outside 127.0.0.0/8: the stack allows loopback receivers only."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook as Verifier

from infra.stack import LocalStack
from infra.streams import lambda_record
from tests.support import IMOS, ApiClient

ALL_EVENTS = ["snapshot.completed", "snapshot.failed", "snapshot.cancelled", "document.expiring"]
HELD_BACK = "Held back"  # the renderer fails this title transiently, so it can be cancelled in time
BUDGET_ROWS = "12"  # this stack's render budget: a room over it, and a snapshot that fails, are a few requests away


class Receiver(BaseHTTPRequestHandler):
    """/ok/* answers 204, /flaky/* 500 the first time, /gone 410, /redirect 302, /fail 500."""

    deliveries: list[dict] = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with Receiver.lock:
            earlier = [d for d in Receiver.deliveries if d["path"] == self.path]
            Receiver.deliveries.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/ok/") or (self.path.startswith("/flaky/") and earlier):
            self.send_response(204)
        elif self.path == "/gone":
            self.send_response(410)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok/redirected")
        else:
            self.send_response(500)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hooks_stack():
    overrides = {
        "DeliveryFunction": {"WEBHOOK_RETRY_SCHEDULE_SECONDS": "1,1"},  # three attempts, a second apart
        "RendererFunction": {"FAULT_POISON_TITLE": HELD_BACK, "REPORT_MAX_ROWS": BUDGET_ROWS},
        "ApiFunction": {"REPORT_MAX_ROWS": BUDGET_ROWS},
    }
    with LocalStack(
        port=0, start_schedules=False, stack_name="room-snapshots-webhooks", env_overrides=overrides
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(hooks_stack):
    return ApiClient(hooks_stack.base_url, hooks_stack.mint_token("owner.hooks@x.io"))


@pytest.fixture
def room(owner):
    return owner.create_room("Webhook room")["id"]


def register(owner, room_id, url, events=ALL_EVENTS) -> dict:
    return owner.ok("POST", f"/rooms/{room_id}/webhooks", 201, json={"url": url, "events": events})


def delivered(path: str, count: int = 1, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        with Receiver.lock:
            found = [d for d in Receiver.deliveries if d["path"] == path]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} deliveries to {path}"
        time.sleep(0.1)


def verified(delivery: dict, secret: str) -> dict:
    return Verifier(secret).verify(delivery["body"], delivery["headers"])


def settled_log(owner, room_id, webhook_id, attempts: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while True:
        log = owner.ok("GET", f"/rooms/{room_id}/webhooks/{webhook_id}/deliveries")
        if len(log) >= attempts:
            return log
        assert time.monotonic() < deadline, log
        time.sleep(0.1)


def test_completion_failure_and_cancellation_are_delivered_signed(owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/ok/lifecycle")
    assert webhook["secret"].startswith("whsec_")
    for n in range(int(BUDGET_ROWS)):
        owner.add(room, "approvals", {"status": "approved", "comment": f"שלום {n} 👍"})
    sections = {"include_approvals": False, "include_activity": False}  # one row: the owner
    completed = owner.create_snapshot(room, "Ready", **sections)
    failed = owner.create_snapshot(room, "Everything")  # over the budget: fails at once
    held = owner.create_snapshot(room, HELD_BACK, **sections)
    owner.ok("POST", f"/snapshots/tasks/{held['task_id']}/cancel")

    events = {}
    for delivery in delivered("/ok/lifecycle", 3):
        event = verified(delivery, webhook["secret"])
        events[event["data"]["id"]] = event
        assert delivery["headers"]["webhook-id"].startswith("msg_")
    assert {snapshot_id: event["type"] for snapshot_id, event in events.items()} == {
        completed["id"]: "snapshot.completed",
        failed["id"]: "snapshot.failed",
        held["id"]: "snapshot.cancelled",
    }
    # The data is the snapshot as GET .../snapshots/{id} shows it, task id included
    shown = owner.ok("GET", f"/rooms/{room}/snapshots/{completed['id']}")
    assert events[completed["id"]]["data"] == shown
    assert events[completed["id"]]["data"]["task_id"] == completed["task_id"]
    assert "too large to print" in events[failed["id"]]["data"]["error"]
    # A failed or cancelled snapshot printed nothing: it carries no clearance
    assert events[failed["id"]]["data"]["clearance"] is None
    assert events[held["id"]]["data"]["clearance"] is None
    assert events[held["id"]]["timestamp"] == owner.ok("GET", f"/snapshots/tasks/{held['task_id']}")["completed_at"]


def test_a_receiver_that_fails_once_gets_the_same_webhook_id_again_and_the_log_shows_both(owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/flaky/once", ["snapshot.completed"])
    owner.create_snapshot(room, "Flaky")
    first, second = delivered("/flaky/once", 2)
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert verified(first, webhook["secret"]) == verified(second, webhook["secret"])
    log = settled_log(owner, room, webhook["id"], 2)
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in log] == [
        (2, 204, "succeeded"),
        (1, 500, "retrying"),
    ]
    assert log[1]["next_attempt_at"] > log[1]["at"]
    assert {a["message_id"] for a in log} == {first["headers"]["webhook-id"]}
    assert all(a["duration_ms"] >= 0 and a["event_type"] == "snapshot.completed" for a in log)


def test_410_gone_disables_the_webhook_and_the_activity_log_says_so(owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/gone", ["snapshot.completed"])
    owner.create_snapshot(room, "Gone")
    delivered("/gone")
    deadline = time.monotonic() + 20
    while owner.ok("GET", f"/rooms/{room}/webhooks/{webhook['id']}")["enabled"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    shown = owner.ok("GET", f"/rooms/{room}/webhooks/{webhook['id']}")
    assert shown["disabled_reason"] == "the receiver answered 410 Gone"
    activity = owner.ok("GET", f"/rooms/{room}/activity")
    assert any(line["action"] == "webhook.disabled" and webhook["id"] in line["detail"] for line in activity)
    # a disabled webhook takes no test events until it is enabled again
    assert owner.request("POST", f"/rooms/{room}/webhooks/{webhook['id']}/test").status_code == 409
    enabled = owner.ok("PATCH", f"/rooms/{room}/webhooks/{webhook['id']}", json={"enabled": True})
    assert (enabled["enabled"], enabled["disabled_reason"]) == (True, None)


def test_a_redirect_is_not_followed(owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/redirect", ["snapshot.completed"])
    owner.create_snapshot(room, "Redirected")
    log = settled_log(owner, room, webhook["id"], 3)
    assert [(a["status_code"], a["outcome"]) for a in log] == [(302, "failed"), (302, "retrying"), (302, "retrying")]
    assert len(delivered("/redirect", 3)) == 3
    with Receiver.lock:
        assert not [d for d in Receiver.deliveries if d["path"] == "/ok/redirected"]


def test_after_a_rotation_both_secrets_verify_until_the_old_one_expires(owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/ok/rotation", ["snapshot.completed"])
    rotated = owner.ok("POST", f"/rooms/{room}/webhooks/{webhook['id']}/rotate-secret")
    assert rotated["secret"] != webhook["secret"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    sent = owner.ok("POST", f"/rooms/{room}/webhooks/{webhook['id']}/test", 202)
    (delivery,) = delivered("/ok/rotation")
    assert delivery["headers"]["webhook-id"] == sent["message_id"]
    signatures = delivery["headers"]["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret, signature in zip((rotated["secret"], webhook["secret"]), signatures, strict=True):
        one = {**delivery["headers"], "webhook-signature": signature}
        assert Verifier(secret).verify(delivery["body"], one)["type"] == "webhook.test"


def stream_records_of(stack, snapshot_id: str) -> list[dict]:
    """The stream records of the snapshot's terminal transition, read from moto's stream."""
    streams, arn = stack.client("dynamodbstreams"), stack.template.attribute("DataTable", "StreamArn")
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=10000)["Records"]
    return [
        lambda_record(record, arn)
        for record in records
        if record["dynamodb"]["Keys"]["PK"]["S"] == f"SNAP#{snapshot_id}"
        and record["dynamodb"].get("NewImage", {}).get("task_status", {}).get("S") == "completed"
        and record["dynamodb"].get("OldImage", {}).get("task_status", {}).get("S") in ("pending", "running")
    ]


def test_duplicate_stream_records_and_queue_messages_give_one_delivery(hooks_stack, owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/ok/duplicates", ["snapshot.completed"])
    snapshot = owner.create_snapshot(room, "Duplicated")
    (first,) = delivered("/ok/duplicates")
    # Given the stream record of the transition, redelivered twice in a batch and once more later
    (transition,) = stream_records_of(hooks_stack, snapshot["id"])
    hooks_stack.invoke("NotifierFunction", {"Records": [transition, transition]})
    hooks_stack.invoke("NotifierFunction", {"Records": [transition]})
    # and the webhook queue message sent again (as SQS may deliver it twice)
    hooks_stack.client("sqs").send_message(
        QueueUrl=hooks_stack.resources["WebhookQueue"],
        MessageBody=json.dumps({"message_id": first["headers"]["webhook-id"]}),
    )
    time.sleep(3)
    # Then the receiver still has one delivery, and the log one attempt
    assert len(delivered("/ok/duplicates")) == 1
    assert len(owner.ok("GET", f"/rooms/{room}/webhooks/{webhook['id']}/deliveries")) == 1


def test_a_failed_message_is_parked_then_replayed_with_the_same_webhook_id(hooks_stack, owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/fail", ["snapshot.completed"])
    owner.create_snapshot(room, "Failing")
    log = settled_log(owner, room, webhook["id"], 3)
    assert [a["outcome"] for a in log] == ["failed", "retrying", "retrying"]
    message_id = log[0]["message_id"]
    sqs = hooks_stack.client("sqs")
    dead_letters = hooks_stack.resources["WebhookDeadLetterQueue"]
    parked = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    assert {"message_id": message_id} in [json.loads(m["Body"]) for m in parked]
    # When the owner re-sends it
    replay = owner.ok("POST", f"/rooms/{room}/webhooks/{webhook['id']}/deliveries/{message_id}/retry", 202)
    assert replay == {"message_id": message_id}
    # Then one more attempt goes out with the same webhook-id, and no automatic retries follow it
    attempts = delivered("/fail", 4)
    assert {a["headers"]["webhook-id"] for a in attempts} == {message_id}
    assert [a["attempt"] for a in settled_log(owner, room, webhook["id"], 4)] == [4, 3, 2, 1]
    time.sleep(2)
    assert len(delivered("/fail")) == 4
    unknown = "msg_" + "0" * 32
    retry_unknown = owner.request("POST", f"/rooms/{room}/webhooks/{webhook['id']}/deliveries/{unknown}/retry")
    assert retry_unknown.status_code == 404


def test_document_expiry_alerts_are_delivered_once_a_day_and_logged(hooks_stack, owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/ok/expiry", ["document.expiring"])
    owner.add(room, "vessels", {"name": "MT Seawise", "imo": IMOS[0], "vessel_type": "tanker", "flag": "MT"})
    in_three_days = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    document = owner.add(
        room,
        "documents",
        {"name": "Q88", "document_type": "questionnaire", "expires_on": in_three_days, "vessel_imo": IMOS[0]},
    )
    later = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    owner.add(room, "documents", {"name": "Far off", "document_type": "certificate", "expires_on": later})

    hooks_stack.fire_schedule("ExpiryAlertsFunction")
    hooks_stack.fire_schedule("ExpiryAlertsFunction")  # the same day again: nothing new

    (delivery,) = delivered("/ok/expiry")
    event = verified(delivery, webhook["secret"])
    assert event["type"] == "document.expiring"
    assert event["data"] == {
        "room": {"id": room, "title": "Webhook room"},
        "document": {
            "id": document["id"],
            "name": "Q88",
            "document_type": "questionnaire",
            "status": "missing",
            "expires_on": in_three_days,
        },
        "vessel": {"imo": IMOS[0], "name": "MT Seawise"},
        "days_left": 3,
    }
    time.sleep(2)
    assert len(delivered("/ok/expiry")) == 1
    activity = owner.ok("GET", f"/rooms/{room}/activity")
    alerts = [line for line in activity if line["action"] == "document.expiring"]
    assert len(alerts) == 1
    assert alerts[0]["category"] == "audit"


def test_owners_and_admins_manage_webhooks_viewers_get_403_and_strangers_404(hooks_stack, owner, room, receiver):
    webhook = register(owner, room, f"{receiver}/ok/permissions")
    owner.add(room, "parties", {"email": "viewer.hooks@x.io", "company": "V", "role": "viewer"})
    owner.add(room, "parties", {"email": "broker.hooks@x.io", "company": "B", "role": "broker"})
    paths = [
        ("GET", f"/rooms/{room}/webhooks"),
        ("GET", f"/rooms/{room}/webhooks/{webhook['id']}"),
        ("POST", f"/rooms/{room}/webhooks/{webhook['id']}/test"),
        ("POST", f"/rooms/{room}/webhooks/{webhook['id']}/rotate-secret"),
        ("GET", f"/rooms/{room}/webhooks/{webhook['id']}/deliveries"),
        ("DELETE", f"/rooms/{room}/webhooks/{webhook['id']}"),
    ]
    for email, status in (("viewer.hooks@x.io", 403), ("broker.hooks@x.io", 403), ("stranger.hooks@x.io", 404)):
        member = ApiClient(hooks_stack.base_url, hooks_stack.mint_token(email))
        for method, path in paths:
            assert member.request(method, path).status_code == status, (email, method, path)
        create = member.request("POST", f"/rooms/{room}/webhooks", json={"url": f"{receiver}/x", "events": ALL_EVENTS})
        assert create.status_code == status
    admin = ApiClient(hooks_stack.base_url, hooks_stack.mint_token("root.hooks@x.io", admin=True))
    (listed,) = admin.ok("GET", f"/rooms/{room}/webhooks")
    assert "secret" not in listed
    assert not any("ciphertext" in key for key in listed)
    admin.ok("DELETE", f"/rooms/{room}/webhooks/{webhook['id']}", 204)
    assert owner.request("GET", f"/rooms/{room}/webhooks/{webhook['id']}").status_code == 404
    actions = [line["action"] for line in owner.ok("GET", f"/rooms/{room}/activity") if line["category"] == "audit"]
    assert actions[:2] == ["webhook.deleted", "webhook.created"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "only to 127.0.0.1 or localhost"),
        ("http://[::ffff:127.0.0.1]:8080/", "only to 127.0.0.1 or localhost"),
        ("http://2130706433:8080/", "four decimal numbers: 2130706433 means 127.0.0.1"),
        ("https://hooks.example.com/", "only to 127.0.0.1 or localhost"),  # no public receivers locally
        ("ftp://127.0.0.1/", "only https"),
        ("http://user:pw@127.0.0.1:8080/", "user info"),
    ],
)
def test_a_url_that_may_not_receive_webhooks_is_a_422_that_says_why(owner, room, url, reason):
    response = owner.request("POST", f"/rooms/{room}/webhooks", json={"url": url, "events": ALL_EVENTS})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert reason in response.json()["detail"]


def test_the_activity_log_names_the_receiver_by_its_origin_only(owner, room, receiver):
    register(owner, room, f"{receiver}/ok/secret-path?token=abc")
    (created,) = [line for line in owner.ok("GET", f"/rooms/{room}/activity") if line["action"] == "webhook.created"]
    assert created["detail"].endswith(": http://127.0.0.1")
    assert created["category"] == "audit"
