"""Snapshot + task records: one item each, and one state machine.

    pending ──> running ──> completed
       │           │──────> failed
       └───────────┴──────> cancelled            (pending can also fail, e.g. when stuck)

Every transition is a conditional write, so status only moves forward whatever the order in
which duplicate deliveries, retries, cancellations and the cleanup arrive. A renderer holds a
lease while it works: a second delivery of the same message waits for it instead of rendering
the same snapshot twice; a crashed renderer's lease simply runs out."""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from roomsnap.dal.generation_log import GenerationLog
from roomsnap.dal.items import (
    Repository,
    is_condition_failure,
    log_item,
    record,
    shard_of,
    snapshot_key,
    to_dynamo,
)
from roomsnap.dal.transactions import Guard, transact
from roomsnap.errors import Conflict, LeaseHeld, NotFound, SnapshotSettled
from roomsnap.models import STAGES, Activity, Snapshot, TaskStatus, utc_now

# Unfinished tasks are in GSI2 under ACTIVE#<shard>, sorted by their last sign of life. Every
# snapshot writes its entry at creation and moves it at completion, and an index partition takes
# about 1,000 writes a second (its sort keys, timestamps, only grow, so DynamoDB cannot split it
# for heat): 32 shards carry ~16,000 snapshots a second, and the cleanup reads all 32.
ACTIVE_SHARDS = 32
UNFINISHED = {":pending": TaskStatus.PENDING, ":running": TaskStatus.RUNNING}


def active_partition(snapshot_id: str) -> str:
    return f"ACTIVE#{shard_of(snapshot_id, ACTIVE_SHARDS)}"


def active_partitions() -> list[str]:
    return [f"ACTIVE#{shard}" for shard in range(ACTIVE_SHARDS)]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def takeable(snapshot: Snapshot | None) -> Snapshot:
    """The snapshot, if a renderer may work on it now: SnapshotSettled when it is gone or terminal,
    LeaseHeld while another renderer's lease on it lasts."""
    if snapshot is None:
        raise SnapshotSettled("the snapshot was deleted")
    if snapshot.task_status.terminal:
        raise SnapshotSettled(f"the task is already {snapshot.task_status.value}")
    if snapshot.task_status is TaskStatus.RUNNING and (snapshot.lease_until or 0) > _now_ms():
        raise LeaseHeld(max(1.0, ((snapshot.lease_until or 0) - _now_ms()) / 1000))
    return snapshot


@dataclass(frozen=True)
class Update:
    """A conditional update's outcome: the snapshot after it (applied), or as it was when the
    condition did not hold (None: there is no such snapshot)."""

    applied: bool
    snapshot: Snapshot | None


