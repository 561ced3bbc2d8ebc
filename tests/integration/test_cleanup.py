"""The cleanup's maintenance against real DynamoDB/S3/SQS APIs (moto over HTTP)."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from roomsnap.dal.expired_records import ExpiredRecords
from roomsnap.dal.queues import RenderQueue
from roomsnap.dal.storage import PdfStore
from roomsnap.errors import PdfBeingDeleted
from roomsnap.models import utc_now

from cleanup.maintenance import Maintenance
from tests.integration.builders import make_renderer, new_room, new_snapshot, objects, process
from verify.logic.signatures import read_signatures
from verify.logic.verifier import Verifier


@pytest.fixture
def queue(aws):
    resources, endpoint = aws
    return endpoint.client("sqs"), resources["RenderQueue"]


def maintenance(
    parts, queue, stuck_after=timedelta(minutes=15), pdf_retention=timedelta(days=7), max_requeues=2
) -> Maintenance:
    return Maintenance(
        parts["snapshots"],
        parts["pdf_records"],
        ExpiredRecords(parts["snapshots"].table_name),
        parts["pdfs"],
        RenderQueue(queue[1]),
        stuck_after,
        max_requeues,
        pdf_retention,
    )


def received(queue) -> list[dict]:
    """Drains the queue (nothing else consumes it in these tests)."""
    sqs, url = queue
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            bodies.append(json.loads(message["Body"]))
    return bodies


def test_a_stuck_task_is_requeued_a_bounded_number_of_times_then_failed(parts, queue):
    room_id = new_room(parts, "Stuck room")
    snapshot = new_snapshot(parts, room_id)  # recorded, but its message was never sent
    now_is_stuck = maintenance(parts, queue, stuck_after=timedelta(seconds=0), max_requeues=2)
    time.sleep(0.01)
    # Two cleanups at once re-enqueue it once between them
    # (other tests' unfinished tasks may be swept too: only this one's messages and count matter)
    first, second = now_is_stuck.run(), now_is_stuck.run()
    mine = [m["snapshot_id"] for m in received(queue)].count(snapshot.id)
    assert 1 <= mine <= first.requeued + second.requeued
    assert parts["snapshots"].get(snapshot.id).requeues == mine
    # After the bound, the task fails with a reason instead of waiting forever
    for _ in range(3):
        time.sleep(0.01)
        now_is_stuck.run()
    stored = parts["snapshots"].get(snapshot.id)
    assert stored.task_status.value == "failed"
    assert "could not be rendered in time (it was retried 2 times)" in stored.error
    assert stored.requeues == 2


def test_a_requeued_task_is_rendered(parts, queue):
    room_id = new_room(parts, "Requeue room")
    snapshot = new_snapshot(parts, room_id)
    time.sleep(0.01)
    assert maintenance(parts, queue, stuck_after=timedelta(seconds=0)).run().requeued == 1
    [message] = [m for m in received(queue) if m["snapshot_id"] == snapshot.id]
    assert process(make_renderer(parts), snapshot).snapshot.task_status.value == "completed"


def test_unreferenced_old_pdfs_are_deleted_and_referenced_ones_kept(parts, queue):
    room_id = new_room(parts, "Retention room")
    kept = process(make_renderer(parts), new_snapshot(parts, room_id, "Kept")).snapshot
    orphan_hash = "0" * 64
    parts["pdfs"].put_if_absent(orphan_hash, b"%PDF-1.4 orphan")
    report = maintenance(parts, queue, pdf_retention=timedelta(seconds=0)).run()
    assert objects(parts, orphan_hash) == 0
    assert objects(parts, kept.content_hash) == 1
    assert report.pdfs_deleted >= 1
    assert report.pdfs_kept_referenced >= 1


def test_cleanup_racing_a_renderer_never_deletes_a_pdf_it_reuses(parts, queue):
    """The renderer finds the (so far unreferenced) PDF in S3; before it records the reuse, the
    cleanup runs. The renderer touched the PDF's record before looking, so the cleanup keeps it."""
    room_id = new_room(parts, "Race with cleanup")
    first = process(make_renderer(parts), new_snapshot(parts, room_id, "Shared")).snapshot
    parts["snapshots"].delete(first, _audit())  # now nothing references the PDF
    cleanup = maintenance(parts, queue, pdf_retention=timedelta(seconds=1))
    time.sleep(1.1)  # and nothing has used it within the retention
    reports = []

    class CleanupRunsAfterLookup(PdfStore):
        def get(self, content_hash):
            found = super().get(content_hash)
            reports.append(cleanup.run())  # the cleanup strikes between the lookup and the completion
            return found

    racing = make_renderer(parts)
    racing.pdfs = CleanupRunsAfterLookup(parts["bucket"])
    outcome = process(racing, new_snapshot(parts, room_id, "Shared"))
    assert outcome.snapshot.task_status.value == "completed"
    assert outcome.cache_layer == "s3"
    assert objects(parts, first.content_hash) == 1
    assert reports[0].pdfs_deleted == 0


