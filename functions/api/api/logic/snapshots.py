"""Snapshot domain on the request path: record, enqueue, read, download, delete. No room data is
gathered and nothing is rendered here: the renderer does that from the queue."""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from roomsnap.access import Caller
from roomsnap.content import DEFAULT_BUDGET, Budget, gather
from roomsnap.dal import SnapshotRepository
from roomsnap.dal.create_limits import Admission, CreateLimits, LimitReached
from roomsnap.dal.idempotency import IdempotencyClaim, IdempotencyKeys, KeyClaimed
from roomsnap.dal.queues import RenderQueue
from roomsnap.dal.storage import PdfStore
from roomsnap.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PermanentRenderError,
    TransientError,
    UnprocessableEntity,
    failure_for_users,
)
from roomsnap.hashing import canonical_json
from roomsnap.ids import new_id
from roomsnap.models import MAX_BULK_TASKS, TASK_ID_PREFIX, Snapshot, SnapshotIn, TaskStatus, iso
from roomsnap.permissions import Action

from api.logic import rate_limits
from api.logic.rooms import RoomService, activity


@dataclass(frozen=True)
class Download:
    pdf: bytes | None = None
    redirect_url: str | None = None
    filename: str = ""


def download_filename(snapshot: Snapshot) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", snapshot.title)[:60].strip("-") or "snapshot"
    return f"{slug}-{snapshot.id}.pdf"


@dataclass(frozen=True)
class Created:
    snapshot: Snapshot
    replayed: bool  # an earlier request with the same Idempotency-Key is answered
    rate_limit_headers: dict[str, str]


