"""The admin metrics summary: the legacy shape, every figure computed for the asked window.

Sources (README "Where the figures come from"): generation statistics and cache hits are exact,
from the generation log each completed, failed or cancelled task writes; API latencies come from
mergeable histograms (percentiles within ±2.5 %); queue depths from SQS; memory-cache figures from
what each warm renderer reported with its latest completion."""

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

from roomsnap.dal.api_latency import ApiLatencyStats
from roomsnap.dal.generation_log import GenerationLog
from roomsnap.dal.queues import QueueDepths
from roomsnap.dal.snapshots import SnapshotRepository
from roomsnap.errors import BadRequest
from roomsnap.histogram import exact_percentile, percentile
from roomsnap.models import CACHE_LAYERS, TASK_ID_PREFIX, iso

LIVE_RENDERER_WINDOW = timedelta(minutes=15)
RECENT_FAILURES = 20
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
MAX_BUCKETS = 500


def _time_stats(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"min": None, "max": None, "mean": None, "median": None, "p95": None, "p99": None, "count": 0}
    return {
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
        "median": round(exact_percentile(ordered, 0.50), 3),
        "p95": round(exact_percentile(ordered, 0.95), 3),
        "p99": round(exact_percentile(ordered, 0.99), 3),
        "count": len(ordered),
    }


def _bucket(start: datetime, events: list[dict]) -> dict:
    outcomes = Counter(event["outcome"] for event in events)
    completed = [event for event in events if event["outcome"] == "completed"]
    times = sorted(e["timings"]["total_ms"] for e in completed if e.get("timings", {}).get("total_ms") is not None)
    return {
        "start": iso(start),
        "count": len(events),
        "completed": outcomes["completed"],
        "failed": outcomes["failed"],
        "cancelled": outcomes["cancelled"],
        **{name: round(exact_percentile(times, q), 3) if times else None for name, q in PERCENTILES.items()},
        "cache_hits": sum(1 for event in completed if event.get("cache_layer") in ("memory", "s3")),
    }


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def _merge(rows: list[dict]) -> dict:
    buckets: dict[int, int] = {}
    for row in rows:
        for index, count in row["buckets"].items():
            buckets[index] = buckets.get(index, 0) + count
    count = sum(row["count"] for row in rows)
    return {
        "mean": round(sum(row["sum_ms"] for row in rows) / count, 3) if count else None,
        "p95": percentile(buckets, 0.95),
        "p99": percentile(buckets, 0.99),
        "count": count,
    }


class MetricsService:
    def __init__(
        self, log: GenerationLog, api_latency: ApiLatencyStats, snapshots: SnapshotRepository, queues: QueueDepths
    ):
        self.log = log
        self.api_latency = api_latency
        self.snapshots = snapshots
        self.queues = queues

    def summary(self, hours: int) -> dict:
        now = datetime.now(UTC)
        since = now - timedelta(hours=hours)
        events = self.log.events(since, now)
        completed = [event for event in events if event["outcome"] == "completed"]
        layers = {layer: sum(1 for e in completed if e.get("cache_layer") == layer) for layer in CACHE_LAYERS}
        hits = layers["memory"] + layers["s3"]
        generation = _time_stats(
            [e["timings"]["total_ms"] for e in completed if e.get("timings", {}).get("total_ms") is not None]
        )
        renders = _time_stats(
            [e["timings"]["render_ms"] for e in completed if e.get("timings", {}).get("render_ms") is not None]
        )
        latency = _time_stats([e["created_to_completed_ms"] for e in completed if "created_to_completed_ms" in e])
        api_rows = self.api_latency.rows(since, now)
        routes = sorted({row["route"] for row in api_rows})
        classes = sorted({row["status_class"] for row in api_rows})
        return {
            "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "period_hours": hours,
            "summary": {
                "total_metrics": len(events) + sum(row["count"] for row in api_rows),
                "statistics": {"pdf_generation_time": generation},
            },
            "pdf_generation": {
                "total_generations": len(completed),
                "cached_count": hits,
                "generated_count": layers["rendered"],
                "cache_hit_rate_percent": _percent(hits, len(completed)),
                "by_layer": layers,
                "failed_count": sum(1 for e in events if e["outcome"] == "failed"),
                "cancelled_count": sum(1 for e in events if e["outcome"] == "cancelled"),
                "statistics": generation,
                "render_time": renders,
                "created_to_completed": latency,
            },
            "api_performance": {
                "total_requests": sum(row["count"] for row in api_rows),
                "endpoints": {route: _merge([r for r in api_rows if r["route"] == route]) for route in routes},
                "status_classes": {cls: _merge([r for r in api_rows if r["status_class"] == cls]) for cls in classes},
            },
            "cache": self._cache(completed, now, hits),
            "queue": self._queues(now),
            "recent_failures": [
                {
                    "task_id": f"{TASK_ID_PREFIX}{event['snapshot_id']}",
                    "snapshot_id": event["snapshot_id"],
                    "room_id": event.get("room_id"),
                    "error": event.get("error"),
                    "at": event["at"],
                }
                for event in sorted(events, key=lambda e: e["at"], reverse=True)
                if event["outcome"] == "failed"
            ][:RECENT_FAILURES],
        }

    def series(self, hours: int, bucket_minutes: int) -> dict:
        """Generation over time: per bucket, how many tasks ended and how, the percentiles of the
        completed ones' generation time, and the cache hits — exact, from the generation log."""
        if hours * 60 // bucket_minutes > MAX_BUCKETS:
            raise BadRequest(f"at most {MAX_BUCKETS} buckets: use longer buckets for {hours} hours")
        now, width_s = datetime.now(UTC), bucket_minutes * 60
        first = datetime.fromtimestamp((now.timestamp() - hours * 3600) // width_s * width_s, UTC)
        buckets: list[list[dict]] = [[] for _ in range(int((now - first).total_seconds() // width_s) + 1)]
        for event in self.log.events(first, now):
            index = int((datetime.fromisoformat(event["at"]) - first).total_seconds() // width_s)
            buckets[min(index, len(buckets) - 1)].append(event)  # an event stamped a moment after `now`
        return {
            "bucket_minutes": bucket_minutes,
            "buckets": [_bucket(first + timedelta(seconds=i * width_s), events) for i, events in enumerate(buckets)],
        }

    def _cache(self, completed: list[dict], now: datetime, hits: int) -> dict:
        """L1 lives in each warm renderer; sum what each one reported with its latest completion."""
        latest: dict[str, dict] = {}
        for event in sorted(completed, key=lambda e: e["at"]):
            if "renderer_id" in event and datetime.fromisoformat(event["at"]) >= now - LIVE_RENDERER_WINDOW:
                latest[event["renderer_id"]] = event
        return {
            "memory_entries": sum(e.get("l1_entries", 0) for e in latest.values()),
            "memory_used_mb": round(sum(e.get("l1_bytes", 0) for e in latest.values()) / 1024 / 1024, 3),
            "warm_renderers": len(latest),
            "memory_hits": sum(1 for e in completed if e.get("cache_layer") == "memory"),
            "s3_hits": sum(1 for e in completed if e.get("cache_layer") == "s3"),
            "cache_misses": sum(1 for e in completed if e.get("cache_layer") == "rendered"),
            "hit_rate_percent": _percent(hits, len(completed)),
        }

    def _queues(self, now: datetime) -> dict:
        oldest = self.snapshots.oldest_unfinished_since()
        return {
            **self.queues.read(),
            "oldest_unfinished_task_age_seconds": round((now - datetime.fromisoformat(oldest)).total_seconds(), 3)
            if oldest
            else 0,
        }
