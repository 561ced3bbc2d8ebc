"""MetricsService against in-memory repositories: the admin summary computed from the generation
log, the API latency rows, the unfinished tasks and the queue depths of the window asked for."""

from datetime import UTC, datetime, timedelta

import pytest

from roomsnap.errors import BadRequest
from roomsnap.histogram import bucket_of
from roomsnap.ids import new_id
from roomsnap.models import Snapshot, Timings, iso

from api.logic.metrics import MetricsService
from tests.unit.builders import new_snapshot, rendered
from tests.unit.fakes import FakeQueueDepths, Repositories

DEPTHS = {
    "render_queue": {"visible": 3, "in_flight": 2, "delayed": 1},
    "dead_letter_queue": {"visible": 1, "in_flight": 0, "delayed": 0},
}


@pytest.fixture
def service(repos: Repositories) -> MetricsService:
    return MetricsService(repos.log, repos.api_latency, repos.snapshots, FakeQueueDepths(DEPTHS))


def finished(
    repos: Repositories,
    outcome: str = "completed",
    layer: str | None = "rendered",
    ago: timedelta = timedelta(minutes=1),
    took: timedelta = timedelta(seconds=2),
    total_ms: float | None = 50.0,
    render_ms: float | None = None,
    **usage,
) -> None:
    """A generation log line, as the repository writes it for a task that reached `outcome`
    `ago`, `took` after it was created."""
    completed_at = datetime.now(UTC) - ago
    snapshot = Snapshot(
        id=new_id(),
        room_id=new_id(),
        title="t",
        created_by="o@x.io",
        created_at=iso(completed_at - took),
        completed_at=iso(completed_at),
        cache_layer=layer if outcome == "completed" else None,
        timings=Timings(total_ms=total_ms, render_ms=render_ms),
    )
    repos.log.write(snapshot, outcome, **usage)


def latencies(repos: Repositories, route: str, status_class: str, values: list[float], hour: datetime) -> None:
    """An API latency row of these request times, as a container's flush adds it."""
    buckets: dict[int, int] = {}
    for value in values:
        buckets[bucket_of(value)] = buckets.get(bucket_of(value), 0) + 1
    repos.api_latency.add(hour.strftime("%Y-%m-%dT%H"), route, status_class, buckets, len(values), sum(values))


def test_tasks_are_counted_by_outcome(repos, service):
    # Given two completions, a failure and a cancellation
    for outcome in ("completed", "completed", "failed", "cancelled"):
        finished(repos, outcome)
    # When the summary is read
    generation = service.summary(hours=24)["pdf_generation"]
    # Then each outcome is counted on its own
    assert (generation["total_generations"], generation["failed_count"], generation["cancelled_count"]) == (2, 1, 1)


def test_cache_hits_are_counted_by_layer_with_their_hit_rate(repos, service):
    # Given two memory hits, one S3 hit and one render
    for layer in ("memory", "memory", "s3", "rendered"):
        finished(repos, layer=layer)
    # When the summary is read
    summary = service.summary(hours=24)
    generation, cache = summary["pdf_generation"], summary["cache"]
    # Then three of four were served from a cache
    assert generation["by_layer"] == {"memory": 2, "s3": 1, "rendered": 1}
    assert (generation["cached_count"], generation["generated_count"], generation["cache_hit_rate_percent"]) == (
        3,
        1,
        75.0,
    )
    assert (cache["memory_hits"], cache["s3_hits"], cache["cache_misses"], cache["hit_rate_percent"]) == (2, 1, 1, 75.0)


def test_failed_and_cancelled_tasks_do_not_dilute_the_hit_rate(repos, service):
    # Given an S3 hit and a failure
    finished(repos, layer="s3")
    finished(repos, "failed")
    # Then every completion was a hit
    assert service.summary(hours=24)["pdf_generation"]["cache_hit_rate_percent"] == 100.0


def test_generation_times_are_exact_nearest_rank_statistics(repos, service):
    # Given completions that took 1, 2, ... 100 ms
    for total in range(1, 101):
        finished(repos, total_ms=float(total))
    # When the summary is read
    statistics = service.summary(hours=24)["pdf_generation"]["statistics"]
    # Then the percentiles are the values of nearest rank, not interpolations
    assert statistics == {"min": 1, "max": 100, "mean": 50.5, "median": 50, "p95": 95, "p99": 99, "count": 100}


