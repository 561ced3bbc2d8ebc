"""What the metrics summary reads: the generation log written with each terminal transition, and
API latency histograms that each API container adds to (ADD is atomic, so they merge exactly)."""

from datetime import datetime, timedelta
from typing import Any

from roomsnap.dal.items import Repository, record, to_dynamo
from roomsnap.dal.snapshots import ACTIVE, GENERATION_LOG_RETENTION, GENERATION_SHARDS
from roomsnap.models import iso


def _days(since: datetime, until: datetime) -> list[str]:
    day, days = since.date(), []
    while day <= until.date():
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


class StatsRepository(Repository):
    def generation_events(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        events = []
        for day in _days(since, until):
            for shard in range(GENERATION_SHARDS):
                items = self.query_all(
                    KeyConditionExpression="PK = :pk AND SK BETWEEN :since AND :until",
                    ExpressionAttributeValues={
                        ":pk": {"S": f"GEN#{day}#{shard}"},
                        ":since": {"S": iso(since)},
                        ":until": {"S": iso(until) + "~"},
                    },
                )
                events.extend({**record(item), "at": item["SK"]["S"][:24]} for item in items)
        return events

    def add_api_latencies(
        self, hour: str, route: str, status_class: str, buckets: dict[int, int], count: int, total_ms: float
    ) -> None:
        counters = {"count": count, "sum_ms": total_ms, **{f"b{index}": n for index, n in buckets.items()}}
        expires = datetime.fromisoformat(hour + ":00+00:00") + GENERATION_LOG_RETENTION
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key={"PK": {"S": f"APISTATS#{hour[:10]}"}, "SK": {"S": f"{hour}#{status_class}#{route}"}},
            UpdateExpression="SET expires_at = :expires ADD " + ", ".join(f"#{name} :{name}" for name in counters),
            ExpressionAttributeNames={f"#{name}": name for name in counters},
            ExpressionAttributeValues=to_dynamo(
                {":expires": int(expires.timestamp()), **{f":{n}": v for n, v in counters.items()}}
            ),
        )

    def api_latencies(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Hourly rows {route, status_class, count, sum_ms, buckets} from the hour of `since` on."""
        rows = []
        for day in _days(since, until):
            items = self.query_all(
                KeyConditionExpression="PK = :pk AND SK >= :since",
                ExpressionAttributeValues={
                    ":pk": {"S": f"APISTATS#{day}"},
                    ":since": {"S": since.strftime("%Y-%m-%dT%H")},
                },
            )
            for item in items:
                hour, status_class, route = item["SK"]["S"].split("#", 2)
                values = record(item)
                buckets = {int(name[1:]): n for name, n in values.items() if name[0] == "b" and name[1:].isdigit()}
                rows.append(
                    {
                        "route": route,
                        "status_class": status_class,
                        "count": values["count"],
                        "sum_ms": values["sum_ms"],
                        "buckets": buckets,
                    }
                )
        return rows

    def oldest_unfinished_since(self) -> str | None:
        """The oldest heartbeat among unfinished tasks: a pending task's is its creation time."""
        page = self.dynamodb.query(
            TableName=self.table_name,
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :active",
            ExpressionAttributeValues={":active": {"S": ACTIVE}},
            Limit=1,
        )
        return page["Items"][0]["GSI2SK"]["S"] if page["Items"] else None
