"""An admin's dashboard: figures, generation times and throughput over time, recent failures with a retry,
and a redrive of the dead-letter queue. It needs the API side of issue 12 (the time series, recent failures,
retry and redrive routes) and skips itself until those answer."""

import json

import pytest

from tests.browser.conftest import BUDGET_ROWS
from tests.browser.helpers import screenshot

ADMIN = "admin.dashboard@example.com"
OWNER = "owner.dashboard@example.com"


def test_an_admin_sees_charts_retries_a_failure_and_redrives_the_dead_letter_queue(stack, sign_in, api):
    admin = api(ADMIN, admin=True)
    if admin.request("GET", "/snapshots/metrics/series?hours=24&bucket_minutes=60").status_code == 404:
        pytest.skip("GET /api/v1/snapshots/metrics/series is not in this API yet (the API side of issue 12)")
    if "recent_failures" not in admin.ok("GET", "/snapshots/metrics/summary?hours=24"):
        pytest.skip("the metrics summary has no recent_failures yet (the API side of issue 12)")
    owner = api(OWNER)
    room_id = owner.create_room("STS Dashboard")["id"]
    done = [owner.wait_for_task(owner.create_snapshot(room_id, title)["task_id"]) for title in ("Morning", "Noon")]
    approvals = [owner.add(room_id, "approvals", {"status": "approved"}) for _ in range(BUDGET_ROWS)]
    # Its owner and every approval: over the stack's render budget, it fails, with a reason
    failed = owner.create_snapshot(room_id, "Approvals", include_activity=False)
    assert owner.wait_for_task(failed["task_id"])["status"] == "failed"
    # One approval withdrawn, the room fits again: the failure can be retried
    owner.ok("DELETE", f"/rooms/{room_id}/approvals/{approvals[0]['id']}", 204)
    # A parked message; redriven, the renderer finds its snapshot completed and lets it go.
    parked = {"snapshot_id": done[0]["result"]["snapshot_id"], "room_id": room_id}
    stack.client("sqs").send_message(QueueUrl=stack.resources["RenderDeadLetterQueue"], MessageBody=json.dumps(parked))

    session = sign_in(ADMIN, admin=True)
    page = session.page
    page.get_by_role("link", name="Dashboard", exact=True).click()
    page.get_by_role("heading", name="Dashboard").wait_for()

    for caption in ("Generation time", "Snapshots finished"):
        chart = page.locator("figure.chart").filter(has_text=caption)
        chart.locator("canvas").wait_for()
        chart.get_by_text(f"Figures of “{caption}”").click()
        figures = chart.locator("tbody td:not(:first-child)").all_inner_texts()
        assert any(figure not in ("–", "0") for figure in figures), caption  # not an empty chart

    failures = page.get_by_role("table", name="Recent failures")
    failure = failures.get_by_role("row").filter(has_text="too large to print")
    failure.get_by_role("button", name="Retry").click()
    failure.get_by_text("Queued again").wait_for()

    page.get_by_role("button", name="Redrive dead-letter queue").click()
    page.get_by_text("Moved 1 message back to the render queue.").wait_for()
    screenshot(page, "dashboard-admin")
    assert session.problems.seen == []
