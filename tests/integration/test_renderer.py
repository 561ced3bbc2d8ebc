"""The renderer's logic against real DynamoDB/S3 APIs (moto over HTTP): cache layers, races,
duplicate deliveries, cancellation."""

import hashlib
import threading
import time
from datetime import UTC, datetime

import pytest

from roomsnap.clearance import BlockerKind, ClearanceStatus
from roomsnap.errors import LeaseHeld, SnapshotSettled
from roomsnap.ids import new_id
from roomsnap.models import Activity, TaskStatus, utc_now

from renderer.report import render_report
from tests.integration.builders import make_renderer, new_room, new_snapshot, objects, process


def test_a_miss_renders_then_memory_then_s3_serve_the_same_pdf(parts):
    room_id = new_room(parts)
    renderer = make_renderer(parts)
    first = process(renderer, new_snapshot(parts, room_id))
    second = process(renderer, new_snapshot(parts, room_id))
    third = process(make_renderer(parts), new_snapshot(parts, room_id))  # a cold container
    assert (first.cache_layer, second.cache_layer, third.cache_layer) == ("rendered", "memory", "s3")
    hashes = {o.snapshot.content_hash for o in (first, second, third)}
    assert len(hashes) == 1
    assert objects(parts, hashes.pop()) == 1
    assert all(
        o.snapshot.task_status is TaskStatus.COMPLETED and o.pdf_bytes == first.pdf_bytes for o in (second, third)
    )


def test_each_completed_snapshot_records_the_clearance_its_pdf_prints(parts):
    # Given a room with no approval, rendered once, then served to a cold container by its content key
    room_id = new_room(parts, "Clearance room")
    first = process(make_renderer(parts), new_snapshot(parts, room_id))
    second = process(make_renderer(parts), new_snapshot(parts, room_id))
    # Then both stored records carry the verdict: not cleared, as no approval is recorded
    stored = [parts["snapshots"].get(outcome.snapshot.id) for outcome in (first, second)]
    assert second.cache_layer == "s3"
    assert stored[0].clearance == stored[1].clearance
    assert stored[0].clearance.status is ClearanceStatus.NOT_CLEARED
    assert [blocker.kind for blocker in stored[0].clearance.blockers] == [BlockerKind.NO_APPROVAL]


def test_two_renderers_of_the_same_hash_at_once_leave_one_object_and_two_completed_snapshots(parts):
    room_id = new_room(parts, "Race room")
    both_rendering = threading.Barrier(2, timeout=10)
    renders = []

    def render_in_step(content):
        pdf = render_report(content)
        renders.append(1)
        both_rendering.wait()  # both have missed every cache layer and rendered
        return pdf

    snapshots = [new_snapshot(parts, room_id), new_snapshot(parts, room_id)]
    outcomes = [None, None]

    def run(index):
        outcomes[index] = process(make_renderer(parts, render_in_step), snapshots[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(20) for t in threads]
    assert len(renders) == 2
    assert sorted(o.cache_layer for o in outcomes) == ["rendered", "s3"]  # the loser's write counts as a hit
    assert {parts["snapshots"].get(s.id).task_status for s in snapshots} == {TaskStatus.COMPLETED}
    assert objects(parts, outcomes[0].snapshot.content_hash) == 1
    # Each signed its own render (other bytes), and the loser adopted the stored object: both
    # snapshots carry the stored bytes' SHA-256 and size
    stored = parts["pdfs"].get(outcomes[0].snapshot.content_hash)
    assert {(o.snapshot.pdf_sha256, o.snapshot.file_size) for o in outcomes} == {
        (hashlib.sha256(stored).hexdigest(), len(stored))
    }


def test_a_redelivered_message_does_not_render_twice(parts):
    room_id = new_room(parts, "Redelivery room")
    snapshot = new_snapshot(parts, room_id)
    renders = []

    def counting(content):
        renders.append(1)
        return render_report(content)

    renderer = make_renderer(parts, counting)
    assert process(renderer, snapshot).snapshot.task_status is TaskStatus.COMPLETED
    with pytest.raises(SnapshotSettled):
        process(renderer, snapshot)
    assert len(renders) == 1
    assert parts["snapshots"].get(snapshot.id).attempts == 1


def test_a_small_render_goes_from_pending_to_completed_in_one_write(parts):
    room_id = new_room(parts, "Unclaimed room")
    snapshot = new_snapshot(parts, room_id)
    seen = []

    def watching(content):
        seen.append(parts["snapshots"].get(snapshot.id).task_status)
        return render_report(content)

    outcome = process(make_renderer(parts, watching), snapshot)
    stored = parts["snapshots"].get(snapshot.id)
    assert seen == [TaskStatus.PENDING]  # no claim: nobody could have seen it running
    assert outcome.snapshot.task_status is stored.task_status is TaskStatus.COMPLETED
    assert stored.started_at
    assert stored.attempts == 1
    assert stored.progress == 100


def test_a_duplicate_of_an_unclaimed_render_is_discarded_once_the_first_completes(parts):
    room_id = new_room(parts, "Duplicate room")
    snapshot = new_snapshot(parts, room_id)
    both_rendering = threading.Barrier(2, timeout=10)

    def render_in_step(content):
        pdf = render_report(content)
        both_rendering.wait()
        return pdf

    outcomes = [None, None]

    def run(index):
        outcomes[index] = process(make_renderer(parts, render_in_step), snapshot)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join(20) for t in threads]
    assert sorted(o.snapshot is None for o in outcomes) == [False, True]  # one completes, one is discarded
    assert parts["snapshots"].get(snapshot.id).task_status is TaskStatus.COMPLETED
    assert parts["snapshots"].get(snapshot.id).attempts == 1