def test_a_renderer_waits_while_the_cleanup_deletes_then_renders_anew(parts, queue):
    room_id = new_room(parts, "Deleting now")
    first = process(make_renderer(parts), new_snapshot(parts, room_id, "Shared")).snapshot
    parts["snapshots"].delete(first, _audit())
    time.sleep(0.01)
    # Given a cleanup that has marked the unreferenced PDF for deletion
    lock = parts["pdf_records"].mark_for_deletion(first.content_hash, unused_since=_iso_now(), stale_mark_before="0")
    assert lock
    snapshot = new_snapshot(parts, room_id, "Shared")
    # Then a renderer wanting it backs off instead of reusing a PDF about to vanish
    with pytest.raises(PdfBeingDeleted):
        process(make_renderer(parts), snapshot)
    parts["snapshots"].release(snapshot.id, last_error="PdfBeingDeleted", stage="Retrying")
    # And once the deletion is done, the retry renders it again
    parts["pdfs"].delete(first.content_hash)
    parts["pdf_records"].unmark(first.content_hash, lock, forget=True)
    retry = process(make_renderer(parts), snapshot)
    assert retry.snapshot.task_status.value == "completed"
    assert retry.cache_layer == "rendered"
    assert objects(parts, first.content_hash) == 1


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_expired_records_are_removed_even_when_ttl_is_late(parts, queue, aws):
    resources, endpoint = aws
    room_id = new_room(parts, "Expiry room")
    snapshot = new_snapshot(parts, room_id, "Old")
    dynamodb = endpoint.client("dynamodb")
    past = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    dynamodb.update_item(
        TableName=resources["DataTable"],
        Key={"PK": {"S": f"SNAP#{snapshot.id}"}, "SK": {"S": "SNAP"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(past)}},
    )
    assert maintenance(parts, queue).run().expired_records_removed >= 1
    assert parts["snapshots"].get(snapshot.id) is None


def _audit():
    from roomsnap.ids import new_id
    from roomsnap.models import Activity, utc_now

    return Activity(id=new_id(), at=utc_now(), actor="o@x.io", action="snapshot.deleted", category="audit")


def test_after_the_cleanup_a_re_render_issues_new_bytes_and_the_old_file_still_verifies(parts, queue):
    """Issuance records outlive the snapshot and the cached PDF: the old file verifies as issued,
    and the re-render (signed anew: other bytes) is issued under a record of its own."""
    room_id = new_room(parts, "Re-render after cleanup, Yeosu")
    first = process(make_renderer(parts), new_snapshot(parts, room_id, "Kept on record")).snapshot
    old_pdf = parts["pdfs"].get(first.content_hash)
    parts["snapshots"].delete(first, _audit())
    report = maintenance(parts, queue, pdf_retention=timedelta(seconds=0)).run(["unreferenced_pdfs", "expired_records"])
    assert report.pdfs_deleted >= 1
    assert objects(parts, first.content_hash) == 0
    again = process(make_renderer(parts), new_snapshot(parts, room_id, "Kept on record")).snapshot
    assert again.content_hash == first.content_hash  # the same printed content
    assert again.pdf_sha256 != first.pdf_sha256  # signed anew
    verifier = Verifier(parts["issuances"], parts["rooms"], lambda pdf: read_signatures(pdf, []))
    old = verifier.by_pdf(old_pdf, None)
    assert (old.verdict, old.snapshot_id) == ("issued", first.id)
    new = verifier.by_sha256(again.pdf_sha256, None)
    assert (new.verdict, new.snapshot_id) == ("issued", again.id)


def test_unfinished_tasks_spread_over_the_index_shards_and_the_sweep_reads_them_all(aws, parts, queue):
    # Given forty snapshots recorded at once, none of them sent to a renderer
    resources, endpoint = aws
    room_id = new_room(parts, "Zhoushan anchorage")
    made = [new_snapshot(parts, room_id, title=f"Zhoushan {index}") for index in range(40)]
    dynamodb = endpoint.client("dynamodb")
    partitions = {
        dynamodb.get_item(TableName=resources["DataTable"], Key={"PK": {"S": f"SNAP#{s.id}"}, "SK": {"S": "SNAP"}})[
            "Item"
        ]["GSI2PK"]["S"]
        for s in made
    }
    # Then their index entries are not under one key, but spread over many shards
    assert all(partition.startswith("ACTIVE#") for partition in partitions)
    assert len(partitions) >= 15
    # And the sweep for silent tasks finds every one of them, whichever shard it is in
    time.sleep(0.01)
    stale = {snapshot.id for snapshot, _ in parts["snapshots"].stale_active(utc_now())}
    assert {snapshot.id for snapshot in made} <= stale
    # And the oldest unfinished task's age is read across the shards
    assert parts["snapshots"].oldest_unfinished_since() <= made[0].created_at
