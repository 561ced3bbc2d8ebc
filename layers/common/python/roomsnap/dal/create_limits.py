"""Per-user limits on creating snapshots, kept in one item per user and counted by a condition of the
create's own transaction:

  LIMIT#<email>  CREATE   m_<minute>: creates in that minute (the burst window)
                          h_<hour>:   creates in that hour (the sustained rate)
                          active:     ids of the user's snapshots that may be unfinished

Windows are fixed (a burst can straddle a minute's end: at most twice the burst limit in 60 s).
Counters of past windows are removed by the next write of a container that has seen them, and
the whole item expires two hours after the user's last create. `active` only grows on create; it
is reconciled (finished snapshots dropped) when it reaches the cap, so it never undercounts and
costs nothing per render.

A transaction returns no item when it succeeds, so what a create is told is left of its limits
(the RateLimit header) is this container's view: the exact counters of the user's last refusal
here, plus the creates it made since. With one container it is exact; when a user's creates reach
several, it may show more left than there is. A refusal is always exact: it is read from the
counter's own condition failure.

When DynamoDB throttles the counter, the create is refused with the rest of its transaction
(503, Retry-After): nothing else writes a user's counter, so it is hot only when that user floods,
and letting a throttled create through would let exactly that user past the limits."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cachetools import LRUCache

from roomsnap.dal.items import Repository, record, to_dynamo
from roomsnap.dal.transactions import Guard

EXPIRES_AFTER = timedelta(hours=2)
KNOWN_USERS = 10_000


@dataclass(frozen=True)
class Limits:
    per_minute: int
    per_hour: int
    unfinished: int


@dataclass(frozen=True)
class Admission:
    admitted: bool
    per_minute_used: int = 0
    per_hour_used: int = 0
    active: frozenset[str] = field(default_factory=frozenset)
    refused_by: str | None = None  # "per_minute", "per_hour" or "unfinished"


class LimitReached(Exception):
    """A create over one of the user's limits: nothing was written."""

    def __init__(self, admission: Admission):
        super().__init__(admission.refused_by)
        self.admission = admission


def window_names(now: datetime) -> tuple[str, str]:
    return f"m_{now:%Y%m%d%H%M}", f"h_{now:%Y%m%d%H}"


class CreateLimits(Repository):
    def __init__(self, table_name: str, limits: Limits):
        super().__init__(table_name)
        self.limits = limits
        self._seen: LRUCache[str, dict] = LRUCache(KNOWN_USERS)  # user -> its counter item, as this container knows it

    def count_guard(self, user: str, snapshot_id: str, now: datetime) -> Guard:
        """A create's transaction item that counts it in both windows and adds it to the user's
        active set, on condition that no limit is reached; its refusal is LimitReached."""
        minute, hour = window_names(now)
        stale = sorted(
            name for name in self._seen.get(user, {}) if name.startswith(("m_", "h_")) and name not in (minute, hour)
        )
        names = {"#m": minute, "#h": hour, **{f"#s{i}": name for i, name in enumerate(stale)}}
        expression = "ADD #m :one, #h :one, active :id SET expires_at = :expires"
        if stale:
            expression += " REMOVE " + ", ".join(f"#s{i}" for i in range(len(stale)))
        update = {
            "TableName": self.table_name,
            "Key": self._key(user),
            "UpdateExpression": expression,
            "ConditionExpression": "(attribute_not_exists(#m) OR #m < :per_minute) "
            "AND (attribute_not_exists(#h) OR #h < :per_hour) "
            "AND (attribute_not_exists(active) OR size(active) < :unfinished)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {
                **to_dynamo(
                    {
                        ":one": 1,
                        ":expires": int((now + EXPIRES_AFTER).timestamp()),
                        ":per_minute": self.limits.per_minute,
                        ":per_hour": self.limits.per_hour,
                        ":unfinished": self.limits.unfinished,
                    }
                ),
                ":id": {"SS": [snapshot_id]},
            },
        }
        return Guard({"Update": update}, lambda old: LimitReached(self._refusal(user, record(old or {}), minute, hour)))

    def counted(self, user: str, snapshot_id: str, now: datetime) -> Admission:
        """What the user has used of each limit after a create whose transaction succeeded, as this
        container knows it (the module's docstring says how exact that is)."""
        minute, hour = window_names(now)
        seen = self._seen.get(user, {})
        item = {  # the create's transaction removed the past windows this container knew of
            minute: seen.get(minute, 0) + 1,
            hour: seen.get(hour, 0) + 1,
            "active": {*seen.get("active", ()), snapshot_id},
        }
        self._seen[user] = item
        return Admission(True, item[minute], item[hour], frozenset(item["active"]))

    def forget(self, user: str, snapshot_ids: set[str]) -> None:
        """Drops finished snapshots from the user's active set (set DELETE is idempotent)."""
        if snapshot_ids:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(user),
                UpdateExpression="DELETE active :ids",
                ExpressionAttributeValues={":ids": {"SS": sorted(snapshot_ids)}},
            )
            if user in self._seen:
                self._seen[user] = {
                    **self._seen[user],
                    "active": set(self._seen[user].get("active", ())) - snapshot_ids,
                }

    def _refusal(self, user: str, item: dict, minute: str, hour: str) -> Admission:
        self._seen[user] = {**item, "active": set(item.get("active", ()))}
        used = Admission(False, int(item.get(minute, 0)), int(item.get(hour, 0)), frozenset(item.get("active", ())))
        if used.per_minute_used >= self.limits.per_minute:
            refused_by = "per_minute"
        elif used.per_hour_used >= self.limits.per_hour:
            refused_by = "per_hour"
        else:
            refused_by = "unfinished"
        return Admission(False, used.per_minute_used, used.per_hour_used, used.active, refused_by)

    def _key(self, user: str) -> dict:
        return {"PK": {"S": f"LIMIT#{user}"}, "SK": {"S": "CREATE"}}
