"""What a client is told about the per-user create limits: 429 with Retry-After when over, and the
IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10) on every answer
of a limited route, so a well-behaved client can pace itself before it is refused."""

from datetime import datetime

from roomsnap.dal.create_limits import Admission, Limits
from roomsnap.errors import TooManyRequests

# A user's unfinished snapshots usually finish within seconds; asking again sooner is pointless.
UNFINISHED_RETRY_AFTER_S = 5


def reset_s(now: datetime, window_s: int) -> int:
    """Seconds until the fixed window holding `now` ends (windows start on the minute, the hour)."""
    return window_s - (now.minute * 60 + now.second) % window_s


def headers(limits: Limits, admission: Admission, now: datetime) -> dict[str, str]:
    minute_reset, hour_reset = reset_s(now, 60), reset_s(now, 3600)
    remaining = {
        "per-minute": max(0, limits.per_minute - admission.per_minute_used),
        "per-hour": max(0, limits.per_hour - admission.per_hour_used),
        "unfinished": max(0, limits.unfinished - len(admission.active)),
    }
    return {
        "RateLimit-Policy": f'"per-minute";q={limits.per_minute};w=60, "per-hour";q={limits.per_hour};w=3600, '
        f'"unfinished";q={limits.unfinished}',
        "RateLimit": f'"per-minute";r={remaining["per-minute"]};t={minute_reset}, '
        f'"per-hour";r={remaining["per-hour"]};t={hour_reset}, "unfinished";r={remaining["unfinished"]}',
    }


def refusal(limits: Limits, admission: Admission, now: datetime) -> TooManyRequests:
    if admission.refused_by == "per_minute":
        retry_after = reset_s(now, 60)
        detail = f"you created {limits.per_minute} snapshots this minute, the most allowed"
    elif admission.refused_by == "per_hour":
        retry_after = reset_s(now, 3600)
        detail = f"you created {limits.per_hour} snapshots this hour, the most allowed"
    else:
        retry_after = UNFINISHED_RETRY_AFTER_S
        detail = f"you have {limits.unfinished} snapshots still generating, the most allowed at once"
    return TooManyRequests(
        f"{detail}; try again in {retry_after} s",
        {"Retry-After": str(retry_after), **headers(limits, admission, now)},
    )
