"""Webhook records: derived message ids, secrets, payloads and request bodies."""

import base64

import pytest
from pydantic import ValidationError

from roomsnap.models import Role, Snapshot, Timings
from roomsnap.permissions import Action, roles_allowed
from roomsnap.views import snapshot_view
from roomsnap.webhooks import MAX_PAYLOAD_BYTES, WebhookIn, WebhookPatch, event_body, message_id, new_secret


def test_only_owners_manage_webhooks():
    assert roles_allowed(Action.MANAGE_WEBHOOKS) == [Role.OWNER]


def test_a_message_id_is_derived_from_the_event_and_the_endpoint():
    first = message_id("snapshot.completed", "s1", "w1")
    assert first == message_id("snapshot.completed", "s1", "w1")  # whatever redelivers it
    assert first.startswith("msg_")
    assert len(first) == 36
    others = {
        message_id("snapshot.failed", "s1", "w1"),
        message_id("snapshot.completed", "s2", "w1"),
        message_id("snapshot.completed", "s1", "w2"),
    }
    assert first not in others
    assert len(others) == 3


def test_secrets_are_standard_webhooks_secrets_of_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_payloads_follow_the_standard_and_are_bounded():
    assert event_body("webhook.test", "t", {"a": 1}) == '{"type":"webhook.test","timestamp":"t","data":{"a":1}}'
    with pytest.raises(ValueError, match="bound"):
        event_body("webhook.test", "t", {"a": "x" * MAX_PAYLOAD_BYTES})


def test_a_snapshot_event_of_the_largest_snapshot_stays_under_the_bound():
    largest = Snapshot(
        id="0" * 26,
        room_id="0" * 26,
        title="Ω" * 200,
        created_by="a" * 254,
        created_at="2026-01-01T00:00:00.000Z",
        completed_at="2026-01-01T00:00:00.000Z",
        error="\u2028" * 1000,
        content_hash="f" * 64,
        cache_layer="rendered",
        timings=Timings(queue_wait_ms=1e9, gather_ms=1e9, render_ms=1e9, store_ms=1e9, total_ms=1e9),
    )
    assert len(event_body("snapshot.failed", "2026-01-01T00:00:00.000Z", snapshot_view(largest))) < 20_000


def test_events_are_distinct_and_known_and_a_patch_changes_something():
    assert WebhookIn(url="https://x.example", events=["snapshot.failed", "snapshot.failed"]).events == [
        "snapshot.failed"
    ]
    for bad in ([], ["snapshot.created"], ["webhook.test"]):
        with pytest.raises(ValidationError):
            WebhookIn(url="https://x.example", events=bad)
    with pytest.raises(ValidationError):
        WebhookPatch()
    with pytest.raises(ValidationError):
        WebhookPatch(description=None)
    assert WebhookPatch(enabled=False).model_dump(exclude_none=True) == {"enabled": False}
