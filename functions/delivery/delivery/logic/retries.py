"""When a failed attempt is tried again: a schedule like Svix's (about 5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 10 h), each delay varied by a random share (jitter) so that endpoints failing together
are not retried together; a receiver's Retry-After (on 429, 502, 503, 504) is honoured within
[1 s, the schedule's longest delay]. After the last delay's attempt there is none."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_AFTER_STATUSES = {429, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: tuple[int, ...]
    jitter: float
    random: Callable[[], float] = random.random

    def delay_after(self, attempt: int, status_code: int | None, retry_after: str | None) -> float | None:
        """Seconds until the attempt after `attempt` (1 for the first), or None: it was the last."""
        if attempt > len(self.schedule_s):
            return None
        asked = seconds_of(retry_after) if status_code in RETRY_AFTER_STATUSES else None
        if asked is not None:
            return min(max(asked, 1.0), float(max(self.schedule_s)))
        return self.schedule_s[attempt - 1] * (1 + self.jitter * (2 * self.random() - 1))


def seconds_of(retry_after: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date (RFC 9110); None if neither."""
    if not retry_after:
        return None
    value = retry_after.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
