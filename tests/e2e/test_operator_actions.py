"""What an admin sees and does on a stack of its own (so the figures cover only this workload):
generation over time, recent failures, retrying a failed snapshot, redriving parked messages."""

import time

import pytest

from scripts.local import emulate
from tests.support import ApiClient

BUDGET_ROWS = "3"  # this stack's render budget: a snapshot of the room's three approvals and its owner is over it
OVER_BUDGET = "Everything"  # all the room's approvals: fails at once, with a reason
SMALL = {"include_approvals": False, "include_activity": False}  # one row: the owner
APPROVALS_ONLY = {"include_activity": False}  # the owner and the approvals


@pytest.fixture(scope="module")
def ops_stack():
    overrides = {"RendererFunction": {"REPORT_MAX_ROWS": BUDGET_ROWS}, "ApiFunction": {"REPORT_MAX_ROWS": BUDGET_ROWS}}
    with emulate(port=0, start_schedules=False, stack_name="room-snapshots-ops", env_overrides=overrides) as running:
        yield running


@pytest.fixture(scope="module")
def people(ops_stack):
    return (
        ApiClient(ops_stack.base_url, ops_stack.mint_token("owner.ops@example.com")),
        ApiClient(ops_stack.base_url, ops_stack.mint_token("admin.ops@example.com", admin=True)),
    )


@pytest.fixture(scope="module")
def workload(people):
    """Two snapshots of the same content (a render and a hit) and one that fails: its room is over
    the render budget."""
    owner, _ = people
    room_id = owner.create_room("Operations")["id"]
    for number in range(3):
        owner.add(room_id, "approvals", {"status": "approved", "comment": f"Check {number}"})
    tasks = [owner.create_snapshot(room_id, "Same", **SMALL)["task_id"] for _ in range(2)]
    tasks.append(owner.create_snapshot(room_id, OVER_BUDGET, **APPROVALS_ONLY)["task_id"])
    return room_id, [owner.wait_for_task(task_id) for task_id in tasks]


def test_the_series_counts_every_ending_by_minute(people, workload):
    _, admin = people
    series = admin.ok("GET", "/snapshots/metrics/series", params={"hours": 1, "bucket_minutes": 1})
    buckets = series["buckets"]
    assert series["bucket_minutes"] == 1
    assert 60 <= len(buckets) <= 61
    assert [b["start"] for b in buckets] == sorted(b["start"] for b in buckets)
    totals = {name: sum(b[name] for b in buckets) for name in ("count", "completed", "failed", "cache_hits")}
    assert totals == {"count": 3, "completed": 2, "failed": 1, "cache_hits": 1}
    busy = [b for b in buckets if b["completed"]]
    assert all(b["p50"] is not None and b["p50"] <= b["p95"] <= b["p99"] for b in busy)
    assert all(b["p50"] is None for b in buckets if not b["completed"])


def test_too_many_buckets_is_a_400(people):
    _, admin = people
    response = admin.request("GET", "/snapshots/metrics/series", params={"hours": 168, "bucket_minutes": 1})
    assert response.status_code == 400
    assert "at most 500 buckets" in response.json()["detail"]


def test_recent_failures_name_the_snapshot_and_the_reason_its_users_were_given(people, workload):
    room_id, tasks = workload
    _, admin = people
    (failure,) = admin.ok("GET", "/snapshots/metrics/summary", params={"hours": 1})["recent_failures"]
    assert failure["task_id"] == tasks[2]["task_id"]
    assert failure["room_id"] == room_id
    assert failure["error"] == tasks[2]["error"]
    assert "too large to print" in failure["error"]


def test_a_failed_snapshot_is_retried_as_a_new_one_and_the_old_stays_failed(people, workload):
    room_id, tasks = workload
    owner, admin = people
    failed = tasks[2]

    # While the room is over the budget, a retry would fail the same way: refused, with the reason
    refused = admin.request("POST", f"/snapshots/tasks/{failed['task_id']}/retry")
    assert refused.status_code == 409
    assert "too large to print" in refused.json()["detail"]
    # Once an approval is withdrawn, the room fits, and the retry is a new snapshot that completes
    approval = owner.ok("GET", f"/rooms/{room_id}")["approvals"][0]
    owner.ok("DELETE", f"/rooms/{room_id}/approvals/{approval['id']}", 204)
    retried = admin.ok("POST", f"/snapshots/tasks/{failed['task_id']}/retry", 201)

    assert retried["room_id"] == room_id
    assert retried["title"] == OVER_BUDGET
    assert retried["task_id"] != failed["task_id"]
    assert owner.ok("GET", f"/snapshots/tasks/{failed['task_id']}")["status"] == "failed"
    assert owner.wait_for_task(retried["task_id"])["status"] == "completed"
    activity = owner.ok("GET", f"/rooms/{room_id}/activity", params={"limit": 100})
    assert any(line["action"] == "snapshot.retried" for line in activity)
    # Only failed snapshots can be retried
    completed = tasks[0]["task_id"]
    assert admin.request("POST", f"/snapshots/tasks/{completed}/retry").status_code == 409


def test_redriving_moves_parked_messages_back_to_the_renderer(ops_stack, people):
    # Given a message parked in the dead-letter queue
    _, admin = people
    sqs = ops_stack.client("sqs")
    dead_letters = ops_stack.resources["RenderDeadLetterQueue"]
    reason = {"reason": {"DataType": "String", "StringValue": "parked by the test"}}
    sqs.send_message(QueueUrl=dead_letters, MessageBody='{"snapshot_id": "not an id"}', MessageAttributes=reason)

    # When an admin redrives the dead-letter queue
    moved = admin.ok("POST", "/admin/dead-letters/redrive")

    # Then it went back to the render queue: the renderer read it, and parked it again for its own
    # reason (it is malformed), which it could only do after the move
    assert moved == {"moved": 1, "at_most": 500}
    deadline, reasons = time.monotonic() + 30, []
    while not reasons:
        assert time.monotonic() < deadline, "the renderer never saw the moved message"
        messages = sqs.receive_message(QueueUrl=dead_letters, MessageAttributeNames=["All"], WaitTimeSeconds=1)
        reasons = [m["MessageAttributes"]["reason"]["StringValue"] for m in messages.get("Messages", [])]
    assert reasons[0].startswith("malformed render message")
