"""The live channel consumer: every change of a task a watcher could see (created, claimed,
progress, completed, failed, cancelled, deleted) becomes a small event on its room's channel,
/rooms/<room_id>, where the room's open pages are subscribed.

Events are gathered over a batch and sent per room at its end, in stream order. A publish that
fails is dropped, not retried: failing the batch would hold the stream (and the webhooks behind
it) for an update that is stale seconds later, and a page reconciles by itself each time it
(re)subscribes, polls while its channel is down, and asks once about a task it has heard nothing
of for a minute. The drop is logged and counted."""

from collections import defaultdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from roomsnap.dal.live_channels import LiveChannels
from roomsnap.observability import logger, metrics

from notifier.logic.changes import Change, TaskChange

DELETED = "deleted"


def room_channel(room_id: str) -> str:
    return f"/rooms/{room_id}"


def live_event(change: TaskChange) -> dict[str, Any]:
    snapshot = change.snapshot
    finished_at = snapshot.completed_at if snapshot.task_status.terminal and not change.removed else None
    return {
        "task_id": snapshot.task_id,
        "snapshot_id": snapshot.id,
        "status": DELETED if change.removed else snapshot.task_status.value,
        "progress": snapshot.progress,
        "stage": snapshot.stage,
        "at": finished_at or change.at,
    }


class LiveConsumer:
    def __init__(self, channels: LiveChannels):
        self.channels = channels
        self._pending: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)

    def __call__(self, change: Change) -> None:
        if isinstance(change, TaskChange) and change.visible:
            self._pending[change.snapshot.room_id].append(live_event(change))

    def flush(self) -> int:
        """Publishes what the batch gathered, the rooms side by side; returns how many events were sent."""
        pending, self._pending = self._pending, defaultdict(list)
        by_channel = {room_channel(room_id): events for room_id, events in pending.items()}
        failed = self.channels.publish_all(by_channel) if by_channel else {}
        for channel, error in failed.items():
            dropped = len(by_channel[channel])
            logger.warning("live events dropped", extra={"channel": channel, "events": dropped, "error": str(error)})
            metrics.add_metric(name="LiveEventsDropped", unit=MetricUnit.Count, value=dropped)
        return sum(len(events) for channel, events in by_channel.items() if channel not in failed)
