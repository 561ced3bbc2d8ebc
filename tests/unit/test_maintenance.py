"""Maintenance against in-memory repositories: stuck tasks, unreferenced cached PDFs and expired
records, each step safe against a second cleanup and against renderers at work."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from roomsnap.errors import PdfBeingDeleted
from roomsnap.models import TaskStatus, iso

from api.logic.rooms import activity
from cleanup.maintenance import Maintenance, Report
from tests.unit.builders import OWNER, new_snapshot, rendered
from tests.unit.fakes import Repositories

STUCK_AFTER = timedelta(minutes=15)
RETENTION = timedelta(days=7)
MAX_REQUEUES = 2


def cleanup(repos: Repositories) -> Maintenance:
    return Maintenance(
        repos.snapshots,
        repos.pdf_records,
        repos.expired,
        repos.pdfs,
        repos.queue,
        stuck_after=STUCK_AFTER,
        max_requeues=MAX_REQUEUES,
        pdf_retention=RETENTION,
    )


@pytest.fixture
def maintenance(repos: Repositories) -> Maintenance:
    return cleanup(repos)


def recover_at(maintenance: Maintenance, now: datetime) -> Report:
    report = Report()
    maintenance.recover_stuck(now, report)
    return report


def ago(delta: timedelta) -> str:
    return iso(datetime.now(UTC) - delta)


def cached_pdf(
    repos: Repositories, age: timedelta = timedelta(days=8), pdf: bytes = b"%PDF-1.7 cached", **use_record: str
) -> str:
    """A PDF written to the bucket `age` ago, with this use record if any; returns its content hash."""
    digest = hashlib.sha256(pdf).hexdigest()
    repos.pdfs.put_if_absent(digest, pdf, at=datetime.now(UTC) - age)
    if use_record:
        repos.pdf_records.use[digest] = use_record
    return digest


def can_be_touched(repos: Repositories, digest: str) -> bool:
    """Whether a renderer may use the PDF now (no live deletion mark on it)."""
    try:
        repos.pdf_records.touch(digest, stale_mark_before=ago(timedelta(minutes=10)))
    except PdfBeingDeleted:
        return False
    return True


# ---------------------------------------------------------------- stuck tasks


def test_a_stuck_pending_task_is_re_enqueued_with_its_correlation_id(repos, maintenance, room_id):
    # Given a task pending for an hour, its message lost
    snapshot = new_snapshot(repos, room_id, created_at=ago(timedelta(hours=1)), correlation_id="req-9")
    # When the cleanup runs
    report = maintenance.run()
    # Then it sends the task's message again, once, and counts it on the task
    assert report.requeued == 1
    assert repos.queue.sent == [{"snapshot_id": snapshot.id, "room_id": room_id, "correlation_id": "req-9"}]
    requeued = repos.snapshots.get(snapshot.id)
    assert (requeued.requeues, requeued.stage) == (1, "Re-queued by maintenance")


def test_a_task_with_a_recent_sign_of_life_is_left_alone(repos, maintenance, room_id):
    # Given a task pending for a little less than STUCK_AFTER
    new_snapshot(repos, room_id, created_at=ago(STUCK_AFTER - timedelta(minutes=1)))
    # When the cleanup runs
    # Then it does not send it again
    assert maintenance.run().requeued == 0
    assert repos.queue.sent == []


def test_a_running_task_whose_renderer_holds_the_lease_is_left_alone(repos, maintenance, room_id):
    # Given a task claimed by a renderer with an hour's lease, silent since
    snapshot = new_snapshot(repos, room_id)
    repos.snapshots.claim(snapshot.id, lease_seconds=3600)
    # When the cleanup looks at it half an hour later
    report = recover_at(maintenance, datetime.now(UTC) + timedelta(minutes=30))
    # Then it is the renderer's still
    assert (report.requeued, report.failed_stuck, repos.queue.sent) == (0, 0, [])
    assert repos.snapshots.get(snapshot.id).task_status is TaskStatus.RUNNING


def test_a_running_task_whose_lease_ran_out_is_re_enqueued(repos, maintenance, room_id):
    # Given a task claimed by a renderer that crashed: its lease is over
    snapshot = new_snapshot(repos, room_id)
    repos.snapshots.claim(snapshot.id, lease_seconds=-1)
    # When the cleanup looks at it an hour later
    report = recover_at(maintenance, datetime.now(UTC) + timedelta(hours=1))
    # Then it is sent again
    assert report.requeued == 1
    assert [message["snapshot_id"] for message in repos.queue.sent] == [snapshot.id]


def test_a_stuck_task_is_re_enqueued_at_most_max_requeues_times_then_failed_with_a_reason(repos, maintenance, room_id):
    # Given a task whose messages keep getting lost
    snapshot = new_snapshot(repos, room_id, created_at=ago(timedelta(hours=1)))
    # When the cleanup finds it stuck, hour after hour
    now = datetime.now(UTC)
    reports = [recover_at(maintenance, now + timedelta(hours=hour)) for hour in range(1, MAX_REQUEUES + 3)]
    # Then it is re-enqueued MAX_REQUEUES times, then failed once, with a reason a person can read
    assert [(r.requeued, r.failed_stuck) for r in reports] == [(1, 0)] * MAX_REQUEUES + [(0, 1), (0, 0)]
    assert len(repos.queue.sent) == MAX_REQUEUES
    failed = repos.snapshots.get(snapshot.id)
    assert failed.task_status is TaskStatus.FAILED
    assert failed.error.startswith(f"The snapshot could not be rendered in time (it was retried {MAX_REQUEUES} times)")
    assert [line["outcome"] for line in repos.log.lines] == ["failed"]


def test_the_failure_of_a_stuck_task_is_written_for_users_and_quotes_its_reference(repos, maintenance, room_id):
    # Given a stuck task re-enqueued as often as allowed, whose last render was throttled
    snapshot = new_snapshot(
        repos,
        room_id,
        created_at=ago(timedelta(hours=1)),
        requeues=MAX_REQUEUES,
        last_error="TransientError: throttled",
        correlation_id="req-7",
    )
    # When the cleanup runs
    # Then it fails the task with a reason a person can act on, and no internal text
    assert maintenance.run().failed_stuck == 1
    error = repos.snapshots.get(snapshot.id).error
    assert "quoting reference req-7" in error
    assert "TransientError" not in error


def test_two_cleanups_cannot_both_re_enqueue_a_task(repos, room_id, monkeypatch):
    # Given two cleanups that read the same stuck task at the same time
    snapshot = new_snapshot(repos, room_id, created_at=ago(timedelta(hours=1)))
    first, second = cleanup(repos), cleanup(repos)
    now = datetime.now(UTC)
    read_by_both = repos.snapshots.stale_active(iso(now - STUCK_AFTER))
    # When the first re-enqueues it, and then the second acts on what it read
    first_report = recover_at(first, now)
    monkeypatch.setattr(repos.snapshots, "stale_active", lambda heartbeat_before: read_by_both)
    second_report = recover_at(second, now)
    # Then the task was sent once and counted once
    assert (first_report.requeued, second_report.requeued) == (1, 0)
    assert [message["snapshot_id"] for message in repos.queue.sent] == [snapshot.id]
    assert repos.snapshots.get(snapshot.id).requeues == 1


def test_finished_tasks_are_never_stuck(repos, maintenance, room_id):
    # Given a task completed long ago
    rendered(repos, new_snapshot(repos, room_id, created_at=ago(timedelta(hours=2))))
    # When the cleanup looks for stuck tasks
    report = recover_at(maintenance, datetime.now(UTC) + timedelta(hours=1))
    # Then it finds none
    assert (report.requeued, report.failed_stuck) == (0, 0)


# ---------------------------------------------------------------- cached PDFs


def test_an_unreferenced_pdf_unused_for_the_retention_is_deleted_with_its_record(repos, maintenance):
    # Given a PDF last used eight days ago, which no snapshot references
    digest = cached_pdf(repos, last_used_at=ago(timedelta(days=8)))
    # When the cleanup runs
    report = maintenance.run()
    # Then the PDF and its use record are gone
    assert report.pdfs_deleted == 1
    assert not repos.pdfs.exists(digest)
    assert digest not in repos.pdf_records.use


def test_a_referenced_pdf_is_kept_and_unmarked(repos, maintenance, room_id):
    # Given an old PDF that a completed snapshot points at
    digest = cached_pdf(repos, pdf=b"%PDF-1.7 kept", last_used_at=ago(timedelta(days=8)))
    rendered(repos, new_snapshot(repos, room_id), pdf=b"%PDF-1.7 kept")
    # When the cleanup runs
    report = maintenance.run()
    # Then the PDF stays, and a renderer may use it at once
    assert (report.pdfs_kept_referenced, report.pdfs_deleted) == (1, 0)
    assert repos.pdfs.exists(digest)
    assert can_be_touched(repos, digest)


def test_a_pdf_of_a_deleted_snapshot_is_deleted(repos, maintenance, room_id):
    # Given an old PDF whose only snapshot was deleted
    digest = cached_pdf(repos, pdf=b"%PDF-1.7 orphan")
    snapshot = rendered(repos, new_snapshot(repos, room_id), pdf=b"%PDF-1.7 orphan")
    repos.snapshots.delete(snapshot, activity(OWNER, "snapshot.deleted", snapshot.id, category="audit"))
    # When the cleanup runs
    # Then nothing references the PDF any more, and it is deleted
    assert maintenance.run().pdfs_deleted == 1
    assert not repos.pdfs.exists(digest)


def test_a_pdf_used_within_the_retention_is_left_alone(repos, maintenance):
    # Given an old PDF that a renderer used yesterday
    digest = cached_pdf(repos, last_used_at=ago(timedelta(days=1)))
    # When the cleanup runs
    report = maintenance.run()
    # Then its mark could not be taken, and the PDF stays
    assert (report.pdfs_deleted, report.pdfs_kept_referenced) == (0, 0)
    assert repos.pdfs.exists(digest)
    assert can_be_touched(repos, digest)


def test_a_pdf_another_cleanup_is_deleting_is_left_to_it(repos, maintenance):
    # Given an old PDF that another cleanup, still at work, marked a minute ago
    digest = cached_pdf(repos, deleting=ago(timedelta(minutes=1)))
    # When this cleanup runs
    report = maintenance.run()
    # Then it leaves the PDF and the other cleanup's mark alone
    assert report.pdfs_deleted == 0
    assert repos.pdfs.exists(digest)
    assert not can_be_touched(repos, digest)


def test_a_mark_left_by_a_crashed_cleanup_does_not_keep_a_pdf_forever(repos, maintenance):
    # Given an old PDF marked by a cleanup that crashed 11 minutes ago
    digest = cached_pdf(repos, deleting=ago(timedelta(minutes=11)))
    # When the cleanup runs
    # Then the stale mark counts for nothing, and the PDF is deleted
    assert maintenance.run().pdfs_deleted == 1
    assert not repos.pdfs.exists(digest)


def test_a_pdf_written_within_the_retention_is_not_looked_at(repos, maintenance):
    # Given a PDF written six days and 23 hours ago, never used since
    digest = cached_pdf(repos, age=RETENTION - timedelta(hours=1))
    # When the cleanup runs
    # Then the PDF stays, not even marked
    assert maintenance.run().pdfs_deleted == 0
    assert repos.pdfs.exists(digest)
    assert digest not in repos.pdf_records.use


# ---------------------------------------------------------------- expired records


def test_expired_records_are_removed_and_counted(repos, maintenance):
    # Given a record past its expiry (TTL lags) and one not yet
    now = int(datetime.now(UTC).timestamp())
    repos.expired.expires_at.update({"IDEMP#old": now - 60, "CONTENT#fresh": now + 3600})
    # When the cleanup runs
    # Then the expired one is removed and counted
    assert maintenance.run().expired_records_removed == 1
    assert list(repos.expired.expires_at) == ["CONTENT#fresh"]
