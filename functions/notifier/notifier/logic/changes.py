"""What a stream record says happened, as a change the consumers understand.

The stream carries every write to the table; the event source mapping's filter passes only the
records some consumer wants, but each consumer still decides for itself (filters get widened)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from roomsnap.dal.items import record
from roomsnap.models import Snapshot, iso
from roomsnap.webhooks import ExpiryAlert


@dataclass(frozen=True)
class TaskChange:
    """A snapshot's task was created (no `before`), moved on or wrote progress, or was deleted
    (`removed`; `snapshot` is then as it was)."""

    before: Snapshot | None
    snapshot: Snapshot
    at: str  # when the write happened (the stream's approximate creation time)
    removed: bool = False

    @property
    def finished(self) -> bool:
        """Whether this write moved the task to a terminal state (status only moves forward, so
        that happens once, whoever wrote it: renderer, API or cleanup)."""
        return bool(self.before and not self.before.task_status.terminal and self.snapshot.task_status.terminal)

    @property
    def visible(self) -> bool:
        """Whether a watcher of the task sees anything move: status, progress or stage."""
        if self.before is None or self.removed:
            return True
        watched = ("task_status", "progress", "stage")
        return any(getattr(self.before, name) != getattr(self.snapshot, name) for name in watched)


@dataclass(frozen=True)
class DocumentExpiring:
    alert: ExpiryAlert


Change = TaskChange | DocumentExpiring


def change_of(stream_record: dict) -> Change | None:
    """The change a DynamoDB stream record (NEW_AND_OLD_IMAGES) records; None for other writes."""
    images = stream_record["dynamodb"]
    new, old = images.get("NewImage"), images.get("OldImage")
    entity = (new or old or {}).get("entity", {}).get("S")
    if entity == "snapshot":
        at = _written_at(images)
        if new is None:
            return TaskChange(_snapshot(old), _snapshot(old), at, removed=True)
        return TaskChange(_snapshot(old) if old else None, _snapshot(new), at)
    if entity == "document_expiry" and new and not old:
        return DocumentExpiring(alert=ExpiryAlert.model_validate(record(new)))
    return None


def _snapshot(image: dict) -> Snapshot:
    return Snapshot.model_validate(record(image))


def _written_at(images: dict) -> str:
    seconds = images.get("ApproximateCreationDateTime")
    return iso(datetime.fromtimestamp(float(seconds), UTC)) if seconds is not None else iso(datetime.now(UTC))
