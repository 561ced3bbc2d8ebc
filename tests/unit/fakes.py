"""In-memory fakes of the repositories in roomsnap.dal, for unit tests of the services.

Each fake keeps the contract of the repository it stands for — the same conditions, the same
results and the same errors — with plain dicts in place of the table, the bucket and the queues.
What the real modules compute without AWS (log lines, cursors, keys, windows) is imported from
them, not written again. `Repositories` wires one set of fakes that share state as the real ones
share one table: audit lines land in the room's log, completions in the generation log, and a
completed snapshot is what makes its PDF `referenced`."""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from roomsnap.clearance import ClearanceFacts
from roomsnap.dal.create_limits import Admission, LimitReached, Limits, window_names
from roomsnap.dal.generation_log import GenerationLog, days_between, event_of
from roomsnap.dal.idempotency import WINDOW, IdempotencyClaim, KeyClaimed
from roomsnap.dal.issuance import Issuance
from roomsnap.dal.items import decode_cursor, encode_cursor
from roomsnap.dal.pdf_records import KnownContent
from roomsnap.dal.rooms import MAX_CHANGE_ITEMS, Change
from roomsnap.dal.snapshots import _now_ms, active_partition, takeable
from roomsnap.dal.storage import pdf_key
from roomsnap.errors import Conflict, LeaseHeld, NotFound, PdfBeingDeleted, RoomChanged, SnapshotSettled
from roomsnap.models import (
    STAGES,
    Activity,
    Approval,
    Document,
    Party,
    Role,
    Room,
    RoomDetail,
    Snapshot,
    TaskStatus,
    Vessel,
    iso,
    utc_now,
)


@dataclass(frozen=True)
class FakeGuard:
    """roomsnap.dal.transactions.Guard: `check` is its condition (the refusal, or None when it
    holds), `apply` its write; FakeSnapshots.create applies them all or none."""

    check: Callable[[], Exception | None]
    apply: Callable[[], None] = lambda: None


ROOM_SECTIONS = {"PARTY#": "parties", "VESSEL#": "vessels", "DOC#": "documents", "APPROVAL#": "approvals"}


def newest_first_page(
    records: list, sort_key, partition: str, limit: int, cursor: str | None
) -> tuple[list, str | None]:
    """One page of a newest-first Query, with a cursor of the real shape (and its validation):
    given whenever the page is full, as DynamoDB's LastEvaluatedKey is."""
    ordered = sorted(records, key=sort_key, reverse=True)
    if start := decode_cursor(cursor, partition):
        ordered = [r for r in ordered if sort_key(r) < start["SK"]["S"]]
    page = ordered[:limit]
    full = len(page) == limit
    return page, encode_cursor({"PK": {"S": partition}, "SK": {"S": sort_key(page[-1])}}) if full else None


