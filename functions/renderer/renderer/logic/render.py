"""One snapshot through its task: claim → content hash → L1 → S3 → render on a miss → complete.

Every status change is a conditional write (roomsnap.dal.snapshots), so a redelivered message, a
cancelled task or a deleted snapshot never moves a record backwards or completes it twice.

Most snapshots are over before anyone could see them running (a poller asks once a second; a hit
takes milliseconds, the reference room renders in tens), so the snapshot is read, not claimed, and
goes from pending to completed in one conditional write. Only a render expected to take longer
(CLAIM_ROWS rows or more) claims the task first: pollers then see it running with its progress,
and a duplicate delivery waits for its lease instead of rendering the same room again. Without a
claim a duplicate may render too; the first completion wins and the other result is discarded.

A cache hit should not pay for reading the whole room. A room's `version` counts every change to
its data, so the room's id and version, the snapshot's title and sections, the expiry-check day
and the template and library versions — the content key — determine what the report prints. The
content hash found for a content key, and the clearance that content prints, are remembered (in
this container and in the table); a later snapshot with the same key needs one small read of the
room's version instead of reading the room, and still records the verdict its PDF shows.

A PDF is signed once, when it is first stored: what is hashed stays the printed content, and the
signature (its time, its signer) is made after the render and before the store. Identical content
is served the same signed bytes, so every path that holds a PDF in memory serves what S3 holds:
a renderer that loses the race to store its own signed copy adopts the stored one, and a memory
copy is checked against the stored object's SHA-256 whenever the touch window has passed. Each
snapshot's PDF bytes are recorded (issuance records) before the snapshot completes."""

import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cachetools import LRUCache

from roomsnap.content import DEFAULT_BUDGET, Budget, gather, printed_clearance, printed_size
from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.issuance import Issuance, IssuanceRecords
from roomsnap.dal.pdf_records import STALE_DELETION_MARK, KnownContent, PdfRecords
from roomsnap.dal.storage import PdfStore
from roomsnap.errors import PermanentRenderError, TransientError
from roomsnap.hashing import canonical_json, content_hash
from roomsnap.models import CacheLayer, ReportContent, Snapshot, TaskStatus, Timings, iso, utc_now

from renderer.logic.cache import ByteBoundedLRU

KNOWN_KEYS_LIMIT = 10_000
# The blockers a snapshot's record (and its content key's) keeps of the verdict its PDF prints: with
# names of up to 200 characters they stay far inside DynamoDB's 400 KB item limit, whatever the
# room holds; the PDF's sections still list every document and approval.
STORED_BLOCKERS = 500
# Intermediate progress (80) is written only when this long has passed since the claim: a poller
# asks at most once a second (the API's Retry-After), so an earlier write would never be seen.
PROGRESS_INTERVAL_S = 1.0
# A render of this many rows takes about half a second on the benchmark machine (~0.5 ms a row) and
# longer in a 1 GB Lambda: long enough for a poller to see it running, and for a duplicate delivery
# to be worth holding off with a lease.
CLAIM_ROWS = 1000


@dataclass
class Outcome:
    snapshot: Snapshot | None  # None: cancelled or deleted while rendering, result discarded
    cache_layer: CacheLayer | None = None
    pdf_bytes: int = 0


