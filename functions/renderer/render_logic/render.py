"""One snapshot through its task: running → gather → hash → L1 → S3 → render on a miss → completed.

Every status change is a conditional write, so a redelivered message, a cancelled task or a
deleted snapshot never moves a record backwards or completes it twice."""

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.errors import PermanentRenderError
from roomsnap.hashing import content_hash
from roomsnap.models import STAGES, ReportContent, Snapshot, TaskStatus, Timings, utc_now
from roomsnap.storage import PdfStore

from render_logic.cache import ByteBoundedLRU
from render_logic.content import gather

ACTIVE = (TaskStatus.PENDING, TaskStatus.RUNNING)


@dataclass
class Outcome:
    snapshot: Snapshot | None
    cache_layer: str | None = None
    pdf_bytes: int = 0


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

    def _progress(self, snapshot_id: str, progress: int) -> None:
        self.snapshots.transition(snapshot_id, [TaskStatus.RUNNING], progress=progress, stage=STAGES[progress])

    def process(self, snapshot_id: str, sent_at: datetime) -> Outcome:
        started = time.perf_counter()
        now = utc_now()
        snapshot = self.snapshots.transition(
            snapshot_id, ACTIVE, task_status=TaskStatus.RUNNING, progress=10, stage=STAGES[10], started_at=now
        )
        if snapshot is None:
            return Outcome(None)  # already terminal (a duplicate delivery), cancelled or deleted
        timings = Timings(queue_wait_ms=max(0.0, (datetime.now(timezone.utc) - sent_at).total_seconds() * 1000))
        try:
            step = time.perf_counter()
            content = gather(self.rooms, snapshot, datetime.now(timezone.utc).date())
            timings.gather_ms = _ms_since(step)
            self._progress(snapshot_id, 30)
            digest = content_hash(content, *self.versions)
            pdf, layer = self._cached(digest)
            self._progress(snapshot_id, 60)
            if pdf is None:
                step = time.perf_counter()
                try:
                    pdf = self.render(content)
                except ValueError as error:  # content the report cannot print, e.g. a glyph no font has
                    raise PermanentRenderError(str(error)) from error
                timings.render_ms = _ms_since(step)
                step = time.perf_counter()
                # Losing the race to a concurrent writer of the same hash is a hit: same bytes.
                layer = "rendered" if self.pdfs.put_if_absent(digest, pdf) else "s3"
                timings.store_ms = _ms_since(step)
                self.memory.put(digest, pdf)
                self._progress(snapshot_id, 80)
        except PermanentRenderError as error:
            failed = self.snapshots.transition(
                snapshot_id, ACTIVE, task_status=TaskStatus.FAILED, stage="Failed", error=str(error), completed_at=utc_now()
            )
            return Outcome(failed)
        timings.total_ms = _ms_since(started)
        completed = self.snapshots.transition(
            snapshot_id,
            [TaskStatus.RUNNING],
            task_status=TaskStatus.COMPLETED,
            progress=100,
            stage=STAGES[100],
            completed_at=utc_now(),
            file_size=len(pdf),
            content_hash=digest,
            cache_layer=layer,
            timings=timings,
        )
        return Outcome(completed, layer, len(pdf))

    def _cached(self, digest: str) -> tuple[bytes | None, str | None]:
        if (pdf := self.memory.get(digest)) is not None:
            # One conditional PUT both confirms the object and restores it if it was removed
            # since this container cached it: a memory hit never points a snapshot at nothing.
            self.pdfs.put_if_absent(digest, pdf)
            return pdf, "memory"
        if (pdf := self.pdfs.get(digest)) is not None:
            self.memory.put(digest, pdf)
            return pdf, "s3"
        return None, None
