"""The delivery logic against real DynamoDB, SQS and KMS APIs (moto over HTTP), with a scripted
receiver in place of the network: exactly one request per attempt whatever is redelivered, the
retry schedule, parking, disabling, replays and rotated secrets."""

import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from standardwebhooks import Webhook as Verifier

from roomsnap.dal.items import to_dynamo
from roomsnap.dal.webhooks import webhook_key
from roomsnap.models import iso, utc_now
from roomsnap.ssrf import check_url
from roomsnap.webhooks import MessageState, new_secret

from delivery.logic.deliver import Deliverer
from delivery.logic.http import Answer
from delivery.logic.retries import RetryPolicy
from tests.integration.builders import audit_line, new_webhook

OK, FAILED, GONE = Answer(204, None, 3.0), Answer(500, None, 3.0, body="oops"), Answer(410, None, 2.0)


class ScriptedReceiver:
    """Answers from a script (the last answer repeats) and keeps every request."""

    def __init__(self, *answers: Answer):
        self.answers = list(answers)
        self.requests: list[tuple] = []

    def post(self, target, body, headers) -> Answer:
        self.requests.append((target, body, headers))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def deliverer(hooks, receiver, schedule=(1, 1), disable_after=timedelta(days=5)) -> Deliverer:
    return Deliverer(
        hooks["messages"],
        hooks["webhooks"],
        hooks["log"],
        hooks["secrets"],
        partial(check_url, loopback_only=True),
        receiver,
        RetryPolicy(schedule, jitter=0),
        disable_after,
    )


def test_an_event_becomes_one_message_per_endpoint_and_one_request_whatever_is_redelivered(hooks, parts):
    webhook, secret = new_webhook(hooks)
    receiver = ScriptedReceiver(OK)
    # Given one event published twice (a redelivered stream record)
    first = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s1", utc_now(), {"id": "s1"})
    again = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s1", utc_now(), {"id": "s1"})
    assert first == again
    # When two queue messages (copies) ask for its delivery, twice each
    steps = [deliverer(hooks, receiver).deliver(first[0], ticket, 30) for ticket in ("sqs-1", "sqs-2", "sqs-1")]
    # Then the receiver got one request, verifiable with the secret shown at creation
    assert [step.action for step in steps] == ["done", "done", "done"]
    assert len(receiver.requests) == 1
    _, body, headers = receiver.requests[0]
    assert Verifier(secret).verify(body, headers)["data"] == {"id": "s1"}
    assert headers["webhook-id"] == first[0]
    assert hooks["messages"].get(first[0]).delivery_status is MessageState.SUCCEEDED


def test_a_copy_arriving_during_an_attempt_waits_and_then_finds_it_done(hooks):
    webhook, _ = new_webhook(hooks)
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s2", utc_now(), {})
    started, release = threading.Event(), threading.Event()

    class SlowReceiver(ScriptedReceiver):
        def post(self, target, body, headers):
            started.set()
            release.wait(10)
            return super().post(target, body, headers)

    receiver = SlowReceiver(OK)
    first = threading.Thread(target=deliverer(hooks, receiver).deliver, args=(message_id, "sqs-1", 30))
    first.start()
    started.wait(10)
    # The same queue message redelivered while its attempt runs (a visibility timeout ran out)
    during = deliverer(hooks, receiver).deliver(message_id, "sqs-1", 30)
    release.set()
    first.join(10)
    assert during.action == "retry"
    assert 1 <= during.delay_s <= 31
    assert len(receiver.requests) == 1


