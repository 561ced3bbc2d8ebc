"""What to do with a record whose render failed: wait for the lease holder, back off, or give up.

A failed record is handed back to SQS with its visibility set to the plan's delay, so it returns
on its own; on the last delivery before the dead-letter queue the snapshot is failed instead, so a
user never waits on a message that is no longer coming."""

from dataclasses import dataclass
from typing import Literal

from roomsnap.errors import LeaseHeld


@dataclass(frozen=True)
class RetryPlan:
    # wait: another renderer holds the lease; back_off: retry after the schedule's delay;
    # give_up: the last delivery failed, the snapshot fails now.
    action: Literal["wait", "back_off", "give_up"]
    delay_s: float


def plan_retry(error: Exception, deliveries: int, max_receive_count: int, backoff_s: tuple[int, ...]) -> RetryPlan:
    """`deliveries` counts this one (SQS's ApproximateReceiveCount); `backoff_s` is the delay before
    the 1st, 2nd, ... retry, its last value repeating."""
    if isinstance(error, LeaseHeld):  # look again soon: the holder is usually done in milliseconds
        return RetryPlan("wait", min(error.retry_after, backoff_s[0]))
    if deliveries >= max_receive_count:
        return RetryPlan("give_up", 0)
    return RetryPlan("back_off", backoff_s[min(deliveries, len(backoff_s)) - 1])