def test_percentiles_of_a_few_values_round_the_rank_up(repos, service):
    # Given three completions
    for total in (10.0, 20.0, 30.0):
        finished(repos, total_ms=total)
    # When the summary is read
    statistics = service.summary(hours=24)["pdf_generation"]["statistics"]
    # Then p95 and p99 are the largest value (rank ceil(0.95 * 3) = 3)
    assert (statistics["median"], statistics["p95"], statistics["p99"]) == (20.0, 30.0, 30.0)


def test_render_time_counts_only_the_renders(repos, service):
    # Given a render of 40 ms and a memory hit, which rendered nothing
    finished(repos, layer="rendered", render_ms=40.0)
    finished(repos, layer="memory", render_ms=None)
    # Then the render time is the render's alone
    render_time = service.summary(hours=24)["pdf_generation"]["render_time"]
    assert (render_time["count"], render_time["mean"]) == (1, 40.0)


def test_created_to_completed_is_measured_from_creation(repos, service):
    # Given snapshots completed 1 s and 3 s after they were asked for
    finished(repos, took=timedelta(seconds=1))
    finished(repos, took=timedelta(seconds=3))
    # When the summary is read
    latency = service.summary(hours=24)["pdf_generation"]["created_to_completed"]
    # Then that is what a user waited
    assert (latency["min"], latency["max"], latency["count"]) == (1000.0, 3000.0, 2)


def test_only_the_window_asked_for_is_counted(repos, service):
    # Given a completion 30 minutes ago and one 2 hours ago
    finished(repos, ago=timedelta(minutes=30))
    finished(repos, ago=timedelta(hours=2))
    # When the last hour is asked for, and the last three
    # Then each window counts its own
    assert service.summary(hours=1)["pdf_generation"]["total_generations"] == 1
    assert service.summary(hours=3)["pdf_generation"]["total_generations"] == 2


def test_api_latency_merges_rows_by_route_and_by_status_class(repos, service):
    # Given two hours of one route's requests (95 fast, 5 slow), and another route's errors
    now = datetime.now(UTC)
    latencies(repos, "GET /rooms/{room_id}", "2xx", [10.0] * 50, now - timedelta(hours=1))
    latencies(repos, "GET /rooms/{room_id}", "2xx", [10.0] * 45 + [1000.0] * 5, now)
    latencies(repos, "POST /rooms", "4xx", [2.0, 4.0], now)
    # When the summary is read
    api = service.summary(hours=2)["api_performance"]
    # Then each route merges its rows: p95 among the fast, p99 among the slow (histogram: within 2.5 %)
    route = api["endpoints"]["GET /rooms/{room_id}"]
    assert (route["count"], route["mean"]) == (100, 59.5)
    assert route["p95"] == pytest.approx(10.0, rel=0.025)
    assert route["p99"] == pytest.approx(1000.0, rel=0.025)
    assert api["endpoints"]["POST /rooms"]["count"] == 2
    # And each status class merges the rows of every route
    assert {cls: row["count"] for cls, row in api["status_classes"].items()} == {"2xx": 100, "4xx": 2}
    assert api["total_requests"] == 102


def test_total_metrics_counts_log_lines_and_requests(repos, service):
    # Given two generation log lines and three requests
    finished(repos)
    finished(repos, "failed")
    latencies(repos, "GET /rooms", "2xx", [5.0] * 3, datetime.now(UTC))
    # Then the legacy total counts five
    assert service.summary(hours=24)["summary"]["total_metrics"] == 5


def test_memory_cache_figures_sum_the_latest_report_of_each_renderer_seen_in_the_last_15_minutes(repos, service):
    # Given renderer a's reports 10 and 2 minutes ago, renderer b's 5 minutes ago, renderer c's 20 minutes ago
    mb = 1024 * 1024
    finished(repos, ago=timedelta(minutes=10), renderer_id="a", l1_entries=1, l1_bytes=1 * mb)
    finished(repos, ago=timedelta(minutes=2), renderer_id="a", l1_entries=4, l1_bytes=3 * mb)
    finished(repos, ago=timedelta(minutes=5), renderer_id="b", l1_entries=2, l1_bytes=1 * mb)
    finished(repos, ago=timedelta(minutes=20), renderer_id="c", l1_entries=100, l1_bytes=100 * mb)
    # When the summary is read
    cache = service.summary(hours=24)["cache"]
    # Then a's latest and b's are summed, and c, gone quiet, is left out
    assert (cache["warm_renderers"], cache["memory_entries"], cache["memory_used_mb"]) == (2, 6, 4.0)


