"""plan_retry: what the renderer does with a record whose render failed."""

import pytest

from roomsnap.errors import LeaseHeld, PdfBeingDeleted, TransientError

from renderer.logic.retries import RetryPlan, plan_retry

BACKOFF = (10, 60, 300)
MAX_RECEIVES = 6


@pytest.mark.parametrize(("retry_after", "delay"), [(3.0, 3.0), (45.0, 10)])
def test_a_held_lease_is_waited_for_at_most_the_first_backoff(retry_after, delay):
    # When another renderer holds the lease for `retry_after` more seconds
    plan = plan_retry(LeaseHeld(retry_after), deliveries=1, max_receive_count=MAX_RECEIVES, backoff_s=BACKOFF)
    # Then the record is looked at again once the lease is over, or after the first backoff if sooner
    assert plan == RetryPlan("wait", delay)


def test_a_held_lease_is_waited_for_even_on_the_last_delivery():
    # When the last delivery finds another renderer holding the lease
    plan = plan_retry(LeaseHeld(2.0), deliveries=MAX_RECEIVES, max_receive_count=MAX_RECEIVES, backoff_s=BACKOFF)
    # Then it waits: the holder is at work, and failing the snapshot now would discard its work
    assert plan.action == "wait"


@pytest.mark.parametrize(
    ("deliveries", "max_receives"), [(MAX_RECEIVES, MAX_RECEIVES), (MAX_RECEIVES + 1, MAX_RECEIVES), (1, 1)]
)
@pytest.mark.parametrize("error", [TransientError("throttled"), PdfBeingDeleted("abc"), RuntimeError("boom")])
def test_the_last_delivery_gives_up_whatever_the_error(error, deliveries, max_receives):
    # When the last delivery allowed (or one past it) fails
    plan = plan_retry(error, deliveries, max_receives, BACKOFF)
    # Then the snapshot is to fail now
    assert plan == RetryPlan("give_up", 0)


def test_retries_follow_the_schedule_and_its_last_value_repeats():
    # When the 1st to 5th deliveries fail, of 6 allowed
    delays = [
        plan_retry(TransientError(), deliveries=n, max_receive_count=MAX_RECEIVES, backoff_s=BACKOFF)
        for n in range(1, MAX_RECEIVES)
    ]
    # Then each backs off by the schedule's delay before that retry, the last one repeating
    assert delays == [RetryPlan("back_off", s) for s in (10, 60, 300, 300, 300)]


def test_a_schedule_of_one_delay_is_used_for_every_retry():
    # When every delivery but the last fails, with a schedule of one delay
    plans = {plan_retry(RuntimeError(), n, MAX_RECEIVES, backoff_s=(7,)) for n in range(1, MAX_RECEIVES)}
    # Then each backs off by that delay
    assert plans == {RetryPlan("back_off", 7)}
