"""What a stream record says happened, as a change the consumers understand.

The stream carries every write to the table; the event source mapping's filter passes only the
records some consumer wants, but each consumer still decides for itself (filters get widened)."""

from dataclasses import dataclass

from roomsnap.dal.items import record
from roomsnap.models import Snapshot, TaskStatus
from roomsnap.webhooks import ExpiryAlert


@dataclass(frozen=True)
class TaskChange:
    """A snapshot's task moved from `previous` to `snapshot.task_status` (or wrote progress)."""

    previous: TaskStatus
    snapshot: Snapshot


@dataclass(frozen=True)
class DocumentExpiring:
    alert: ExpiryAlert


Change = TaskChange | DocumentExpiring


def change_of(stream_record: dict) -> Change | None:
    """The change a DynamoDB stream record (NEW_AND_OLD_IMAGES) records; None for other writes."""
    images = stream_record["dynamodb"]
    new, old = images.get("NewImage"), images.get("OldImage")
    entity = (new or old or {}).get("entity", {}).get("S")
    if entity == "snapshot" and new and old:
        return TaskChange(previous=TaskStatus(old["task_status"]["S"]), snapshot=Snapshot.model_validate(record(new)))
    if entity == "document_expiry" and new and not old:
        return DocumentExpiring(alert=ExpiryAlert.model_validate(record(new)))
    return None