def test_a_failed_attempt_is_retried_on_schedule_with_the_same_webhook_id_then_parked(hooks):
    webhook, _ = new_webhook(hooks)
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s3", utc_now(), {})
    receiver = ScriptedReceiver(FAILED)
    delivery = deliverer(hooks, receiver, schedule=(1, 1))

    first = delivery.deliver(message_id, "sqs-1", 30)
    early = delivery.deliver(message_id, "sqs-1", 30)  # back before its time: waits, sends nothing
    time.sleep(1.1)
    second = delivery.deliver(message_id, "sqs-1", 30)
    time.sleep(1.1)
    third = delivery.deliver(message_id, "sqs-1", 30)

    assert (first.action, early.action, second.action, third.action) == ("retry", "retry", "retry", "park")
    assert first.delay_s == 1
    assert len(receiver.requests) == 3
    assert {headers["webhook-id"] for _, _, headers in receiver.requests} == {message_id}
    attempts, _ = hooks["log"].page(webhook.id, 10, None)
    assert [(a.attempt, a.outcome, a.status_code, a.response_body) for a in attempts] == [
        (3, "failed", 500, "oops"),
        (2, "retrying", 500, "oops"),
        (1, "retrying", 500, "oops"),
    ]
    assert attempts[1].next_attempt_at is not None
    assert attempts[0].next_attempt_at is None
    assert hooks["messages"].get(message_id).delivery_status is MessageState.FAILED
    # A replay makes one more attempt, with the same id, and is not retried or parked
    replayed, _ = hooks["messages"].replay(message_id, time.time_ns() // 1_000_000)
    assert replayed
    assert delivery.deliver(message_id, "sqs-replay", 30).action == "done"
    assert len(receiver.requests) == 4
    assert hooks["log"].page(webhook.id, 1, None)[0][0].attempt == 4


def test_410_gone_disables_the_endpoint_and_the_activity_log_says_so(hooks, parts):
    webhook, _ = new_webhook(hooks)
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s4", utc_now(), {})
    step = deliverer(hooks, ScriptedReceiver(GONE)).deliver(message_id, "sqs-1", 30)
    assert step.action == "done"
    stored = hooks["webhooks"].get(webhook.room_id, webhook.id)
    assert stored.enabled is False
    assert stored.disabled_reason == "the receiver answered 410 Gone"
    activity, _ = parts["rooms"].list_activity(webhook.room_id, 10, None)
    assert (activity[0].action, activity[0].category, activity[0].actor) == (
        "webhook.disabled",
        "audit",
        "room-snapshots",
    )
    # A disabled endpoint gets no more events
    assert hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s5", utc_now(), {}) == []


def test_an_endpoint_failing_every_attempt_for_the_period_is_disabled(hooks, parts, aws):
    webhook, _ = new_webhook(hooks)
    six_days_ago = iso(datetime.now(UTC) - timedelta(days=6))
    parts["rooms"].dynamodb.update_item(
        TableName=aws[0]["DataTable"],
        Key=webhook_key(webhook.room_id, webhook.id),
        UpdateExpression="SET failing_since = :at",
        ExpressionAttributeValues=to_dynamo({":at": six_days_ago}),
    )
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s6", utc_now(), {})
    step = deliverer(hooks, ScriptedReceiver(FAILED)).deliver(message_id, "sqs-1", 30)
    assert step.action == "done"  # no retry: the endpoint is disabled now
    stored = hooks["webhooks"].get(webhook.room_id, webhook.id)
    assert stored.enabled is False
    assert stored.disabled_reason == f"every attempt failed since {six_days_ago}"


def test_a_success_ends_a_run_of_failures(hooks):
    webhook, _ = new_webhook(hooks)
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s7", utc_now(), {})
    delivery = deliverer(hooks, ScriptedReceiver(FAILED, OK), schedule=(1,))
    delivery.deliver(message_id, "sqs-1", 30)
    assert hooks["webhooks"].get(webhook.room_id, webhook.id).failing_since
    time.sleep(1.1)
    assert delivery.deliver(message_id, "sqs-1", 30).action == "done"
    assert hooks["webhooks"].get(webhook.room_id, webhook.id).failing_since is None


def test_after_a_rotation_deliveries_carry_a_signature_for_each_secret(hooks):
    webhook, old_secret = new_webhook(hooks)
    new_secret_value = new_secret()
    fields = {
        "secret_ciphertext": hooks["secrets"].seal(new_secret_value, webhook.room_id, webhook.id),
        "previous_secret_ciphertext": webhook.secret_ciphertext,
        "previous_secret_expires_at": int(time.time()) + 86400,
    }
    hooks["webhooks"].update(webhook, fields, audit_line("webhook.secret_rotated"), expect_secret=True)
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s8", utc_now(), {})
    receiver = ScriptedReceiver(OK)
    deliverer(hooks, receiver).deliver(message_id, "sqs-1", 30)
    _, body, headers = receiver.requests[0]
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret, signature in zip((new_secret_value, old_secret), signatures, strict=True):
        Verifier(secret).verify(body, {**headers, "webhook-signature": signature})


def test_the_url_is_checked_again_at_every_attempt(hooks):
    webhook, _ = new_webhook(hooks, url="https://hooks.example.com/x")  # not loopback: refused locally
    (message_id,) = hooks["outbox"].publish(webhook.room_id, "snapshot.completed", "s9", utc_now(), {})
    receiver = ScriptedReceiver(OK)
    step = deliverer(hooks, receiver).deliver(message_id, "sqs-1", 30)
    assert step.action == "retry"
    assert receiver.requests == []
    (attempt,), _ = hooks["log"].page(webhook.id, 10, None)
    assert attempt.error.startswith("not sent: the local stack delivers webhooks only to 127.0.0.1")