class FakeRooms:
    """RoomRepository. `items` is a room's partition (META, PARTY#<email>, VESSEL#<imo>, DOC#<id>,
    APPROVAL#<id>); every change bumps the room's version and `updated_at` and appends its
    activity line, as the real transaction does, on condition that the room is still at the
    version the change was decided on. `facts` is what META keeps of its clearance. `reads` counts
    the reads tests care about."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.facts: dict[str, ClearanceFacts] = {}
        self.logs: dict[str, list[Activity]] = defaultdict(list)
        self.reads: Counter[str] = Counter()
        self.before_write: list[Callable[[], None]] = []  # each run once, just before the next write

    def get_room(self, room_id: str) -> Room | None:
        self.reads["get_room"] += 1
        return self._meta(room_id)

    def room_version(self, room_id: str) -> int | None:
        room = self._meta(room_id)
        return room.version if room else None

    def get_party(self, room_id: str, email: str) -> Party | None:
        self.reads["get_party"] += 1
        return self._party(room_id, email)

    def roles_in(self, email: str, room_ids: set[str]) -> dict[str, Role]:
        self.reads["roles_in"] += 1
        return {room_id: party.role for room_id in room_ids if (party := self._party(room_id, email))}

    def party_guard(
        self, room_id: str, email: str, roles: list[Role], refused: Callable[[Party | None], Exception]
    ) -> FakeGuard:
        def check() -> Exception | None:
            party = self._party(room_id, email)
            return None if party is not None and party.role in roles else refused(party)

        return FakeGuard(check)

    def room_guard(self, room_id: str, refused: Callable[[], Exception]) -> FakeGuard:
        return FakeGuard(lambda: None if self._meta(room_id) else refused())

    def get_room_detail(self, room_id: str, consistent: bool = False) -> RoomDetail | None:
        self.reads["get_room_detail"] += 1
        if (room := self._meta(room_id)) is None:
            return None
        detail: dict[str, list] = {section: [] for section in ROOM_SECTIONS.values()}
        for sort_key, item in sorted(self.items[room_id].items()):
            if sort_key != "META":
                detail[ROOM_SECTIONS[sort_key[: sort_key.index("#") + 1]]].append(item)
        return RoomDetail(**room.model_dump(), **detail)

    def list_rooms(self, email: str | None) -> list[tuple[Room, ClearanceFacts | None]]:
        rooms = [r for r in map(self._meta, self.items) if r and (email is None or self._party(r.id, email))]
        return [(room, self.facts.get(room.id)) for room in sorted(rooms, key=lambda room: room.id, reverse=True)]

    def list_activity(self, room_id: str, limit: int, cursor: str | None) -> tuple[list[Activity], str | None]:
        return newest_first_page(self.logs[room_id], lambda a: a.id, f"ROOMLOG#{room_id}", limit, cursor)

    def room_changes(self, room_id: str) -> list[Activity]:
        return [entry for entry in sorted(self.logs[room_id], key=lambda a: a.id) if entry.category == "room"]

    def create_room(self, room: Room, owner: Party, activity: Activity) -> None:
        assert room.id not in self.items, "a room's id is fresh"
        self.items[room.id] = {"META": room, f"PARTY#{owner.email}": owner}
        self.facts[room.id] = ClearanceFacts()
        self.logs[room.id].append(activity)

    def add_party(self, room_id: str, party: Party, activity: Activity) -> None:
        conflict = Conflict(f"{party.email} is already a party of this room")
        self._change(room_id, {f"PARTY#{party.email}": party}, Change(activity), conflict)

    def update_party(self, room_id: str, before: Party, after: Party, change: Change) -> None:
        self._change(room_id, {f"PARTY#{after.email}": after}, change, leaving_owner=before.role is Role.OWNER)

    def remove_party(self, room_id: str, party: Party, activity: Activity) -> None:
        self._change(room_id, {f"PARTY#{party.email}": None}, Change(activity), leaving_owner=party.role is Role.OWNER)

    def update_room(self, room_id: str, details: dict[str, str], change: Change) -> None:
        self._change(room_id, {}, change, details=details)

    def add_vessel(self, room_id: str, vessel: Vessel, activity: Activity) -> None:
        conflict = Conflict(f"vessel IMO {vessel.imo} is already in this room")
        self._change(room_id, {f"VESSEL#{vessel.imo}": vessel}, Change(activity), conflict)

    def replace_vessel(
        self, room_id: str, before: Vessel, after: Vessel, documents: list[Document], change: Change
    ) -> None:
        if after.imo == before.imo:
            self._change(room_id, {f"VESSEL#{after.imo}": after}, change)
            return
        if len(documents) + 2 > MAX_CHANGE_ITEMS:
            raise Conflict(f"{len(documents)} documents name this vessel")
        writes = {f"VESSEL#{before.imo}": None, **{f"DOC#{d.id}": d for d in documents}}
        conflict = Conflict(f"vessel IMO {after.imo} is already in this room")
        self._change(room_id, {f"VESSEL#{after.imo}": after, **writes}, change, conflict)

    def delete_vessel(self, room_id: str, imo: str, change: Change) -> None:
        self._change(room_id, {f"VESSEL#{imo}": None}, change)

    def put_document(self, room_id: str, document: Document, change: Change) -> None:
        self._change(room_id, {f"DOC#{document.id}": document}, change)

    def delete_document(self, room_id: str, document_id: str, change: Change) -> None:
        self._change(room_id, {f"DOC#{document_id}": None}, change)

    def put_approval(self, room_id: str, approval: Approval, change: Change) -> None:
        self._change(room_id, {f"APPROVAL#{approval.id}": approval}, change)

    def delete_approval(self, room_id: str, approval_id: str, change: Change) -> None:
        self._change(room_id, {f"APPROVAL#{approval_id}": None}, change)

    def append_audit(self, room_id: str, activity: Activity) -> None:
        self.logs[room_id].append(activity)

    def _meta(self, room_id: str) -> Room | None:
        return self.items.get(room_id, {}).get("META")

    def _party(self, room_id: str, email: str) -> Party | None:
        return self.items.get(room_id, {}).get(f"PARTY#{email}")

    def _change(
        self,
        room_id: str,
        writes: dict[str, BaseModel | None],
        change: Change,
        conflict: Conflict | None = None,
        leaving_owner: bool = False,
        details: dict[str, str] | None = None,
    ) -> None:
        """The first write's own condition (not there yet, when `conflict` says what its presence
        means) is checked first, then the room's: it exists, is at the version the change was
        decided on, and keeps an owner (`owners > 1` when an owner leaves). A None item is a removal."""
        hooks, self.before_write = self.before_write, []
        for hook in hooks:
            hook()
        first = next(iter(writes), None)
        if conflict and first in self.items.get(room_id, {}):
            raise Conflict(conflict.message)
        if (room := self._meta(room_id)) is None:
            raise NotFound("room not found")
        if change.version is not None and room.version != change.version:
            raise RoomChanged()
        staying = {**self.items[room_id], **writes}
        if leaving_owner and not any(
            key.startswith("PARTY#") and item is not None and item.role is Role.OWNER for key, item in staying.items()
        ):
            raise Conflict("a room keeps at least one owner: make another party owner first")
        for sort_key, item in writes.items():
            if item is None:
                self.items[room_id].pop(sort_key, None)
            else:
                self.items[room_id][sort_key] = item
        updated = {"version": room.version + 1, "updated_at": change.activity.at, **(details or {})}
        self.items[room_id]["META"] = room.model_copy(update=updated)
        if change.facts is not None:
            self.facts[room_id] = change.facts
        self.logs[room_id].append(change.activity)


class FakeGenerationLog:
    """GenerationLog: the lines are built by the real GenerationLog.item and read back as its
    `events` reads them."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self._real = GenerationLog("fake-table")  # builds items; its client is never touched

    def write(self, snapshot: Snapshot, outcome: str, **usage: Any) -> None:
        self.lines.append(event_of(self._real.item(snapshot, outcome, **usage)))

    def events(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return [line for line in self.lines if iso(since) <= line["at"] <= iso(until)]


class FakeSnapshots:
    """SnapshotRepository: the state machine of its docstring, each transition applied only when
    the real condition expression would hold. `index` is GSI2: (ACTIVE#<shard>, heartbeat) while
    unfinished, (PDF#<hash>, id) once completed, absent once failed or cancelled."""

    def __init__(self, rooms: FakeRooms, log: FakeGenerationLog) -> None:
        self.rooms = rooms
        self.log = log
        self.records: dict[str, Snapshot] = {}
        self.index: dict[str, tuple[str, str]] = {}
        self.progress_writes: list[int] = []

    def create(self, snapshot: Snapshot, audit: Activity, guards: list[FakeGuard]) -> None:
        """The transaction: the first failed guard's refusal and nothing written, or everything."""
        for guard in guards:
            if (refusal := guard.check()) is not None:
                raise refusal
        for guard in guards:
            guard.apply()
        self.records[snapshot.id] = snapshot
        self.index[snapshot.id] = (active_partition(snapshot.id), snapshot.created_at)
        self.rooms.append_audit(snapshot.room_id, audit)

    def get(self, snapshot_id: str) -> Snapshot | None:
        return self.records.get(snapshot_id)

    def get_many(self, snapshot_ids: list[str]) -> list[Snapshot]:
        """BatchGetItem refuses duplicate keys and answers in no particular order: here, the
        reverse of the order asked."""
        if len(set(snapshot_ids)) != len(snapshot_ids):
            raise ValueError("Provided list of item keys contains duplicates")
        return [self.records[i] for i in reversed(snapshot_ids) if i in self.records]

    def list_for_room(self, room_id: str, limit: int, cursor: str | None) -> tuple[list[Snapshot], str | None]:
        mine = [s for s in self.records.values() if s.room_id == room_id]
        return newest_first_page(mine, lambda s: s.id, f"ROOMSNAPS#{room_id}", limit, cursor)

    def delete(self, snapshot: Snapshot, audit: Activity) -> None:
        if self.records.pop(snapshot.id, None) is None:
            raise NotFound("snapshot not found")
        self.index.pop(snapshot.id, None)
        self.rooms.append_audit(snapshot.room_id, audit)

    def cancel(self, snapshot: Snapshot, audit: Activity) -> Snapshot:
        current = self.records.get(snapshot.id)
        if current is None:
            raise NotFound("task not found")
        if current.task_status.terminal:
            raise Conflict(f"the task is already {current.task_status.value}")
        changes = {"task_status": TaskStatus.CANCELLED, "stage": "Cancelled", "completed_at": audit.at}
        return self._finish(current, changes, "cancelled", audit=(snapshot.room_id, audit))

    def claim(self, snapshot_id: str, lease_seconds: float) -> Snapshot:
        current = self.records.get(snapshot_id)
        if current is None:
            raise SnapshotSettled("the snapshot was deleted")
        lease_until = current.lease_until
        if current.task_status is TaskStatus.RUNNING and (lease_until is None or lease_until >= _now_ms()):
            raise LeaseHeld(max(1.0, ((lease_until or 0) - _now_ms()) / 1000))
        if current.task_status.terminal:
            raise SnapshotSettled(f"the task is already {current.task_status.value}")
        now = utc_now()
        claimed = current.model_copy(
            update={
                "task_status": TaskStatus.RUNNING,
                "progress": 10,
                "stage": STAGES[10],
                "started_at": now,
                "lease_until": _now_ms() + int(lease_seconds * 1000),
                "attempts": current.attempts + 1,
            }
        )
        return self._save(claimed, (active_partition(snapshot_id), now))

    def takeable(self, snapshot_id: str) -> Snapshot:
        return takeable(self.records.get(snapshot_id))

    def progress(self, snapshot_id: str, progress: int) -> None:
        if self._running(snapshot_id):
            self.progress_writes.append(progress)
            changes = {"progress": progress, "stage": STAGES[progress]}
            self._save(self.records[snapshot_id].model_copy(update=changes), (active_partition(snapshot_id), utc_now()))

    def release(self, snapshot_id: str, last_error: str, stage: str) -> None:
        current = self.records.get(snapshot_id)
        if current is not None and not current.task_status.terminal:
            changes = {"lease_until": 0, "last_error": last_error[:1000], "stage": stage}
            self._save(self.records[snapshot_id].model_copy(update=changes), (active_partition(snapshot_id), utc_now()))

    def complete(
        self,
        snapshot: Snapshot,
        content_hash: str,
        usage: dict[str, Any],
        claimed: bool = True,
        started_at: str | None = None,
        **changes: Any,
    ) -> Snapshot | None:
        current = self.records.get(snapshot.id)
        if current is None:
            return None
        lease_over = (current.lease_until or 0) < _now_ms()
        takes = current.task_status is TaskStatus.PENDING or (current.task_status is TaskStatus.RUNNING and lease_over)
        if not (self._running(snapshot.id) if claimed else takes):
            return None
        done = {"task_status": TaskStatus.COMPLETED, "progress": 100, "stage": STAGES[100], "completed_at": utc_now()}
        unclaimed = {} if claimed else {"started_at": started_at or utc_now(), "attempts": current.attempts + 1}
        fields = {**done, **unclaimed, "content_hash": content_hash, "lease_until": None, **changes}
        completed = self.records[snapshot.id].model_copy(update=fields)
        self._save(completed, (f"PDF#{content_hash}", snapshot.id))
        self.log.write(completed, "completed", **usage)
        return completed

    def fail(self, snapshot_id: str, reason: str) -> bool:
        current = self.records.get(snapshot_id)
        if current is None or current.task_status.terminal:
            return False
        changes = {"task_status": TaskStatus.FAILED, "stage": "Failed", "error": reason[:1000]}
        self._finish(current, {**changes, "completed_at": utc_now()}, "failed")
        return True

    def stale_active(self, heartbeat_before: str) -> list[tuple[Snapshot, str]]:
        stale = sorted(
            (beat, i) for i, (pk, beat) in self.index.items() if pk.startswith("ACTIVE#") and beat < heartbeat_before
        )
        return [(self.records[i], beat) for beat, i in stale]

    def oldest_unfinished_since(self) -> str | None:
        return min((beat for part, beat in self.index.values() if part.startswith("ACTIVE#")), default=None)

    def mark_requeued(self, snapshot_id: str, heartbeat_seen: str) -> bool:
        current = self.records.get(snapshot_id)
        if current is None or self.index.get(snapshot_id) != (active_partition(snapshot_id), heartbeat_seen):
            return False
        lease_over = current.lease_until is not None and current.lease_until < _now_ms()
        if current.task_status is not TaskStatus.PENDING and not lease_over:
            return False
        changes = {"stage": "Re-queued by maintenance", "requeues": current.requeues + 1}
        self._save(current.model_copy(update=changes), (active_partition(snapshot_id), utc_now()))
        return True

    def _running(self, snapshot_id: str) -> bool:
        current = self.records.get(snapshot_id)
        return current is not None and current.task_status is TaskStatus.RUNNING

    def _save(self, snapshot: Snapshot, index: tuple[str, str] | None) -> Snapshot:
        self.records[snapshot.id] = snapshot
        if index:
            self.index[snapshot.id] = index
        else:
            self.index.pop(snapshot.id, None)
        return snapshot

    def _finish(
        self, current: Snapshot, changes: dict[str, Any], outcome: str, audit: tuple[str, Activity] | None = None
    ) -> Snapshot:
        """An unfinished task made terminal: out of the index, logged, with its audit line if any."""
        finished = self._save(current.model_copy(update={**changes, "lease_until": None}), None)
        self.log.write(finished, outcome)
        if audit:
            self.rooms.append_audit(*audit)
        return finished


class FakeIdempotencyKeys:
    """IdempotencyKeys: a key names one snapshot per user until its claim expires (WINDOW)."""

    def __init__(self) -> None:
        self.claims: dict[tuple[str, str], tuple[IdempotencyClaim, int]] = {}  # -> claim, expires_at

    def claim_guard(self, user: str, key: str, request_digest: str, snapshot_id: str, at: datetime) -> FakeGuard:
        def check() -> Exception | None:
            earlier = self.claims.get((user, key))
            return KeyClaimed(earlier[0]) if earlier and not earlier[1] < int(at.timestamp()) else None

        def apply() -> None:
            self.claims[(user, key)] = (IdempotencyClaim(snapshot_id, request_digest), int((at + WINDOW).timestamp()))

        return FakeGuard(check, apply)

    def release(self, user: str, key: str, snapshot_id: str) -> None:
        if (claim := self.claims.get((user, key))) and claim[0].snapshot_id == snapshot_id:
            del self.claims[(user, key)]


class FakeCreateLimits:
    """CreateLimits: counters per user and fixed window (minute, hour) and the set of snapshots
    that may be unfinished; a create that would pass a limit writes nothing."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.counts: Counter[tuple[str, str]] = Counter()
        self.active: dict[str, set[str]] = defaultdict(set)

    def count_guard(self, user: str, snapshot_id: str, now: datetime) -> FakeGuard:
        minute, hour = window_names(now)

        def check() -> Exception | None:
            used = Admission(
                False, self.counts[(user, minute)], self.counts[(user, hour)], frozenset(self.active[user])
            )
            for refused_by, over in (
                ("per_minute", used.per_minute_used >= self.limits.per_minute),
                ("per_hour", used.per_hour_used >= self.limits.per_hour),
                ("unfinished", len(used.active) >= self.limits.unfinished),
            ):
                if over:
                    return LimitReached(
                        Admission(False, used.per_minute_used, used.per_hour_used, used.active, refused_by)
                    )
            return None

        def apply() -> None:
            self.counts[(user, minute)] += 1
            self.counts[(user, hour)] += 1
            self.active[user].add(snapshot_id)

        return FakeGuard(check, apply)

    def counted(self, user: str, snapshot_id: str, now: datetime) -> Admission:
        """Exact here: one fake is one container."""
        minute, hour = window_names(now)
        return Admission(True, self.counts[(user, minute)], self.counts[(user, hour)], frozenset(self.active[user]))

    def forget(self, user: str, snapshot_ids: set[str]) -> None:
        self.active[user] -= snapshot_ids


def _holds(use: dict[str, str], name: str, since: str) -> bool:
    """A use record's timestamp `name` is present and not older than `since`."""
    return name in use and use[name] >= since


class FakePdfRecords:
    """PdfRecords: use records ({last_used_at, deleting}) with the same conditions, content keys,
    and `referenced` read from the snapshots' index as GSI2 holds it. `touches` lists every touch."""

    def __init__(self, snapshots: FakeSnapshots) -> None:
        self.snapshots = snapshots
        self.use: dict[str, dict[str, str]] = {}
        self.contents: dict[str, KnownContent] = {}
        self.touches: list[str] = []

    def touch(self, content_hash: str, stale_mark_before: str) -> None:
        if _holds(self.use.get(content_hash, {}), "deleting", stale_mark_before):
            raise PdfBeingDeleted(content_hash)
        self.use[content_hash] = {"last_used_at": utc_now()}
        self.touches.append(content_hash)

    def referenced(self, content_hash: str) -> bool:
        return any(part == f"PDF#{content_hash}" for part, _ in self.snapshots.index.values())

    def mark_for_deletion(self, content_hash: str, unused_since: str, stale_mark_before: str) -> str | None:
        use = self.use.get(content_hash, {})
        if _holds(use, "last_used_at", unused_since) or _holds(use, "deleting", stale_mark_before):
            return None
        mark = utc_now()
        self.use[content_hash] = {**use, "deleting": mark}
        return mark

    def unmark(self, content_hash: str, mark: str, forget: bool) -> None:
        use = self.use.get(content_hash, {})
        if use.get("deleting") != mark:
            return
        if forget:
            del self.use[content_hash]
        else:
            del use["deleting"]

    def known_content(self, content_key: str) -> KnownContent | None:
        return self.contents.get(content_key)

    def remember_content(self, content_key: str, known: KnownContent) -> None:
        self.contents[content_key] = known


class FakePdfStore:
    """PdfStore: objects by content hash, written at most once, with the time each was written."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.written_at: dict[str, datetime] = {}

    def get(self, content_hash: str) -> bytes | None:
        return self.objects.get(content_hash)

    def exists(self, content_hash: str) -> bool:
        return content_hash in self.objects

    def stored_sha256(self, content_hash: str) -> str | None:
        pdf = self.objects.get(content_hash)
        return None if pdf is None else hashlib.sha256(pdf).hexdigest()

    def put_if_absent(self, content_hash: str, pdf: bytes, at: datetime | None = None) -> bool:
        if content_hash in self.objects:
            return False
        self.objects[content_hash] = pdf
        self.written_at[content_hash] = at or datetime.now(UTC)
        return True

    def hashes_older_than(self, cutoff: datetime) -> Iterator[str]:
        yield from [content_hash for content_hash, at in self.written_at.items() if at < cutoff]

    def delete(self, content_hash: str) -> None:
        self.objects.pop(content_hash, None)
        self.written_at.pop(content_hash, None)

    def presigned_url(self, content_hash: str, filename: str, ttl_seconds: int) -> str:
        return f"https://pdfs.example/{pdf_key(content_hash)}?filename={filename}&expires_in={ttl_seconds}"


class FakeIssuanceRecords:
    """IssuanceRecords: one record per (PDF bytes, snapshot), the first one kept."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Issuance] = {}

    def record(self, issuance: Issuance) -> None:
        self.records.setdefault((issuance.pdf_sha256, issuance.snapshot_id), issuance)

    def of(self, pdf_sha256: str, limit: int = 20) -> list[Issuance]:
        found = [issuance for (sha, _), issuance in sorted(self.records.items()) if sha == pdf_sha256]
        return found[:limit]


class FakeRenderQueue:
    """RenderQueue: the messages sent and the visibility changes asked for."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.retries: list[tuple[str, float]] = []

    def send(self, snapshot_id: str, room_id: str, correlation_id: str) -> None:
        self.sent.append({"snapshot_id": snapshot_id, "room_id": room_id, "correlation_id": correlation_id})

    def retry_in(self, receipt_handle: str, delay_s: float) -> None:
        self.retries.append((receipt_handle, delay_s))


class FakeQueueDepths:
    """QueueDepths: fixed depths by queue name."""

    def __init__(self, depths: dict[str, dict[str, int]] | None = None) -> None:
        self.depths = depths or {}

    def read(self) -> dict[str, dict[str, int]]:
        return {name: dict(depth) for name, depth in self.depths.items()}


class FakeApiLatencyStats:
    """ApiLatencyStats: rows that every `add` adds to (as DynamoDB's ADD does); `adds` lists the calls."""

    def __init__(self) -> None:
        self.adds: list[tuple[str, str, str, dict[int, int], int, float]] = []
        self.totals: dict[tuple[str, str, str], dict[str, Any]] = {}  # (hour, status class, route) -> row

    def add(
        self, hour: str, route: str, status_class: str, buckets: dict[int, int], count: int, total_ms: float
    ) -> None:
        self.adds.append((hour, route, status_class, dict(buckets), count, total_ms))
        row = self.totals.setdefault((hour, status_class, route), {"count": 0, "sum_ms": 0.0, "buckets": Counter()})
        row["count"] += count
        row["sum_ms"] += total_ms
        row["buckets"].update(buckets)

    def rows(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        days, first_hour = days_between(since, until), since.strftime("%Y-%m-%dT%H")
        return [
            {"route": route, "status_class": status_class, **row, "buckets": dict(row["buckets"])}
            for (hour, status_class, route), row in sorted(self.totals.items())
            if hour[:10] in days and hour >= first_hour
        ]


class FakeExpiredRecords:
    """ExpiredRecords: items by key with their `expires_at` (epoch seconds)."""

    def __init__(self) -> None:
        self.expires_at: dict[str, int] = {}

    def delete_expired(self, now_epoch: int) -> int:
        expired = [key for key, at in self.expires_at.items() if at < now_epoch]
        for key in expired:
            del self.expires_at[key]
        return len(expired)


class FakeClock:
    """A module's `time` (monotonic and perf_counter), moved by hand instead of sleeping."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> "FakeClock":
        """A clock that is `module`'s `time` for the rest of the test."""
        clock = cls()
        monkeypatch.setattr(module, "time", clock)
        return clock

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Repositories:
    """One set of fakes sharing state as the repositories of one table, one bucket and one queue do."""

    def __init__(self) -> None:
        self.rooms = FakeRooms()
        self.log = FakeGenerationLog()
        self.snapshots = FakeSnapshots(self.rooms, self.log)
        self.idempotency_keys = FakeIdempotencyKeys()
        self.limits = FakeCreateLimits(Limits(per_minute=60, per_hour=600, unfinished=50))
        self.pdf_records = FakePdfRecords(self.snapshots)
        self.pdfs = FakePdfStore()
        self.issuances = FakeIssuanceRecords()
        self.queue = FakeRenderQueue()
        self.api_latency = FakeApiLatencyStats()
        self.expired = FakeExpiredRecords()
