"""The webhook consumer: which changes are webhook events, and their fan-out to the room's endpoints."""

from roomsnap.models import TaskStatus
from roomsnap.outbox import Outbox
from roomsnap.views import snapshot_view
from roomsnap.webhooks import EventType

from notifier.logic.changes import Change, DocumentExpiring

TERMINAL_EVENTS: dict[TaskStatus, EventType] = {
    TaskStatus.COMPLETED: "snapshot.completed",
    TaskStatus.FAILED: "snapshot.failed",
    TaskStatus.CANCELLED: "snapshot.cancelled",
}


class WebhookConsumer:
    def __init__(self, outbox: Outbox):
        self.outbox = outbox

    def __call__(self, change: Change) -> list[str]:
        """Publishes a snapshot's arrival at a terminal state and document expiry alerts.
        Returns the ids of the messages it made."""
        if isinstance(change, DocumentExpiring):
            alert = change.alert
            return self.outbox.publish(
                alert.room_id, "document.expiring", alert.subject_id, alert.created_at, alert.data
            )
        snapshot = change.snapshot
        if not change.finished:
            return []
        event_type = TERMINAL_EVENTS[snapshot.task_status]
        timestamp = snapshot.completed_at or snapshot.created_at
        return self.outbox.publish(snapshot.room_id, event_type, snapshot.id, timestamp, snapshot_view(snapshot))
