"""API latency histograms by hour, route and status class, which every API container adds to
(ADD is atomic, so they merge exactly); the metrics summary reads them."""

from datetime import datetime
from typing import Any

from roomsnap.dal.generation_log import RETENTION, days_between
from roomsnap.dal.items import Repository, record, to_dynamo


class ApiLatencyStats(Repository):
    def add(
        self, hour: str, route: str, status_class: str, buckets: dict[int, int], count: int, total_ms: float
    ) -> None:
        counters = {"count": count, "sum_ms": total_ms, **{f"b{index}": n for index, n in buckets.items()}}
        expires = datetime.fromisoformat(hour + ":00+00:00") + RETENTION
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key={"PK": {"S": f"APISTATS#{hour[:10]}"}, "SK": {"S": f"{hour}#{status_class}#{route}"}},
            UpdateExpression="SET expires_at = :expires ADD " + ", ".join(f"#{name} :{name}" for name in counters),
            ExpressionAttributeNames={f"#{name}": name for name in counters},
            ExpressionAttributeValues=to_dynamo(
                {":expires": int(expires.timestamp()), **{f":{n}": v for n, v in counters.items()}}
            ),
        )

    def rows(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Hourly rows {route, status_class, count, sum_ms, buckets} from the hour of `since` on."""
        rows = []
        for day in days_between(since, until):
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
