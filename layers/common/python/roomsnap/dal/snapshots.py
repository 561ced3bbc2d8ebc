"""Snapshot + task records: one item each, and one state machine.

    pending ──> running ──> completed
       │           │──────> failed
       └───────────┴──────> cancelled            (pending can also fail, e.g. when stuck)

Every transition is a conditional write, so status only moves forward whatever the order in
which duplicate deliveries, retries, cancellations and the cleanup arrive. A renderer holds a
lease while it works: a second delivery of the same message waits for it instead of rendering
the same snapshot twice; a crashed renderer's lease simply runs out."""

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from roomsnap.dal.items import Repository, is_condition_failure, log_item, record, snapshot_key, to_dynamo
from roomsnap.errors import Conflict, LeaseHeld, NotFound, PdfBeingDeleted, SnapshotSettled
from roomsnap.models import STAGES, Activity, Snapshot, TaskStatus, utc_now

ACTIVE = "ACTIVE"
STALE_PDF_LOCK = timedelta(minutes=10)  # well past the cleanup function's timeout
CONTENT_KEY_RETENTION = timedelta(days=2)  # a content key names one day's expiry checks
IDEMPOTENCY_WINDOW = timedelta(hours=24)
GENERATION_SHARDS = 4
GENERATION_LOG_RETENTION = timedelta(days=8)  # the metrics summary looks back at most 168 h


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _content_key_item(content_key: str) -> dict:
    return {"PK": {"S": f"CONTENT#{content_key}"}, "SK": {"S": "CONTENT"}}


def pdf_item_key(content_hash: str) -> dict:
    return {"PK": {"S": f"PDF#{content_hash}"}, "SK": {"S": "PDF"}}


