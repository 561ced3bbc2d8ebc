"""Per-user limits on creating snapshots, on a stack of its own whose limits are lowered through
the template's parameters (the defaults stay as deployed)."""

import re

import pytest

from scripts.local import emulate
from tests.support import ApiClient

PER_MINUTE, UNFINISHED = 5, 2


def limited_stack(name: str, **limits):
    return emulate(port=0, start_schedules=False, stack_name=f"room-snapshots-{name}", parameter_overrides=limits)


@pytest.fixture(scope="module")
def per_minute_stack():
    with limited_stack("per-minute", SnapshotsPerMinute=PER_MINUTE) as running:
        yield running


@pytest.fixture(scope="module")
def unfinished_stack():
    """Its renderer's queue mapping is disabled (as UpdateEventSourceMapping Enabled=false): snapshots
    stay generating."""
    with limited_stack("unfinished", MaxUnfinishedSnapshots=UNFINISHED) as running:
        running.faults.disable_mapping("RendererFunction")
        yield running


def user(stack, email: str) -> ApiClient:
    return ApiClient(stack.base_url, stack.mint_token(email))


def test_a_flood_from_one_user_is_refused_with_retry_after_and_others_carry_on(per_minute_stack):
    # Given a user who creates snapshots as fast as they can
    flooder, colleague = user(per_minute_stack, "flood@example.com"), user(per_minute_stack, "calm@example.com")
    room_id = flooder.create_room("Flood")["id"]
    flooder.add(room_id, "parties", {"email": "calm@example.com", "company": "C", "role": "operator"})
    answers = []
    while len(answers) < 3 * PER_MINUTE and (not answers or answers[-1].status_code == 201):
        answers.append(flooder.request("POST", f"/rooms/{room_id}/snapshots", json={"title": f"S{len(answers)}"}))

    # Then the first ones are created, each saying how much is left, and then they get a 429
    # (windows are fixed minutes: one that turns over mid-test lets at most twice the limit through)
    statuses = [answer.status_code for answer in answers]
    refused = answers[-1]
    assert statuses[-1] == 429, statuses
    assert PER_MINUTE <= statuses.count(201) <= 2 * PER_MINUTE, statuses
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert f'"per-minute";q={PER_MINUTE};w=60' in refused.headers["RateLimit-Policy"]
    assert re.search(r'"per-minute";r=0;t=\d+', refused.headers["RateLimit"])
    assert re.search(rf'"per-minute";r={PER_MINUTE - 1};t=\d+', answers[0].headers["RateLimit"])
    assert "this minute" in refused.json()["detail"]

    # And another user of the same room is not affected
    assert colleague.request("POST", f"/rooms/{room_id}/snapshots", json={"title": "Mine"}).status_code == 201


def test_a_user_may_have_only_so_many_snapshots_generating_at_once(unfinished_stack):
    # Given snapshots that stay unfinished (nothing renders them yet)
    owner = user(unfinished_stack, "busy@example.com")
    room_id = owner.create_room("Busy")["id"]
    for _ in range(UNFINISHED):
        owner.create_snapshot(room_id, "Waiting for the renderer")

    # When the user asks for one more
    refused = owner.request("POST", f"/rooms/{room_id}/snapshots", json={"title": "One more"})

    # Then it is refused until one of them finishes
    assert refused.status_code == 429
    assert "still generating" in refused.json()["detail"]
    stuck = owner.ok("GET", f"/rooms/{room_id}/snapshots")[0]
    owner.ok("POST", f"/snapshots/tasks/{stuck['task_id']}/cancel")
    assert owner.request("POST", f"/rooms/{room_id}/snapshots", json={"title": "One more"}).status_code == 201