class SnapshotRepository(Repository):
    def __init__(self, table_name: str, retention_days: int = 90):
        super().__init__(table_name)
        self.retention = timedelta(days=retention_days)
        self.log = GenerationLog(table_name)

    # ---------------------------------------------------------------- API side

    def create(self, snapshot: Snapshot, audit: Activity, guards: list[Guard]) -> None:
        """Writes the snapshot and its audit line in one TransactWriteItems with the `guards` (the
        caller's membership, limits, Idempotency-Key): the request path's only table write. Raises
        the first failed guard's refusal. The audit line's id is the ClientRequestToken, so a retry
        whose answer was lost is the same create. (The id is fresh and random, so no condition is
        needed against overwriting.)"""
        created = datetime.fromisoformat(snapshot.created_at)
        item = {
            "GSI1PK": f"ROOMSNAPS#{snapshot.room_id}",
            "GSI1SK": snapshot.id,
            "GSI2PK": active_partition(snapshot.id),
            "GSI2SK": snapshot.created_at,
            "entity": "snapshot",
            "expires_at": int((created + self.retention).timestamp()),
            **snapshot.model_dump(mode="json"),
        }
        writes = [
            {"Put": {"TableName": self.table_name, "Item": {**snapshot_key(snapshot.id), **to_dynamo(item)}}},
            {"Put": {"TableName": self.table_name, "Item": log_item(snapshot.room_id, audit)}},
        ]
        transact(self.dynamodb, guards, writes, token=audit.id)

    def get(self, snapshot_id: str) -> Snapshot | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name, Key=snapshot_key(snapshot_id), ConsistentRead=True
        ).get("Item")
        return Snapshot.model_validate(record(item)) if item else None

    def get_many(self, snapshot_ids: list[str]) -> list[Snapshot]:
        return [
            Snapshot.model_validate(record(item)) for item in self.batch_get([snapshot_key(i) for i in snapshot_ids])
        ]

    def list_for_room(self, room_id: str, limit: int, cursor: str | None) -> tuple[list[Snapshot], str | None]:
        partition = f"ROOMSNAPS#{room_id}"
        items, next_cursor = self.query_page(
            partition,
            limit,
            cursor,
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": partition}},
        )
        return [Snapshot.model_validate(record(item)) for item in items], next_cursor

    def delete(self, snapshot: Snapshot, audit: Activity) -> None:
        """The record and its audit line at once; the audit line's id is the ClientRequestToken,
        so a retry of a delete that succeeded is recognized as the same delete, not a 404."""
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": snapshot_key(snapshot.id),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": self.table_name, "Item": log_item(snapshot.room_id, audit)}},
                ],
                ClientRequestToken=audit.id,
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise NotFound("snapshot not found") from None
            raise

    def cancel(self, snapshot: Snapshot, audit: Activity) -> Snapshot:
        """pending | running → cancelled. A renderer still working on it finds out at its next
        conditional write and discards its result."""
        fields = {"task_status": TaskStatus.CANCELLED, "stage": "Cancelled", "completed_at": audit.at}
        result = self._finish(snapshot.id, fields, outcome="cancelled", audit=(snapshot.room_id, audit))
        if result.snapshot is None:
            raise NotFound("task not found")
        if not result.applied:
            raise Conflict(f"the task is already {result.snapshot.task_status.value}")
        return result.snapshot

    # ---------------------------------------------------------------- renderer side

    def claim(self, snapshot_id: str, lease_seconds: float) -> Snapshot:
        """pending → running, or running → running once the previous holder's lease ran out.
        Raises SnapshotSettled when there is nothing to do and LeaseHeld while another renderer
        works on it."""
        now = utc_now()
        result = self._update(
            snapshot_id,
            {
                "task_status": TaskStatus.RUNNING,
                "progress": 10,
                "stage": STAGES[10],
                "started_at": now,
                "lease_until": _now_ms() + int(lease_seconds * 1000),
                "GSI2SK": now,
            },
            add={"attempts": 1},
            condition="task_status = :pending OR (task_status = :running AND lease_until < :now_ms)",
            values={**UNFINISHED, ":now_ms": _now_ms()},
        )
        if result.applied and result.snapshot:
            return result.snapshot
        if result.snapshot is None:
            raise SnapshotSettled("the snapshot was deleted")
        if result.snapshot.task_status is not TaskStatus.RUNNING:
            raise SnapshotSettled(f"the task is already {result.snapshot.task_status.value}")
        raise LeaseHeld(max(1.0, ((result.snapshot.lease_until or 0) - _now_ms()) / 1000))

    def takeable(self, snapshot_id: str) -> Snapshot:
        """The snapshot, read (strongly consistent) instead of claimed: a cache hit or a small render
        is over long before a poller could see it running, so it goes from pending to completed in
        one conditional write (complete(claimed=False)). Raises as claim() does: SnapshotSettled when
        there is nothing to do, LeaseHeld while another renderer holds the task."""
        return takeable(self.get(snapshot_id))

    def progress(self, snapshot_id: str, progress: int) -> None:
        self._update(
            snapshot_id,
            {"progress": progress, "stage": STAGES[progress], "GSI2SK": utc_now()},
            condition="task_status = :running",
            values={":running": TaskStatus.RUNNING},
        )

    def release(self, snapshot_id: str, last_error: str, stage: str) -> None:
        """Gives the lease back after a failure, so the retry need not wait for it. `stage` is for
        users; `last_error` is internal (for operators), never shown in the task."""
        self._update(
            snapshot_id,
            {"lease_until": 0, "last_error": last_error[:1000], "stage": stage, "GSI2SK": utc_now()},
            condition="task_status IN (:pending, :running)",  # pending: a render that was not claimed
            values=UNFINISHED,
        )

    def complete(
        self,
        snapshot: Snapshot,
        content_hash: str,
        usage: dict[str, Any],
        claimed: bool = True,
        started_at: str | None = None,
        **changes: Any,
    ) -> Snapshot | None:
        """running → completed (or, unclaimed, pending → completed, also taking over a running task
        whose lease ran out), then logged for the metrics. Returns None when the task was cancelled,
        deleted or taken over meanwhile: the result is discarded."""
        unclaimed = {} if claimed else {"started_at": started_at or utc_now()}
        fields = {
            **unclaimed,
            "task_status": TaskStatus.COMPLETED,
            "progress": 100,
            "stage": STAGES[100],
            "completed_at": utc_now(),
            "content_hash": content_hash,
            "GSI2PK": f"PDF#{content_hash}",
            "GSI2SK": snapshot.id,
            **changes,
        }
        values: dict[str, Any]
        if claimed:
            condition, values = "task_status = :running", {":running": TaskStatus.RUNNING}
        else:
            condition = "task_status = :pending OR (task_status = :running AND lease_until < :now_ms)"
            values = {**UNFINISHED, ":now_ms": _now_ms()}
        result = self._update(
            snapshot.id,
            fields,
            condition=condition,
            values=values,
            add=None if claimed else {"attempts": 1},
            remove=("lease_until",),
        )
        if not result.applied or result.snapshot is None:
            return None
        self.batch_put([self.log.item(result.snapshot, "completed", **usage)])
        return result.snapshot

    def fail(self, snapshot_id: str, reason: str) -> bool:
        """pending | running → failed, with a reason a person can read. False if already settled."""
        fields = {
            "task_status": TaskStatus.FAILED,
            "stage": "Failed",
            "error": reason[:1000],
            "completed_at": utc_now(),
        }
        return self._finish(snapshot_id, fields, outcome="failed").applied

    # ---------------------------------------------------------------- cleanup and metrics side

    def stale_active(self, heartbeat_before: str) -> list[tuple[Snapshot, str]]:
        """Unfinished tasks whose last sign of life is older than `heartbeat_before`, each with
        that heartbeat: one Query per shard of the index."""
        found: list[tuple[Snapshot, str]] = []
        for partition in active_partitions():
            items = self.query_all(
                IndexName="GSI2",
                KeyConditionExpression="GSI2PK = :active AND GSI2SK < :before",
                ExpressionAttributeValues={":active": {"S": partition}, ":before": {"S": heartbeat_before}},
            )
            found.extend((Snapshot.model_validate(record(item)), item["GSI2SK"]["S"]) for item in items)
        return sorted(found, key=lambda entry: entry[1])

    def oldest_unfinished_since(self) -> str | None:
        """The oldest heartbeat among unfinished tasks (a pending task's is its creation time): the
        first entry of each shard."""
        oldest: list[str] = []
        for partition in active_partitions():
            page = self.dynamodb.query(
                TableName=self.table_name,
                IndexName="GSI2",
                KeyConditionExpression="GSI2PK = :active",
                ExpressionAttributeValues={":active": {"S": partition}},
                Limit=1,
            )
            oldest.extend(item["GSI2SK"]["S"] for item in page["Items"])
        return min(oldest, default=None)

    def mark_requeued(self, snapshot_id: str, heartbeat_seen: str) -> bool:
        """Counts a re-enqueue, only if nothing touched the task since the sweep read it: two
        cleanups running at once cannot both re-enqueue the same task."""
        return self._update(
            snapshot_id,
            {"GSI2SK": utc_now(), "stage": "Re-queued by maintenance"},
            add={"requeues": 1},
            condition="GSI2PK = :active AND GSI2SK = :seen AND (task_status = :pending OR lease_until < :now_ms)",
            values={
                ":active": active_partition(snapshot_id),
                ":seen": heartbeat_seen,
                ":pending": TaskStatus.PENDING,
                ":now_ms": _now_ms(),
            },
        ).applied

    # ---------------------------------------------------------------- plumbing

    def _finish(
        self, snapshot_id: str, fields: dict[str, Any], outcome: str, audit: tuple[str, Activity] | None = None
    ) -> Update:
        """pending | running → a terminal state, then logged for the metrics (and the audit line,
        if any)."""
        result = self._update(
            snapshot_id,
            fields,
            condition="task_status IN (:pending, :running)",
            values=UNFINISHED,
            remove=("GSI2PK", "GSI2SK", "lease_until"),
        )
        if result.applied and result.snapshot:
            self.batch_put([self.log.item(result.snapshot, outcome), *([log_item(*audit)] if audit else [])])
        return result

    def _update(
        self,
        snapshot_id: str,
        fields: dict[str, Any],
        condition: str,
        values: dict[str, Any],
        add: dict[str, int] | None = None,
        remove: tuple[str, ...] = (),
    ) -> Update:
        applied, item = self.conditional_update(snapshot_key(snapshot_id), fields, condition, values, add, remove)
        if item is None:
            return Update(applied=False, snapshot=None)
        return Update(applied=applied or _holds(item, fields, remove), snapshot=Snapshot.model_validate(record(item)))


def _holds(item: dict, fields: dict[str, Any], removed: tuple[str, ...]) -> bool:
    """Whether the item already holds what an update writes: then the update's condition failed
    because its own earlier attempt succeeded (botocore retries a write whose answer was lost).
    Every update of a snapshot writes a fresh timestamp or lease, so another writer never matches
    by chance."""
    written = to_dynamo(fields)
    return all(item.get(name) == value for name, value in written.items()) and not any(n in item for n in removed)
