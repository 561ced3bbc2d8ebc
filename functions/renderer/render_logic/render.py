"""One snapshot through its task: claim → gather → hash → L1 → S3 → render on a miss → complete.

Every status change is a conditional write (roomsnap.dal.snapshots), so a redelivered message, a
cancelled task or a deleted snapshot never moves a record backwards or completes it twice."""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.snapshots import STALE_PDF_LOCK
from roomsnap.errors import PermanentRenderError
from roomsnap.hashing import content_hash
from roomsnap.models import ReportContent, Snapshot, TaskStatus, Timings
from roomsnap.storage import PdfStore

from render_logic.cache import ByteBoundedLRU
from render_logic.content import gather


@dataclass
class Outcome:
    snapshot: Snapshot | None  # None: cancelled or deleted while rendering, result discarded
    cache_layer: str | None = None
    pdf_bytes: int = 0


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class SnapshotRenderer:
    def __init__(
        self,
        rooms: RoomRepository,
        snapshots: SnapshotRepository,
        pdfs: PdfStore,
        memory: ByteBoundedLRU,
        render: Callable[[ReportContent], bytes],
        template_version: str,
        library_version: str,
    ):
        self.rooms = rooms
        self.snapshots = snapshots
        self.pdfs = pdfs
        self.memory = memory
        self.render = render
        self.versions = (template_version, library_version)
        self.container_id = uuid.uuid4().hex[:12]  # tells warm containers apart in the metrics

    def process(self, snapshot_id: str, sent_at: datetime, lease_seconds: float) -> Outcome:
        """Raises SnapshotSettled when there is nothing to do, TransientError (or any unexpected
        error) to be retried; a PermanentRenderError fails the snapshot here and returns."""
        started = time.perf_counter()
        snapshot = self.snapshots.claim(snapshot_id, lease_seconds)
        timings = Timings(queue_wait_ms=max(0.0, (datetime.now(timezone.utc) - sent_at).total_seconds() * 1000))
        try:
            step = time.perf_counter()
            content = gather(self.rooms, snapshot, datetime.now(timezone.utc).date())
            timings.gather_ms = _ms_since(step)
            self.snapshots.progress(snapshot_id, 30)
            digest = content_hash(content, *self.versions)
            self.snapshots.touch_pdf(digest, stale_lock_before=_iso(datetime.now(timezone.utc) - STALE_PDF_LOCK))
            pdf, layer = self._cached(digest)
            self.snapshots.progress(snapshot_id, 60)
            if pdf is None:
                pdf, layer = self._render_and_store(content, digest, timings)
                self.snapshots.progress(snapshot_id, 80)
        except PermanentRenderError as error:
            failed = snapshot.model_copy(update={"task_status": TaskStatus.FAILED, "error": str(error)})
            return Outcome(failed if self.snapshots.fail(snapshot_id, str(error)) else None)
        timings.total_ms = _ms_since(started)
        usage = {"renderer_id": self.container_id, "l1_entries": len(self.memory), "l1_bytes": self.memory.used_bytes}
        completed = self.snapshots.complete(snapshot, digest, usage, file_size=len(pdf), cache_layer=layer, timings=timings)
        return Outcome(completed, layer, len(pdf))

    def _cached(self, digest: str) -> tuple[bytes | None, str | None]:
        if (pdf := self.memory.get(digest)) is not None:
            # One conditional PUT both confirms the object and restores it if the cleanup removed
            # it since this container cached it: a memory hit never points a snapshot at nothing.
            self.pdfs.put_if_absent(digest, pdf)
            return pdf, "memory"
        if (pdf := self.pdfs.get(digest)) is not None:
            self.memory.put(digest, pdf)
            return pdf, "s3"
        return None, None

    def _render_and_store(self, content: ReportContent, digest: str, timings: Timings) -> tuple[bytes, str]:
        step = time.perf_counter()
        try:
            pdf = self.render(content)
        except ValueError as error:  # content the report cannot print, e.g. a glyph no font has
            raise PermanentRenderError(str(error)) from error
        timings.render_ms = _ms_since(step)
        step = time.perf_counter()
        # Losing the race to a concurrent writer of the same hash is a hit: the bytes are the same.
        layer = "rendered" if self.pdfs.put_if_absent(digest, pdf) else "s3"
        timings.store_ms = _ms_since(step)
        self.memory.put(digest, pdf)
        return pdf, layer
