"""Per-user limits on creating snapshots, kept in one item per user and checked by one conditional
write per create:

  LIMIT#<email>  CREATE   m_<minute>: creates in that minute (the burst window)
                          h_<hour>:   creates in that hour (the sustained rate)
                          active:     ids of the user's snapshots that may be unfinished

Windows are fixed (a burst can straddle a minute's end: at most twice the burst limit in 60 s).
Counters of past windows are removed by the next write of a container that has seen them, and
the whole item expires two hours after the user's last create. `active` only grows on create; it
is reconciled (finished snapshots dropped) when it reaches the cap, so it never undercounts and
costs nothing per render.

When DynamoDB throttles the write (after botocore's retries), the create is let through: the
limits protect the service from one user, and refusing everyone's work because a counter could
not be written would turn a hot partition into an outage. The stage-wide API throttle still
bounds the load. Each such pass is logged and counted."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from botocore.exceptions import ClientError
from cachetools import LRUCache

from roomsnap.dal.items import Repository, item_on_condition_failure, record, to_dynamo

THROTTLED = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")
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
    throttled: bool = False


def window_names(now: datetime) -> tuple[str, str]:
    return f"m_{now:%Y%m%d%H%M}", f"h_{now:%Y%m%d%H}"


class CreateLimits(Repository):
    def __init__(self, table_name: str, limits: Limits):
        super().__init__(table_name)
        self.limits = limits
        self._stale: LRUCache[str, set[str]] = LRUCache(KNOWN_USERS)  # user -> past window counters seen

    def admit(self, user: str, snapshot_id: str, now: datetime) -> Admission:
        """Counts a create in both windows and adds it to the user's active set, unless that would
        exceed a limit (then nothing is written)."""
        minute, hour = window_names(now)
        stale = sorted(self._stale.get(user, set()) - {minute, hour})
        names = {"#m": minute, "#h": hour, **{f"#s{i}": name for i, name in enumerate(stale)}}
        expression = "ADD #m :one, #h :one, active :id SET expires_at = :expires"
        if stale:
            expression += " REMOVE " + ", ".join(f"#s{i}" for i in range(len(stale)))
        try:
            item = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(user),
                UpdateExpression=expression,
                ConditionExpression="(attribute_not_exists(#m) OR #m < :per_minute) "
                "AND (attribute_not_exists(#h) OR #h < :per_hour) "
                "AND (attribute_not_exists(active) OR size(active) < :unfinished)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
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
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if error.response["Error"]["Code"] in THROTTLED:
                return Admission(admitted=True, throttled=True)
            old = item_on_condition_failure(error)
            if old is None:
                raise
            return self._refusal(user, record(old), minute, hour)
        return self._admission(user, record(item), minute, hour, admitted=True)

    def forget(self, user: str, snapshot_ids: set[str]) -> None:
        """Drops finished snapshots from the user's active set (set DELETE is idempotent)."""
        if snapshot_ids:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(user),
                UpdateExpression="DELETE active :ids",
                ExpressionAttributeValues={":ids": {"SS": sorted(snapshot_ids)}},
            )

    def _refusal(self, user: str, item: dict, minute: str, hour: str) -> Admission:
        seen = self._admission(user, item, minute, hour, admitted=False)
        if seen.per_minute_used >= self.limits.per_minute:
            refused_by = "per_minute"
        elif seen.per_hour_used >= self.limits.per_hour:
            refused_by = "per_hour"
        else:
            refused_by = "unfinished"
        return Admission(False, seen.per_minute_used, seen.per_hour_used, seen.active, refused_by)

    def _admission(self, user: str, item: dict, minute: str, hour: str, admitted: bool) -> Admission:
        windows = {name for name in item if name.startswith(("m_", "h_"))}
        self._stale[user] = windows - {minute, hour}
        active = frozenset(item.get("active", ()))
        return Admission(admitted, int(item.get(minute, 0)), int(item.get(hour, 0)), active)

    def _key(self, user: str) -> dict:
        return {"PK": {"S": f"LIMIT#{user}"}, "SK": {"S": "CREATE"}}
