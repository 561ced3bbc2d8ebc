"""The delivery's rules that need no AWS: the retry schedule, Retry-After, and the signatures."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from roomsnap.config import Settings
from roomsnap.webhooks import Message, new_secret

from delivery.logic.deliver import signed_headers
from delivery.logic.retries import RetryPolicy, seconds_of

SCHEDULE = Settings.model_fields["webhook_retry_schedule_seconds"].default


def policy(random_value: float = 0.5, jitter: float = 0.1) -> RetryPolicy:
    return RetryPolicy(SCHEDULE, jitter, random=lambda: random_value)


def test_the_default_schedule_is_svix_like_and_the_first_retry_comes_within_10_seconds():
    assert SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    for random_value in (0.0, 0.5, 1.0):
        assert policy(random_value).delay_after(1, 500, None) <= 10


def test_each_delay_follows_the_schedule_with_bounded_jitter_and_the_last_attempt_has_none():
    delays = [policy().delay_after(attempt, 500, None) for attempt in range(1, len(SCHEDULE) + 2)]
    assert delays == [*map(float, SCHEDULE), None]  # eight attempts in all
    for attempt, base in enumerate(SCHEDULE, start=1):
        assert policy(0.0).delay_after(attempt, None, None) == pytest.approx(base * 0.9)
        assert policy(1.0).delay_after(attempt, None, None) == pytest.approx(base * 1.1)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retry_after_is_honoured_within_bounds_on_the_statuses_that_carry_it(status):
    assert policy().delay_after(1, status, "120") == 120
    assert policy().delay_after(1, status, "0") == 1  # at least a second
    assert policy().delay_after(1, status, str(7 * 86400)) == max(SCHEDULE)  # at most the longest delay
    assert policy().delay_after(len(SCHEDULE) + 1, status, "1") is None  # never beyond the last attempt


@pytest.mark.parametrize("status", [500, 400, 404, None])
def test_retry_after_is_ignored_on_other_answers(status):
    assert policy().delay_after(1, status, "120") == 5


def test_retry_after_may_be_an_http_date():
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= seconds_of(in_a_minute) <= 60
    assert seconds_of("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: now
    for unusable in (None, "", "soon", "-5", "1.5"):
        assert seconds_of(unusable) is None


def message(body='{"type":"webhook.test","timestamp":"2026-01-01T00:00:00.000Z","data":{}}') -> Message:
    return Message(
        id="msg_" + "a" * 32, webhook_id="w", room_id="r", event_type="webhook.test", body=body, created_at="now"
    )


def test_a_delivery_verifies_with_the_standard_webhooks_library():
    secret, sent = new_secret(), message()
    headers = signed_headers(sent, [secret], datetime.now(UTC))
    assert Verifier(secret).verify(sent.body, headers) == {
        "type": "webhook.test",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "data": {},
    }
    assert headers["webhook-id"] == sent.id
    assert headers["Content-Type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Verifier(new_secret()).verify(sent.body, headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(secret).verify(sent.body.replace("{}", '{"x":1}'), headers)


def test_during_a_rotation_each_secret_has_its_own_signature():
    new, old, sent = new_secret(), new_secret(), message()
    headers = signed_headers(sent, [new, old], datetime.now(UTC))
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    for secret, signature in zip((new, old), signatures, strict=True):
        Verifier(secret).verify(sent.body, {**headers, "webhook-signature": signature})


def test_the_timestamp_is_whole_seconds_and_signed():
    at = datetime(2026, 5, 1, 12, 0, 0, 987654, tzinfo=UTC)
    headers = signed_headers(message(), [new_secret()], at)
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