class SnapshotRepository(Repository):
    def __init__(self, table_name: str, retention_days: int = 90):
        super().__init__(table_name)
        self.retention = timedelta(days=retention_days)

    # ---------------------------------------------------------------- API side

    def create(self, snapshot: Snapshot, audit: Activity) -> None:
        """Writes the snapshot and its audit line in one BatchWriteItem: the request path's only
        table write. (The id is fresh and random, so no condition is needed against overwriting.)"""
        created = datetime.fromisoformat(snapshot.created_at)
        item = {
            "GSI1PK": f"ROOMSNAPS#{snapshot.room_id}",
            "GSI1SK": snapshot.id,
            "GSI2PK": ACTIVE,
            "GSI2SK": snapshot.created_at,
            "entity": "snapshot",
            "expires_at": int((created + self.retention).timestamp()),
            **snapshot.model_dump(mode="json"),
        }
        self.batch_put([{**snapshot_key(snapshot.id), **to_dynamo(item)}, log_item(snapshot.room_id, audit)])

    def claim_idempotency_key(
        self, user: str, key: str, request_digest: str, snapshot_id: str, at: datetime
    ) -> dict | None:
        """Claims `key` for `user` for 24 hours, for the snapshot about to be created. Returns None
        once claimed, or the earlier claim ({snapshot_id, request_digest}) while it is valid."""
        claim = {
            **self._idempotency_key(user, key),
            **to_dynamo(
                {
                    "snapshot_id": snapshot_id,
                    "request_digest": request_digest,
                    "entity": "idempotency",
                    "expires_at": int((at + IDEMPOTENCY_WINDOW).timestamp()),
                }
            ),
        }
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=claim,
                # An expired claim (TTL may lag) no longer counts.
                ConditionExpression="attribute_not_exists(PK) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(at.timestamp()))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return record(error.response.get("Item", {}))
            raise
        return None

    def _idempotency_key(self, user: str, key: str) -> dict:
        digest = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()
        return {"PK": {"S": f"IDEMP#{digest}"}, "SK": {"S": "IDEMP"}}

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
        try:
            self.dynamodb.delete_item(
                TableName=self.table_name, Key=snapshot_key(snapshot.id), ConditionExpression="attribute_exists(PK)"
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise NotFound("snapshot not found") from None
            raise
        self.batch_put([log_item(snapshot.room_id, audit)])

    def cancel(self, snapshot: Snapshot, audit: Activity) -> Snapshot:
        """pending | running → cancelled. A renderer still working on it finds out at its next
        conditional write and discards its result."""
        fields = {"task_status": TaskStatus.CANCELLED, "stage": "Cancelled", "completed_at": audit.at}
        old = self._finish(snapshot.id, fields, outcome="cancelled", audit=(snapshot.room_id, audit))
        if old is not None:
            raise Conflict(f"the task is already {old.get('task_status')}") if old else NotFound("task not found")
        return snapshot.model_copy(update=fields)

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
            values={":pending": TaskStatus.PENDING, ":running": TaskStatus.RUNNING, ":now_ms": _now_ms()},
        )
        if not isinstance(result, dict):
            return result
        if not result:
            raise SnapshotSettled("the snapshot was deleted")
        if result.get("task_status") != TaskStatus.RUNNING.value:
            raise SnapshotSettled(f"the task is already {result.get('task_status')}")
        raise LeaseHeld(max(1.0, (int(result.get("lease_until", 0)) - _now_ms()) / 1000))

    def progress(self, snapshot_id: str, progress: int) -> None:
        self._update(
            snapshot_id,
            {"progress": progress, "stage": STAGES[progress], "GSI2SK": utc_now()},
            condition="task_status = :running",
            values={":running": TaskStatus.RUNNING},
        )

    def release(self, snapshot_id: str, error: str) -> None:
        """Gives the lease back after a transient failure, so the retry need not wait for it."""
        self._update(
            snapshot_id,
            {"lease_until": 0, "last_error": error, "stage": f"Retrying after: {error}"[:300], "GSI2SK": utc_now()},
            condition="task_status = :running",
            values={":running": TaskStatus.RUNNING},
        )

    def touch_pdf(self, content_hash: str, stale_lock_before: str) -> None:
        """Records that a renderer is about to use the PDF with this hash, before it looks for it.
        The cleanup only deletes a PDF it could mark `deleting` while unused for the retention
        period, so after this write it leaves the PDF alone; if the cleanup holds the mark now,
        this raises PdfBeingDeleted and the render is retried once the deletion is done. (A mark
        older than the cleanup's timeout is a crashed cleanup's, and is cleared.)"""
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=pdf_item_key(content_hash),
                UpdateExpression="SET last_used_at = :now, #entity = :pdf REMOVE deleting",
                ConditionExpression="attribute_not_exists(deleting) OR deleting < :stale",
                ExpressionAttributeNames={"#entity": "entity"},
                ExpressionAttributeValues=to_dynamo({":now": utc_now(), ":pdf": "pdf", ":stale": stale_lock_before}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise PdfBeingDeleted(content_hash) from None
            raise

    def complete(self, snapshot: Snapshot, content_hash: str, usage: dict[str, Any], **changes: Any) -> Snapshot | None:
        """running → completed, then logged for the metrics. Returns None when the task was
        cancelled or the snapshot deleted meanwhile: the result is discarded."""
        fields = {
            "task_status": TaskStatus.COMPLETED,
            "progress": 100,
            "stage": STAGES[100],
            "completed_at": utc_now(),
            "content_hash": content_hash,
            "GSI2PK": f"PDF#{content_hash}",
            "GSI2SK": snapshot.id,
            **changes,
        }
        updated = self._update(
            snapshot.id,
            fields,
            condition="task_status = :running",
            values={":running": TaskStatus.RUNNING},
            remove=("lease_until",),
        )
        if isinstance(updated, dict):
            return None
        self.batch_put([self._generation_event(updated, "completed", **usage)])
        return updated

    def fail(self, snapshot_id: str, reason: str) -> bool:
        """pending | running → failed, with a reason a person can read. False if already settled."""
        fields = {
            "task_status": TaskStatus.FAILED,
            "stage": "Failed",
            "error": reason[:1000],
            "completed_at": utc_now(),
        }
        return self._finish(snapshot_id, fields, outcome="failed") is None

    def known_content_hash(self, content_key: str) -> str | None:
        """The content hash recorded for a content key (see render_logic.render), if any."""
        item = self.dynamodb.get_item(TableName=self.table_name, Key=_content_key_item(content_key)).get("Item")
        return item["content_hash"]["S"] if item else None

    def remember_content_hash(self, content_key: str, content_hash: str) -> None:
        expires_at = int((datetime.now(UTC) + CONTENT_KEY_RETENTION).timestamp())
        item = {
            **_content_key_item(content_key),
            **to_dynamo({"content_hash": content_hash, "entity": "content", "expires_at": expires_at}),
        }
        self.dynamodb.put_item(TableName=self.table_name, Item=item)

    # ---------------------------------------------------------------- cleanup side

    def stale_active(self, heartbeat_before: str) -> list[tuple[Snapshot, str]]:
        """Unfinished tasks whose last sign of life is older than `heartbeat_before`, each with
        that heartbeat."""
        items = self.query_all(
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :active AND GSI2SK < :before",
            ExpressionAttributeValues={":active": {"S": ACTIVE}, ":before": {"S": heartbeat_before}},
        )
        return [(Snapshot.model_validate(record(item)), item["GSI2SK"]["S"]) for item in items]

    def mark_requeued(self, snapshot_id: str, heartbeat_seen: str) -> bool:
        """Counts a re-enqueue, only if nothing touched the task since the sweep read it: two
        cleanups running at once cannot both re-enqueue the same task."""
        result = self._update(
            snapshot_id,
            {"GSI2SK": utc_now(), "stage": "Re-queued by maintenance"},
            add={"requeues": 1},
            condition="GSI2PK = :active AND GSI2SK = :seen AND (task_status = :pending OR lease_until < :now_ms)",
            values={
                ":active": ACTIVE,
                ":seen": heartbeat_seen,
                ":pending": TaskStatus.PENDING,
                ":now_ms": _now_ms(),
            },
        )
        return not isinstance(result, dict)

    def references(self, content_hash: str) -> bool:
        page = self.dynamodb.query(
            TableName=self.table_name,
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :pdf",
            ExpressionAttributeValues={":pdf": {"S": f"PDF#{content_hash}"}},
            Limit=1,
        )
        return bool(page["Items"])

    def lock_pdf_for_deletion(self, content_hash: str, unused_since: str, stale_lock_before: str) -> str | None:
        """Marks a cached PDF `deleting` if nothing has used it since `unused_since` (a lock left by
        a crashed cleanup counts as absent once older than `stale_lock_before`). Returns the lock's
        timestamp, or None if the PDF is in use or another cleanup holds it."""
        lock = utc_now()
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=pdf_item_key(content_hash),
                UpdateExpression="SET deleting = :lock",
                ConditionExpression="(attribute_not_exists(last_used_at) OR last_used_at < :unused) "
                "AND (attribute_not_exists(deleting) OR deleting < :stale)",
                ExpressionAttributeValues=to_dynamo(
                    {":lock": lock, ":unused": unused_since, ":stale": stale_lock_before}
                ),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return lock

    def unlock_pdf(self, content_hash: str, lock: str, forget: bool) -> None:
        """Releases a deletion lock: keeps the PDF's record, or removes it with the PDF (forget)."""
        condition = {"ConditionExpression": "deleting = :lock", "ExpressionAttributeValues": {":lock": {"S": lock}}}
        try:
            if forget:
                self.dynamodb.delete_item(TableName=self.table_name, Key=pdf_item_key(content_hash), **condition)
            else:
                self.dynamodb.update_item(
                    TableName=self.table_name,
                    Key=pdf_item_key(content_hash),
                    UpdateExpression="REMOVE deleting",
                    **condition,
                )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def delete_expired(self, now_epoch: int) -> int:
        """Deletes items whose `expires_at` has passed; the condition keeps a record that was
        extended meanwhile. Returns how many were deleted."""
        removed, start = 0, None
        while True:
            page = self.dynamodb.scan(
                TableName=self.table_name,
                FilterExpression="expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
                ProjectionExpression="PK, SK",
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for key in page["Items"]:
                try:
                    self.dynamodb.delete_item(
                        TableName=self.table_name,
                        Key=key,
                        ConditionExpression="expires_at < :now",
                        ExpressionAttributeValues={":now": {"N": str(now_epoch)}},
                    )
                    removed += 1
                except ClientError as error:
                    if not is_condition_failure(error):
                        raise
            start = page.get("LastEvaluatedKey")
            if not start:
                return removed

    # ---------------------------------------------------------------- plumbing

    def _generation_event(self, snapshot: Snapshot, outcome: str, **usage: Any) -> dict:
        """One line of the generation log the metrics summary reads (it outlives the snapshot)."""
        at = snapshot.completed_at
        moment = datetime.fromisoformat(at)
        shard = ord(snapshot.id[-1]) % GENERATION_SHARDS  # spreads a busy day's writes
        event = {
            "PK": f"GEN#{at[:10]}#{shard}",
            "SK": f"{at}#{snapshot.id}",
            "entity": "generation",
            "outcome": outcome,
            "expires_at": int((moment + GENERATION_LOG_RETENTION).timestamp()),
            "created_to_completed_ms": (moment - datetime.fromisoformat(snapshot.created_at)).total_seconds() * 1000,
            **usage,
        }
        if outcome == "completed":
            event.update(cache_layer=snapshot.cache_layer, file_size=snapshot.file_size, timings=snapshot.timings)
        return to_dynamo(event)

    def _finish(
        self, snapshot_id: str, fields: dict[str, Any], outcome: str, audit: tuple[str, Activity] | None = None
    ) -> dict | None:
        """pending | running → a terminal state, then logged for the metrics (and the audit line,
        if any). Returns None on success, else the item as it was ({} when there is none)."""
        updated = self._update(
            snapshot_id,
            fields,
            condition="task_status IN (:pending, :running)",
            values={":pending": TaskStatus.PENDING, ":running": TaskStatus.RUNNING},
            remove=("GSI2PK", "GSI2SK", "lease_until"),
        )
        if isinstance(updated, dict):
            return updated
        self.batch_put([self._generation_event(updated, outcome), *([log_item(*audit)] if audit else [])])
        return None

    def _update(
        self,
        snapshot_id: str,
        fields: dict[str, Any],
        condition: str,
        values: dict[str, Any],
        add: dict[str, int] | None = None,
        remove: tuple[str, ...] = (),
    ) -> Snapshot | dict:
        """Applies the update under `condition`. Returns the updated snapshot, or — when the
        condition failed — the item as it was ({} when there is none)."""
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in fields)
        if add:
            expression += " ADD " + ", ".join(f"#{name} :{name}" for name in add)
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        every = {**fields, **(add or {})}
        try:
            item = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=snapshot_key(snapshot_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={f"#{name}": name for name in every},
                ExpressionAttributeValues=to_dynamo({**{f":{n}": v for n, v in every.items()}, **values}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if is_condition_failure(error):
                return record(error.response.get("Item", {}))
            raise
        return Snapshot.model_validate(record(item))