class Progress:
    """Writes intermediate progress of a claimed render only when a poller could see it
    (PROGRESS_INTERVAL_S after the claim)."""

    def __init__(self, snapshots: SnapshotRepository, snapshot_id: str):
        self.snapshots = snapshots
        self.snapshot_id = snapshot_id
        self.last_write = time.monotonic()  # the claim wrote progress 10

    def __call__(self, percent: int) -> None:
        if time.monotonic() - self.last_write >= PROGRESS_INTERVAL_S:
            self.snapshots.progress(self.snapshot_id, percent)
            self.last_write = time.monotonic()


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class SnapshotRenderer:
    def __init__(
        self,
        rooms: RoomRepository,
        snapshots: SnapshotRepository,
        pdf_records: PdfRecords,
        pdfs: PdfStore,
        memory: ByteBoundedLRU,
        render: Callable[[ReportContent], bytes],
        template_version: str,
        library_version: str,
        *,
        sign: Callable[[bytes], bytes],
        issuances: IssuanceRecords,
        touch_valid_s: float = 0,
        claim_rows: int = CLAIM_ROWS,
        budget: Budget = DEFAULT_BUDGET,
        verify_url: str | None = None,
    ):
        self.rooms = rooms
        self.budget = budget
        self.verify_url = verify_url  # printed in every PDF's footer
        self.snapshots = snapshots
        self.pdf_records = pdf_records
        self.pdfs = pdfs
        self.memory = memory
        self.render = render
        self.sign = sign  # the rendered PDF -> the signed PDF (renderer.logic.signing)
        self.issuances = issuances
        self.versions = (template_version, library_version)
        self.known_contents: LRUCache[str, KnownContent] = LRUCache(KNOWN_KEYS_LIMIT)  # by content key
        self.touch_valid_s = touch_valid_s  # well inside the cleanup's PDF retention
        self.touched: LRUCache[str, float] = LRUCache(KNOWN_KEYS_LIMIT)  # content hash -> when touched here
        self.container_id = uuid.uuid4().hex[:12]  # tells warm containers apart in the metrics
        self.claim_rows = claim_rows  # renders of at least this many rows claim the task first

    def restored(self) -> None:
        """After a SnapStart restore: this environment is a container of its own, told apart in the
        metrics by an id of its own (not the one of the snapshot every copy shares)."""
        self.container_id = uuid.uuid4().hex[:12]

    def process(self, snapshot_id: str, sent_at: datetime, lease_seconds: float) -> Outcome:
        """Raises SnapshotSettled when there is nothing to do, TransientError (or any unexpected
        error) to be retried; a PermanentRenderError fails the snapshot here and returns."""
        started, started_at = time.perf_counter(), utc_now()
        snapshot = self.snapshots.takeable(snapshot_id)
        claimed = False

        timings = Timings(queue_wait_ms=max(0.0, (datetime.now(UTC) - sent_at).total_seconds() * 1000))
        today = datetime.now(UTC).date()
        try:
            step = time.perf_counter()
            version = self.rooms.room_version(snapshot.room_id)
            if version is None:
                raise PermanentRenderError("the room no longer exists")
            known, content = self._known_content(self._content_key(snapshot, version, today)), None
            if known is None:
                content, known = self._gather(snapshot, today)
            digest = known.content_hash
            timings.gather_ms = _ms_since(step)
            pdf, layer = self._cached(digest)
            if pdf is None:
                if content is None:  # known content, but its PDF is gone from both caches
                    content, known = self._gather(snapshot, today)
                    digest = known.content_hash
                if printed_size(content)[0] >= self.claim_rows:
                    snapshot, claimed = self.snapshots.claim(snapshot_id, lease_seconds), True
                progress = Progress(self.snapshots, snapshot_id) if claimed else None
                pdf, layer = self._render_and_store(content, digest, timings)
                if progress:
                    progress(80)
        except PermanentRenderError as error:
            failed = snapshot.model_copy(update={"task_status": TaskStatus.FAILED, "error": str(error)})
            return Outcome(failed if self.snapshots.fail(snapshot_id, str(error)) else None)
        pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        self.issuances.record(
            Issuance(
                pdf_sha256=pdf_sha256,
                snapshot_id=snapshot.id,
                room_id=snapshot.room_id,
                content_hash=digest,
                file_size=len(pdf),
                issued_at=utc_now(),
            )
        )
        timings.total_ms = _ms_since(started)
        usage = {"renderer_id": self.container_id, "l1_entries": len(self.memory), "l1_bytes": self.memory.used_bytes}
        completed = self.snapshots.complete(
            snapshot,
            digest,
            usage,
            claimed=claimed,
            started_at=started_at,
            file_size=len(pdf),
            pdf_sha256=pdf_sha256,
            cache_layer=layer,
            timings=timings,
            clearance=known.clearance,
        )
        return Outcome(completed, layer, len(pdf))

    def _content_key(self, snapshot: Snapshot, version: int, today: date) -> str:
        parts = {
            "room_id": snapshot.room_id,
            "version": version,
            "title": snapshot.title,
            "sections": [snapshot.include_documents, snapshot.include_approvals, snapshot.include_activity],
            "expiry_checked_on": today.isoformat(),
            "versions": self.versions,
            "verify_url": self.verify_url,
        }
        return hashlib.sha256(canonical_json(parts)).hexdigest()

    def _known_content(self, key: str) -> KnownContent | None:
        if key not in self.known_contents and (known := self.pdf_records.known_content(key)):
            self.known_contents[key] = known
        return self.known_contents.get(key)

    def _gather(self, snapshot: Snapshot, today: date) -> tuple[ReportContent, KnownContent]:
        """Reads the room, hashes what it prints, and records the hash and the printed clearance
        under the content key of the version actually read (the room may have changed since its
        version was looked up)."""
        content, version = gather(self.rooms, snapshot, today, self.budget, self.verify_url)
        clearance = printed_clearance(content)
        clearance.blockers = clearance.blockers[:STORED_BLOCKERS]
        known = KnownContent(content_hash(content, *self.versions), clearance)
        key = self._content_key(snapshot, version, today)
        self.pdf_records.remember_content(key, known)
        self.known_contents[key] = known
        return content, known

    def _cached(self, digest: str) -> tuple[bytes | None, CacheLayer | None]:
        """Touches the PDF's record, then looks in L1 and S3 — unless this container touched it
        within `touch_valid_s`: the PDF was then stored after that touch (every path through
        process() makes sure of it), and the cleanup cannot delete it for the retention period."""
        confirmed = time.monotonic() - self.touched.get(digest, -math.inf) < self.touch_valid_s
        if not confirmed:
            touched_at = time.monotonic()
            self.pdf_records.touch(digest, stale_mark_before=iso(datetime.now(UTC) - STALE_DELETION_MARK))
            self.touched[digest] = touched_at
        if (pdf := self.memory.get(digest)) is not None:
            return (pdf, "memory") if confirmed else self._as_stored(digest, pdf)
        if (pdf := self.pdfs.get(digest)) is not None:
            self.memory.put(digest, pdf)
            return pdf, "s3"
        return None, None

    def _as_stored(self, digest: str, pdf: bytes) -> tuple[bytes, CacheLayer]:
        """A memory copy, checked against S3: the cleanup may have removed the object since this
        container cached it (then it is put back, so a memory hit never points a snapshot at
        nothing), and another renderer may have stored a newly signed PDF of this content since
        (then that one is served, and replaces this container's copy)."""
        stored = self.pdfs.stored_sha256(digest)
        if stored == hashlib.sha256(pdf).hexdigest() or (stored is None and self.pdfs.put_if_absent(digest, pdf)):
            return pdf, "memory"
        return self._adopt_stored(digest), "s3"

    def _adopt_stored(self, digest: str) -> bytes:
        """The stored PDF of this content, in place of this container's own copy."""
        self.memory.pop(digest, None)
        pdf = self.pdfs.get(digest)
        if pdf is None:  # deleted again in between: the cleanup's mark makes the retry wait for it
            raise TransientError("the stored PDF disappeared while it was read")
        self.memory.put(digest, pdf)
        return pdf

    def _render_and_store(self, content: ReportContent, digest: str, timings: Timings) -> tuple[bytes, CacheLayer]:
        step = time.perf_counter()
        rendered = self.render(content)  # whatever text it holds: what no font draws prints as a placeholder
        timings.render_ms = _ms_since(step)
        step = time.perf_counter()
        pdf = self.sign(rendered)
        timings.sign_ms = _ms_since(step)
        step = time.perf_counter()
        if self.pdfs.put_if_absent(digest, pdf):
            self.memory.put(digest, pdf)
            layer: CacheLayer = "rendered"
        else:  # another renderer stored its own signed copy first: every snapshot gets that one
            pdf, layer = self._adopt_stored(digest), "s3"
        timings.store_ms = _ms_since(step)
        return pdf, layer
