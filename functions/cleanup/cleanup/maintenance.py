"""Scheduled maintenance; every step is safe to run twice at once (conditional writes decide)."""

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from roomsnap.dal import SnapshotRepository
from roomsnap.dal.expired_records import ExpiredRecords
from roomsnap.dal.pdf_records import STALE_DELETION_MARK, PdfRecords
from roomsnap.dal.queues import RenderQueue
from roomsnap.dal.storage import PdfStore
from roomsnap.errors import failure_for_users
from roomsnap.models import iso
from roomsnap.observability import logger

Step = Literal["stuck_tasks", "unreferenced_pdfs", "expired_records"]
STEPS: tuple[Step, ...] = ("stuck_tasks", "unreferenced_pdfs", "expired_records")


@dataclass
class Report:
    requeued: int = 0
    failed_stuck: int = 0
    pdfs_deleted: int = 0
    pdfs_kept_referenced: int = 0
    expired_records_removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Maintenance:
    def __init__(
        self,
        snapshots: SnapshotRepository,
        pdf_records: PdfRecords,
        expired: ExpiredRecords,
        pdfs: PdfStore,
        queue: RenderQueue,
        stuck_after: timedelta,
        max_requeues: int,
        pdf_retention: timedelta,
    ):
        self.snapshots = snapshots
        self.pdf_records = pdf_records
        self.expired = expired
        self.pdfs = pdfs
        self.queue = queue
        self.stuck_after = stuck_after
        self.max_requeues = max_requeues
        self.pdf_retention = pdf_retention

    def run(self, steps: Iterable[Step] = STEPS) -> Report:
        """The steps asked for (all by default). The template runs stuck_tasks every 5 minutes and
        the two sweeps that read everything (the bucket's listing, the table's scan) once a day:
        their cost grows with what is stored, and a day is well inside the PDF retention (7 days)
        and DynamoDB's own TTL lag (up to 48 h)."""
        report = Report()
        now = datetime.now(UTC)
        if "stuck_tasks" in steps:
            self.recover_stuck(now, report)
        if "unreferenced_pdfs" in steps:
            self.delete_unreferenced_pdfs(now, report)
        if "expired_records" in steps:
            report.expired_records_removed = self.expired.delete_expired(int(time.time()))
        return report

    def recover_stuck(self, now: datetime, report: Report) -> None:
        """Unfinished tasks silent for too long have lost their message (a crash on the last
        delivery, or a send that never happened): re-enqueue them, a bounded number of times."""
        for snapshot, heartbeat in self.snapshots.stale_active(iso(now - self.stuck_after)):
            if snapshot.requeues >= self.max_requeues:
                details = {"snapshot_id": snapshot.id, "requeues": snapshot.requeues, "last_error": snapshot.last_error}
                logger.warning("stuck task failed", extra=details)
                reason = failure_for_users(
                    f"The snapshot could not be rendered in time (it was retried {snapshot.requeues} times)",
                    snapshot.correlation_id,
                )
                report.failed_stuck += bool(self.snapshots.fail(snapshot.id, reason))
            elif self.snapshots.mark_requeued(snapshot.id, heartbeat_seen=heartbeat):
                self.queue.send(snapshot.id, snapshot.room_id, snapshot.correlation_id or "")
                report.requeued += 1

    def delete_unreferenced_pdfs(self, now: datetime, report: Report) -> None:
        """Deletes cached PDFs that no snapshot references and nothing used within the retention.
        The PDF's record is marked `deleting` first, and only if no renderer touched it within the
        retention (renderers touch it before they look for the PDF); a renderer that touches it
        while marked waits and retries. So a PDF that is referenced, or about to be, stays."""
        cutoff = now - self.pdf_retention
        for content_hash in self.pdfs.hashes_older_than(cutoff):
            mark = self.pdf_records.mark_for_deletion(
                content_hash, unused_since=iso(cutoff), stale_mark_before=iso(now - STALE_DELETION_MARK)
            )
            if mark is None:
                continue
            if self.pdf_records.referenced(content_hash):
                self.pdf_records.unmark(content_hash, mark, forget=False)
                report.pdfs_kept_referenced += 1
                continue
            self.pdfs.delete(content_hash)
            self.pdf_records.unmark(content_hash, mark, forget=True)
            report.pdfs_deleted += 1