def test_only_completions_count_towards_the_memory_cache_figures(repos, service):
    # Given a failure that names a renderer
    finished(repos, "failed", renderer_id="a", l1_entries=9, l1_bytes=9)
    # Then no renderer is reported warm
    assert service.summary(hours=24)["cache"]["warm_renderers"] == 0


def test_the_queue_section_holds_the_depths_and_the_age_of_the_oldest_unfinished_task(repos, service):
    # Given a task pending for 90 s, a newer one, and one long completed
    now = datetime.now(UTC)
    new_snapshot(repos, new_id(), created_at=iso(now - timedelta(seconds=90)))
    new_snapshot(repos, new_id(), created_at=iso(now - timedelta(seconds=10)))
    rendered(repos, new_snapshot(repos, new_id(), created_at=iso(now - timedelta(hours=3))))
    # When the summary is read
    queue = service.summary(hours=24)["queue"]
    # Then the queues' depths are as read, and the oldest unfinished task is 90 s old
    assert {name: queue[name] for name in DEPTHS} == DEPTHS
    assert queue["oldest_unfinished_task_age_seconds"] == pytest.approx(90, abs=2)


def test_an_empty_window_reports_zeros_and_no_statistics(service):
    # When nothing happened in the window
    summary = service.summary(hours=1)
    # Then counts and rates are zero, statistics are empty, and nothing divides by zero
    generation = summary["pdf_generation"]
    assert generation["statistics"] == {
        "min": None,
        "max": None,
        "mean": None,
        "median": None,
        "p95": None,
        "p99": None,
        "count": 0,
    }
    assert (generation["total_generations"], generation["cache_hit_rate_percent"]) == (0, 0.0)
    assert summary["api_performance"] == {"total_requests": 0, "endpoints": {}, "status_classes": {}}
    assert (summary["cache"]["warm_renderers"], summary["cache"]["hit_rate_percent"]) == (0, 0.0)
    assert summary["queue"]["oldest_unfinished_task_age_seconds"] == 0
    assert (summary["period_hours"], summary["summary"]["total_metrics"]) == (1, 0)
    assert summary["timestamp"].endswith("Z")


def test_recent_failures_list_the_latest_failed_snapshots_with_their_reasons(repos, room_id):
    # Given three failed snapshots and a completed one
    service = MetricsService(repos.log, repos.api_latency, repos.snapshots, FakeQueueDepths())
    failed = []
    for index in range(3):
        snapshot = new_snapshot(repos, room_id, title=f"Failing {index}")
        repos.snapshots.fail(snapshot.id, f"reason {index}")
        failed.append(snapshot)
    rendered(repos, new_snapshot(repos, room_id))
    # When the summary is read
    recent = service.summary(1)["recent_failures"]
    # Then the failures are listed newest first, with the reason their users were given
    assert {(f["snapshot_id"], f["error"]) for f in recent} == {(s.id, f"reason {i}") for i, s in enumerate(failed)}
    assert [f["at"] for f in recent] == sorted((f["at"] for f in recent), reverse=True)
    assert {f["room_id"] for f in recent} == {room_id}
    assert all(f["task_id"] == f"snapshot-{f['snapshot_id']}" for f in recent)


def test_the_series_buckets_every_ending_with_exact_percentiles(repos, room_id):
    service = MetricsService(repos.log, repos.api_latency, repos.snapshots, FakeQueueDepths())
    rendered(repos, new_snapshot(repos, room_id))
    repos.snapshots.fail(new_snapshot(repos, room_id).id, "no")
    series = service.series(hours=2, bucket_minutes=30)
    assert series["bucket_minutes"] == 30
    assert 4 <= len(series["buckets"]) <= 5
    assert sum(b["completed"] for b in series["buckets"]) == 1
    assert sum(b["failed"] for b in series["buckets"]) == 1
    assert series["buckets"][-1]["count"] == 2


def test_a_series_of_too_many_buckets_is_refused(repos):
    service = MetricsService(repos.log, repos.api_latency, repos.snapshots, FakeQueueDepths())
    with pytest.raises(BadRequest):
        service.series(hours=168, bucket_minutes=1)
