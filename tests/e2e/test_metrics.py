"""Operators' view on a stack of its own (so the figures cover only this workload): the metrics
summary's figures are exact, bulk status filters by permission, polling revalidates with ETags."""

import math
import statistics

import pytest

from scripts.local import emulate
from tests.support import ApiClient

TITLES = ("Alpha", "Bravo", "Charlie")
PER_TITLE = 4  # the first of each title renders; the other three are cache hits


@pytest.fixture(scope="module")
def metrics_stack():
    flush_always = {"ApiFunction": {"API_STATS_FLUSH_SECONDS": "0"}}
    with emulate(
        port=0, start_schedules=False, stack_name="room-snapshots-metrics", env_overrides=flush_always
    ) as running:
        yield running


@pytest.fixture(scope="module")
def workload(metrics_stack):
    """12 snapshots of 3 contents, created one after another, and one cancelled at once."""
    owner = ApiClient(metrics_stack.base_url, metrics_stack.mint_token("owner.metrics@x.io"))
    room_id = owner.create_room("Metrics room")["id"]
    owner.add(room_id, "parties", {"email": "viewer.metrics@x.io", "company": "V", "role": "viewer"})
    snapshots = []
    for title in TITLES:
        for _ in range(PER_TITLE):
            snapshot = owner.create_snapshot(room_id, title)
            owner.wait_for_task(snapshot["task_id"])
            snapshots.append(owner.ok("GET", f"/rooms/{room_id}/snapshots/{snapshot['id']}"))
    # A cancel races the renderer: if the renderer wins, the snapshot is one more (rendered) generation
    cancelled = owner.create_snapshot(room_id, "Cancelled at once")
    cancel = owner.request("POST", f"/snapshots/tasks/{cancelled['task_id']}/cancel")
    owner.wait_for_task(cancelled["task_id"])
    if cancel.status_code != 200:
        snapshots.append(owner.ok("GET", f"/rooms/{room_id}/snapshots/{cancelled['id']}"))
    return {"owner": owner, "room_id": room_id, "snapshots": snapshots, "cancelled": cancel.status_code == 200}


def nearest_rank(values, fraction):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_only_admins_see_the_summary(metrics_stack, workload):
    assert workload["owner"].request("GET", "/snapshots/metrics/summary").status_code == 403
    admin = ApiClient(metrics_stack.base_url, metrics_stack.mint_token("root.metrics@x.io", admin=True))
    assert admin.request("GET", "/snapshots/metrics/summary", params={"hours": 24}).status_code == 200
    for hours in (0, 169, "x"):
        assert admin.request("GET", "/snapshots/metrics/summary", params={"hours": hours}).status_code == 422


def test_counts_hit_rate_and_percentiles_are_exact_for_a_known_workload(metrics_stack, workload):
    admin = ApiClient(metrics_stack.base_url, metrics_stack.mint_token("root.metrics@x.io", admin=True))
    summary = admin.ok("GET", "/snapshots/metrics/summary", params={"hours": 1})
    generation = summary["pdf_generation"]
    assert summary["period_hours"] == 1
    rendered = len(TITLES) + (0 if workload["cancelled"] else 1)
    hits = len(TITLES) * (PER_TITLE - 1)
    assert generation["total_generations"] == rendered + hits == len(workload["snapshots"])
    assert generation["generated_count"] == rendered == generation["by_layer"]["rendered"]
    assert generation["cached_count"] == hits
    assert (
        generation["cache_hit_rate_percent"]
        == round(100 * hits / (rendered + hits), 2)
        == summary["cache"]["hit_rate_percent"]
    )
    assert generation["failed_count"] == 0
    assert generation["cancelled_count"] == (1 if workload["cancelled"] else 0)
    # The percentiles agree with a direct computation over the timings each snapshot recorded
    recorded = [s["timings"]["total_ms"] for s in workload["snapshots"]]
    stats = summary["summary"]["statistics"]["pdf_generation_time"]
    assert stats == generation["statistics"]
    assert stats["count"] == len(recorded)
    assert stats["min"] == pytest.approx(min(recorded), abs=1e-3)
    assert stats["max"] == pytest.approx(max(recorded), abs=1e-3)
    assert stats["mean"] == pytest.approx(statistics.fmean(recorded), abs=1e-3)
    for name, fraction in (("median", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert stats[name] == pytest.approx(nearest_rank(recorded, fraction), abs=1e-3), name
    # API latencies by route: every create was counted, percentiles within the histogram's 2.5 %
    creates = summary["api_performance"]["endpoints"]["POST /rooms/{room_id}/snapshots"]
    assert creates["count"] == len(TITLES) * PER_TITLE + 1
    assert creates["mean"] > 0
    assert creates["p95"] > 0
    assert summary["api_performance"]["status_classes"]["2xx"]["count"] >= creates["count"]
    # The cache figures come from the warm renderers; the queues are drained
    assert summary["cache"]["memory_entries"] >= 1
    assert summary["cache"]["warm_renderers"] >= 1
    assert summary["queue"]["render_queue"]["visible"] == 0
    assert summary["queue"]["dead_letter_queue"]["visible"] == 0


def test_bulk_status_reports_what_the_caller_may_see(metrics_stack, workload):
    owner = workload["owner"]
    task_ids = [s["task_id"] for s in workload["snapshots"]]
    unknown = "snapshot-00000000000000000000000000"
    result = owner.ok("POST", "/snapshots/tasks/bulk-status", json={"task_ids": [*task_ids, unknown]})
    assert [t["task_id"] for t in result["tasks"]] == task_ids
    assert result["not_found"] == [unknown]
    assert all(t["status"] == "completed" for t in result["tasks"])
    stranger = ApiClient(metrics_stack.base_url, metrics_stack.mint_token("stranger.metrics@x.io"))
    hidden = stranger.ok("POST", "/snapshots/tasks/bulk-status", json={"task_ids": task_ids[:3]})
    assert hidden == {"tasks": [], "not_found": task_ids[:3]}
    viewer = ApiClient(metrics_stack.base_url, metrics_stack.mint_token("viewer.metrics@x.io"))
    assert len(viewer.ok("POST", "/snapshots/tasks/bulk-status", json={"task_ids": task_ids[:3]})["tasks"]) == 3
    assert owner.request("POST", "/snapshots/tasks/bulk-status", json={"task_ids": []}).status_code == 422
    too_many = owner.request("POST", "/snapshots/tasks/bulk-status", json={"task_ids": [unknown] * 101})
    assert too_many.status_code == 400
    assert "at most 100" in too_many.json()["detail"]


def test_task_polling_revalidates_with_etags(metrics_stack, workload):
    owner = workload["owner"]
    created = owner.request("POST", f"/rooms/{workload['room_id']}/snapshots", json={"title": "Polled"})
    assert created.headers["Retry-After"] == "1"  # so a client's first poll usually finds it done
    fresh = created.json()
    first = owner.request("GET", f"/snapshots/tasks/{fresh['task_id']}")
    if first.json()["status"] not in ("completed", "failed", "cancelled"):
        assert first.headers["Retry-After"] == "1"
    owner.wait_for_task(fresh["task_id"])
    done = owner.request("GET", f"/snapshots/tasks/{fresh['task_id']}")
    assert "Retry-After" not in done.headers
    assert done.headers["ETag"]
    unchanged = owner.request(
        "GET", f"/snapshots/tasks/{fresh['task_id']}", headers={"If-None-Match": done.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == done.headers["ETag"]
    stale = owner.request("GET", f"/snapshots/tasks/{fresh['task_id']}", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.json()["status"] == "completed"