class SnapshotService:
    def __init__(
        self,
        rooms: RoomService,
        snapshots: SnapshotRepository,
        idempotency_keys: IdempotencyKeys,
        limits: CreateLimits,
        pdfs: PdfStore,
        queue: RenderQueue,
        budget: Budget = DEFAULT_BUDGET,
    ):
        self.rooms = rooms
        self.budget = budget
        self.snapshots = snapshots
        self.idempotency_keys = idempotency_keys
        self.limits = limits
        self.pdfs = pdfs
        self.queue = queue

    def create(
        self, caller: Caller, room_id: str, data: SnapshotIn, correlation_id: str, idempotency_key: str | None = None
    ) -> Created:
        """Records the snapshot and enqueues it: one transaction (the caller's membership and role,
        the Idempotency-Key if any, the per-user limits, the record and its audit line), then one
        message. An Idempotency-Key seen before answers the first snapshot instead. At the cap on
        unfinished snapshots, the ones that finished meanwhile are dropped from the count and the
        transaction is tried once more."""
        now = datetime.now(UTC)
        created_at = iso(now)
        snapshot = Snapshot(
            id=new_id(),
            room_id=room_id,
            created_by=caller.email,
            created_at=created_at,
            correlation_id=correlation_id,
            **data.model_dump(),
        )
        digest = hashlib.sha256(canonical_json({"room_id": room_id, **data.model_dump()})).hexdigest()
        for reconciled in (False, True):
            guards = self.rooms.guards(caller, room_id, Action.CREATE_SNAPSHOT)
            if idempotency_key:
                guards.append(
                    self.idempotency_keys.claim_guard(caller.email, idempotency_key, digest, snapshot.id, now)
                )
            guards.append(self.limits.count_guard(caller.email, snapshot.id, now))
            detail = f"{snapshot.id}: {snapshot.title}"
            audit = activity(caller, "snapshot.created", detail, category="audit", at=created_at)
            try:
                self.snapshots.create(snapshot, audit, guards)
                break
            except KeyClaimed as claimed:
                return Created(self._replay(claimed.claim, digest), replayed=True, rate_limit_headers={})
            except LimitReached as reached:
                if reconciled or not self._reconcile(caller, reached.admission):
                    raise rate_limits.refusal(self.limits.limits, reached.admission, now) from None
        self._enqueue(snapshot, caller, idempotency_key)
        admission = self.limits.counted(caller.email, snapshot.id, now)
        return Created(
            snapshot, replayed=False, rate_limit_headers=rate_limits.headers(self.limits.limits, admission, now)
        )

    def _reconcile(self, caller: Caller, admission: Admission) -> bool:
        """At the cap on unfinished snapshots, drops the ones that finished meanwhile from the count.
        Whether any did (then the create may be tried again)."""
        if admission.refused_by != "unfinished":
            return False
        active = sorted(admission.active)
        still_active = {s.id for s in self.snapshots.get_many(active) if not s.task_status.terminal}
        if finished := set(active) - still_active:
            self.limits.forget(caller.email, finished)
        return bool(finished)

    def _enqueue(self, snapshot: Snapshot, caller: Caller, idempotency_key: str | None) -> None:
        """A snapshot whose message could not be sent is failed at once (the client is told to
        retry), rather than waiting for the cleanup to find it; its Idempotency-Key is given back,
        so that the retry is a new create."""
        try:
            self.queue.send(snapshot.id, snapshot.room_id, snapshot.correlation_id or "")
        except Exception:
            self.snapshots.fail(
                snapshot.id,
                failure_for_users("The snapshot could not be queued for rendering", snapshot.correlation_id),
            )
            if idempotency_key:
                self.idempotency_keys.release(caller.email, idempotency_key, snapshot.id)
            raise

    def _replay(self, claim: IdempotencyClaim, request_digest: str) -> Snapshot:
        if claim.request_digest != request_digest:
            raise UnprocessableEntity("this Idempotency-Key was used with a different request")
        first = self.snapshots.get(claim.snapshot_id)
        if first is None:
            raise Conflict("the snapshot first created with this Idempotency-Key was deleted")
        return first

    def list_for_room(
        self, caller: Caller, room_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Snapshot], str | None]:
        self.rooms.authorize(caller, room_id, Action.READ)
        return self.snapshots.list_for_room(room_id, limit, cursor)

    def get(self, caller: Caller, room_id: str, snapshot_id: str, action: Action = Action.READ) -> Snapshot:
        self.rooms.authorize(caller, room_id, action)
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None or snapshot.room_id != room_id:
            raise NotFound("snapshot not found")
        return snapshot

    def task(self, caller: Caller, task_id: str) -> Snapshot:
        """Tasks the caller may not see are reported exactly like tasks that do not exist."""
        snapshot = self.snapshots.get(task_id.removeprefix(TASK_ID_PREFIX))
        if snapshot is None:
            raise NotFound("task not found")
        try:
            self.rooms.authorize(caller, snapshot.room_id, Action.READ)
        except NotFound:
            raise NotFound("task not found") from None
        return snapshot

    def bulk_status(self, caller: Caller, task_ids: list[str]) -> tuple[list[Snapshot], list[str]]:
        """The tasks the caller may see, and the ids reported as not found (missing or not visible)."""
        if len(task_ids) > MAX_BULK_TASKS:
            raise BadRequest(f"at most {MAX_BULK_TASKS} task ids per call; {len(task_ids)} were sent")
        wanted = {task_id: task_id.removeprefix(TASK_ID_PREFIX) for task_id in dict.fromkeys(task_ids)}
        found = self.snapshots.get_many(list(wanted.values()))
        readable = self.rooms.readable(caller, {snapshot.room_id for snapshot in found})
        found = [snapshot for snapshot in found if snapshot.room_id in readable]
        visible = {snapshot.task_id for snapshot in found}
        order = list(wanted)
        return sorted(found, key=lambda s: order.index(s.task_id)), [
            task_id for task_id in wanted if task_id not in visible
        ]

    def cancel(self, caller: Caller, task_id: str) -> Snapshot:
        snapshot = self.task(caller, task_id)
        self.rooms.authorize(caller, snapshot.room_id, Action.CANCEL_SNAPSHOT)
        return self.snapshots.cancel(snapshot, activity(caller, "snapshot.cancelled", snapshot.id, category="audit"))

    def retry(self, caller: Caller, task_id: str, correlation_id: str) -> Created:
        """A failed snapshot asked for again: a new snapshot with the same title and sections (a
        task's status only moves forward, so the failed one stays as it was, for the record).
        Refused (409, with the reason) while the room's current data would fail it the same way."""
        failed = self.task(caller, task_id)
        if failed.task_status is not TaskStatus.FAILED:
            raise Conflict(f"only a failed snapshot can be retried; this one is {failed.status}")
        self.rooms.authorize(caller, failed.room_id, Action.CREATE_SNAPSHOT)
        self._refuse_lasting_failure(failed)
        request = SnapshotIn.model_validate(failed.model_dump(include=set(SnapshotIn.model_fields)))
        created = self.create(caller, failed.room_id, request, correlation_id)
        detail = f"{failed.id} as {created.snapshot.id}"
        self.rooms.audit(failed.room_id, activity(caller, "snapshot.retried", detail, category="audit"))
        return created

    def _refuse_lasting_failure(self, failed: Snapshot) -> None:
        """What would fail the retry before it renders (the room gone, over the render budget) is
        checked on the room as it is now, exactly as the renderer will read it."""
        try:
            gather(self.rooms.rooms, failed, date.today(), self.budget)
        except PermanentRenderError as cause:
            raise Conflict(f"retrying would fail the same way: {cause}; correct the room's data first") from None
        except TransientError:
            pass  # the room kept changing while read: nothing lasting is known, the renderer reads it again

    def delete(self, caller: Caller, room_id: str, snapshot_id: str) -> None:
        """Removes the record only: the cached PDF stays while other snapshots share it, and the
        cleanup removes it once nothing references it."""
        snapshot = self.get(caller, room_id, snapshot_id, Action.DELETE_SNAPSHOT)
        self.snapshots.delete(snapshot, activity(caller, "snapshot.deleted", snapshot.id, category="audit"))

    def download(
        self,
        caller: Caller,
        room_id: str,
        snapshot_id: str,
        inline_max_bytes: int,
        presign_ttl: int,
        redirect: bool | None,
    ) -> Download:
        """The PDF's bytes, or a presigned redirect when asked for (redirect=True) or when the PDF is
        too large for a Lambda response (unless the bytes were asked for: redirect=False, a 422 that
        names the redirect). Every download is audited."""
        snapshot = self.get(caller, room_id, snapshot_id, Action.DOWNLOAD)
        if snapshot.task_status is not TaskStatus.COMPLETED or not snapshot.content_hash:
            raise Conflict(f"snapshot is {snapshot.status}; download it once it is completed")
        filename = download_filename(snapshot)
        too_large = snapshot.file_size > inline_max_bytes
        if redirect is False and too_large:
            raise UnprocessableEntity(
                f"this PDF is {snapshot.file_size / 1_000_000:.1f} MB, more than a response can carry here "
                f"({inline_max_bytes / 1_000_000:.0f} MB); download it through its presigned link: ?redirect=true"
            )
        self.rooms.audit(room_id, activity(caller, "snapshot.downloaded", snapshot.id, category="audit"))
        if redirect or too_large:
            return Download(
                redirect_url=self.pdfs.presigned_url(snapshot.content_hash, filename, presign_ttl), filename=filename
            )
        pdf = self.pdfs.get(snapshot.content_hash)
        if pdf is None:
            raise NotFound("the snapshot's PDF is no longer stored")
        return Download(pdf=pdf, filename=filename)