def test_a_second_delivery_while_the_first_renders_waits_for_the_lease(parts):
    room_id = new_room(parts, "Lease room")
    snapshot = new_snapshot(parts, room_id)
    in_render, release = threading.Event(), threading.Event()

    def slow(content):
        in_render.set()
        release.wait(10)
        return render_report(content)

    first = threading.Thread(target=process, args=(make_renderer(parts, slow, claim_rows=0), snapshot))
    first.start()
    assert in_render.wait(10)
    with pytest.raises(LeaseHeld) as held:
        process(make_renderer(parts), snapshot)
    assert 0 < held.value.retry_after <= 35
    release.set()
    first.join(10)
    assert parts["snapshots"].get(snapshot.id).task_status is TaskStatus.COMPLETED


def test_a_task_cancelled_during_its_render_is_never_completed(parts):
    room_id = new_room(parts, "Cancel room")
    snapshot = new_snapshot(parts, room_id)

    def cancelled_meanwhile(content):
        audit = Activity(id=new_id(), at=utc_now(), actor="o@x.io", action="snapshot.cancelled", category="audit")
        parts["snapshots"].cancel(parts["snapshots"].get(snapshot.id), audit)
        return render_report(content)

    outcome = process(make_renderer(parts, cancelled_meanwhile), snapshot)
    assert outcome.snapshot is None
    stored = parts["snapshots"].get(snapshot.id)
    assert stored.task_status is TaskStatus.CANCELLED
    assert stored.content_hash is None
    assert stored.progress < 100


def test_a_deleted_room_fails_the_snapshot_with_a_reason(parts, aws):
    resources, endpoint = aws
    room_id = new_room(parts, "Doomed room")
    snapshot = new_snapshot(parts, room_id)
    endpoint.client("dynamodb").delete_item(
        TableName=resources["DataTable"], Key={"PK": {"S": f"ROOM#{room_id}"}, "SK": {"S": "META"}}
    )
    outcome = process(make_renderer(parts), snapshot)
    stored = parts["snapshots"].get(snapshot.id)
    assert outcome.snapshot.task_status is TaskStatus.FAILED
    assert stored.task_status is TaskStatus.FAILED
    assert "no longer exists" in stored.error


class Crash(BaseException):
    """A renderer dying mid-render (the process is gone: nothing is released)."""


def dies(content):
    raise Crash()


# Long enough that a busy machine cannot let it run out before the second renderer asks.
LEASE_S = 3


def test_a_renderer_that_dies_mid_render_loses_nothing(parts):
    room_id = new_room(parts, "Crash room")
    snapshot = new_snapshot(parts, room_id)
    with pytest.raises(Crash):
        make_renderer(parts, dies, claim_rows=0).process(snapshot.id, datetime.now(UTC), lease_seconds=LEASE_S)
    assert parts["snapshots"].get(snapshot.id).task_status is TaskStatus.RUNNING
    # The message comes back; once the dead renderer's lease has run out, the next one takes over
    with pytest.raises(LeaseHeld):
        process(make_renderer(parts), snapshot)
    time.sleep(LEASE_S + 0.05)
    outcome = make_renderer(parts).process(snapshot.id, datetime.now(UTC), lease_seconds=30)
    stored = parts["snapshots"].get(snapshot.id)
    assert outcome.snapshot.task_status is TaskStatus.COMPLETED
    assert stored.attempts == 2


def test_an_unclaimed_render_that_dies_leaves_the_task_pending_for_the_next_delivery(parts):
    room_id = new_room(parts, "Unclaimed crash room")
    snapshot = new_snapshot(parts, room_id)
    with pytest.raises(Crash):
        process(make_renderer(parts, dies), snapshot)
    assert parts["snapshots"].get(snapshot.id).task_status is TaskStatus.PENDING
    assert process(make_renderer(parts), snapshot).snapshot.task_status is TaskStatus.COMPLETED


def test_a_warm_container_confirms_a_pdf_once_within_its_touch_window(parts):
    room_id = new_room(parts, "Touch window")
    touches = []

    class CountingPdfRecords(type(parts["pdf_records"])):
        def touch(self, content_hash, stale_mark_before):
            touches.append(content_hash)
            return super().touch(content_hash, stale_mark_before)

    renderer = make_renderer(parts)
    renderer.pdf_records = CountingPdfRecords(parts["pdf_records"].table_name)
    renderer.touch_valid_s = 60
    layers = [process(renderer, new_snapshot(parts, room_id)).cache_layer for _ in range(3)]
    assert layers == ["rendered", "memory", "memory"]
    assert len(touches) == 1
    renderer.touch_valid_s = 0  # outside the window every use touches again
    process(renderer, new_snapshot(parts, room_id))
    assert len(touches) == 2
