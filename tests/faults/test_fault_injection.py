"""Faults on the emulated stack: throttled reads failing a share of render attempts, every render
message delivered twice, poison messages, malformed messages. The emulator injects them around the
functions (template_emulator.faults), which know nothing of it: throttling errors at the AWS
endpoint, duplicate deliveries by the SQS event source mapping."""

import json
import time
from collections import Counter

import pytest

from scripts.local import emulate
from tests.support import ApiClient

pytestmark = pytest.mark.slow  # a 300-snapshot burst
# One user makes the whole 300-snapshot burst: a load test, not a person, so its limits are raised.
BURST_LIMITS = {"SnapshotsPerMinute": 1000, "SnapshotsPerHour": 10000, "MaxUnfinishedSnapshots": 1000}
QUICK_RETRIES = {"RendererFunction": {"RETRY_BACKOFF_SECONDS": "1,1,2"}}
# Each of the renderer's two room reads (Query) is throttled with this share, through the SDK's
# retries: about 28 % of render attempts fail.
THROTTLED_READS = 0.15
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture(scope="module")
def faulty_stack():
    with emulate(
        port=0,
        env_overrides=QUICK_RETRIES,
        start_schedules=False,
        stack_name="room-snapshots-faults",
        parameter_overrides=BURST_LIMITS,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(faulty_stack):
    return ApiClient(faulty_stack.base_url, faulty_stack.mint_token("owner.faults@x.io"))


def statuses(api, task_ids) -> list[dict] | None:
    """The tasks, or None when the stack, loaded by the burst, did not answer a poll within the API
    function's timeout (API Gateway's 500): the poll is made again."""
    tasks = []
    for chunk in range(0, len(task_ids), 100):
        answer = api.request("POST", "/snapshots/tasks/bulk-status", json={"task_ids": task_ids[chunk : chunk + 100]})
        if answer.status_code in (500, 503):
            return None
        assert answer.status_code == 200, answer.text
        tasks += answer.json()["tasks"]
    return tasks


def wait_all_terminal(api, task_ids, timeout):
    deadline, tasks = time.monotonic() + timeout, None
    while True:
        tasks = statuses(api, task_ids) or tasks
        done = tasks is not None and all(t["status"] in TERMINAL for t in tasks)
        if done or time.monotonic() > deadline:
            assert tasks is not None, "no poll was answered"
            return tasks
        time.sleep(0.5)


def test_a_burst_under_faults_and_duplicate_delivery_ends_terminal_and_renders_each_content_a_bounded_number_of_times(
    faulty_stack, owner
):
    # Given 30 rooms, 10 snapshots each, a share of the renderer's reads throttled and every render
    # message delivered twice
    faults = faulty_stack.faults
    throttled = faults.throttle("RendererFunction", "dynamodb", "Query", share=THROTTLED_READS, seed=7)
    faults.duplicate_deliveries("RendererFunction")
    try:
        started = time.monotonic()
        rooms = [owner.create_room(f"Fault room {i}")["id"] for i in range(30)]
        task_ids = [owner.create_snapshot(room_id, "Burst")["task_id"] for room_id in rooms for _ in range(10)]
        # Then every snapshot reaches a terminal state
        tasks = wait_all_terminal(owner, task_ids, timeout=240)
    finally:
        faults.remove(throttled)
        faults.duplicate_deliveries("RendererFunction", False)
    assert throttled.throttled > 0  # the faults did happen
    elapsed = time.monotonic() - started
    statuses = Counter(t["status"] for t in tasks)
    assert len(tasks) == 300
    assert set(statuses) <= TERMINAL, statuses
    failed = [t for t in tasks if t["status"] == "failed"]
    assert all("could not be rendered" in t["error"] for t in failed)
    # And each distinct content was rendered once, or a small bounded number of times
    snapshots = [
        owner.ok("GET", f"/rooms/{t['result']['room_id']}/snapshots/{t['result']['snapshot_id']}")
        for t in tasks
        if t["status"] == "completed"
    ]
    renders = Counter(s["content_hash"] for s in snapshots if s["timings"]["render_ms"] is not None)
    assert len({s["content_hash"] for s in snapshots}) == len({s["room_id"] for s in snapshots})
    assert max(renders.values()) <= 3, renders
    # And one cleanup run leaves nothing unfinished
    faulty_stack.fire_schedule("CleanupFunction")
    after = wait_all_terminal(owner, task_ids, timeout=1)
    assert all(t["status"] in TERMINAL for t in after)
    print(
        f"\n300-snapshot fault run: {dict(statuses)} in {elapsed:.1f} s; {throttled.throttled} reads throttled; "
        f"distinct contents {len(renders)}, renders per content {dict(Counter(renders.values()))}"
    )


def test_a_poison_message_ends_in_the_dead_letter_queue_and_its_snapshot_fails(faulty_stack, owner):
    # Given a room whose every read by the renderer is throttled
    room_id = owner.create_room("Poison room")["id"]
    throttled = faulty_stack.faults.throttle("RendererFunction", "dynamodb", "Query", matching=room_id)
    try:
        snapshot = owner.create_snapshot(room_id, "Poison")
        (task,) = wait_all_terminal(owner, [snapshot["task_id"]], timeout=180)
    finally:
        faulty_stack.faults.remove(throttled)
    assert task["status"] == "failed"
    # And the reason is written for a person: no exception text, a reference to quote
    assert "could not be rendered (4 attempts)" in task["error"]
    assert "Throttling" not in task["error"]
    assert "Rate exceeded" not in task["error"]
    assert "reference " in task["error"]
    sqs = faulty_stack.client("sqs")
    deadline, parked = time.monotonic() + 30, []
    while time.monotonic() < deadline and not parked:
        messages = sqs.receive_message(
            QueueUrl=faulty_stack.resources["RenderDeadLetterQueue"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        parked = [m for m in messages if json.loads(m["Body"]).get("snapshot_id") == snapshot["id"]]
    assert parked, "the poison message was moved to the dead-letter queue"


def test_a_malformed_message_goes_to_the_dead_letter_queue_at_once(faulty_stack):
    sqs = faulty_stack.client("sqs")
    sqs.send_message(QueueUrl=faulty_stack.resources["RenderQueue"], MessageBody='{"snapshot_id": "../../etc"}')
    deadline, parked = time.monotonic() + 30, []
    while time.monotonic() < deadline and not parked:
        messages = sqs.receive_message(
            QueueUrl=faulty_stack.resources["RenderDeadLetterQueue"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        parked = [m for m in messages if "../../etc" in m["Body"]]
    assert parked
    assert "malformed render message" in parked[0]["MessageAttributes"]["reason"]["StringValue"]
