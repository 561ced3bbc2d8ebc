"""The generation log: one small item per terminal transition of a task (completed, failed,
cancelled), written with it and read by the metrics summary. It outlives the snapshots it records
(they may be deleted) for as long as the summary can look back."""

from datetime import datetime, timedelta
from typing import Any

from roomsnap.dal.items import Repository, record, shard_of, to_dynamo
from roomsnap.models import Snapshot, iso

# A day's log lines are spread over 16 partitions, ~1,000 writes a second each: 16,000 terminal
# transitions a second (readers query every shard of each day).
GENERATION_SHARDS = 16
RETENTION = timedelta(days=8)  # the metrics summary looks back at most 168 h


def days_between(since: datetime, until: datetime) -> list[str]:
    day, days = since.date(), []
    while day <= until.date():
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def event_of(item: dict) -> dict[str, Any]:
    """A stored log line as the metrics read it, with its time and snapshot id from the sort key."""
    at, snapshot_id = item["SK"]["S"][:24], item["SK"]["S"][25:]
    return {**record(item), "at": at, "snapshot_id": snapshot_id}


class GenerationLog(Repository):
    def item(self, snapshot: Snapshot, outcome: str, **usage: Any) -> dict:
        """The log line of a snapshot that just reached `outcome`, for the caller's batch write."""
        at = snapshot.completed_at
        assert at is not None, "a task that reached an outcome has completed_at"
        moment = datetime.fromisoformat(at)
        event = {
            "PK": f"GEN#{at[:10]}#{shard_of(snapshot.id, GENERATION_SHARDS)}",
            "SK": f"{at}#{snapshot.id}",
            "entity": "generation",
            "outcome": outcome,
            "room_id": snapshot.room_id,
            "expires_at": int((moment + RETENTION).timestamp()),
            "created_to_completed_ms": (moment - datetime.fromisoformat(snapshot.created_at)).total_seconds() * 1000,
            **usage,
        }
        if outcome == "completed":
            event.update(cache_layer=snapshot.cache_layer, file_size=snapshot.file_size, timings=snapshot.timings)
        elif outcome == "failed":
            event.update(error=snapshot.error)
        return to_dynamo(event)

    def events(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for day in days_between(since, until):
            for shard in range(GENERATION_SHARDS):
                items = self.query_all(
                    KeyConditionExpression="PK = :pk AND SK BETWEEN :since AND :until",
                    ExpressionAttributeValues={
                        ":pk": {"S": f"GEN#{day}#{shard}"},
                        ":since": {"S": iso(since)},
                        ":until": {"S": iso(until) + "~"},
                    },
                )
                events.extend(map(event_of, items))
        return events
