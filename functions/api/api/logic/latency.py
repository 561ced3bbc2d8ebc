"""API latency by route and status class, recorded in this container and flushed to the table.

Flushing costs one UpdateItem per (hour, route, status class) seen, at most once a minute, and
never on the create path unless five minutes have gone by: the request a user waits on most stays
as fast as its two unavoidable AWS calls allow."""

import time
from collections import defaultdict
from datetime import UTC, datetime

from roomsnap.dal.api_latency import ApiLatencyStats
from roomsnap.histogram import bucket_of


class LatencyRecorder:
    def __init__(self, stats: ApiLatencyStats, flush_every_s: int = 60):
        self.stats = stats
        self.flush_every_s = flush_every_s
        self.flush_at_latest_s = 5 * flush_every_s
        self.pending: dict[tuple[str, str, str], list] = defaultdict(lambda: [defaultdict(int), 0, 0.0])
        self.last_flush = time.monotonic()

    def record(self, route: str, status: int, elapsed_ms: float) -> None:
        hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
        buckets, _, _ = entry = self.pending[(hour, route, f"{status // 100}xx")]
        buckets[bucket_of(elapsed_ms)] += 1
        entry[1] += 1
        entry[2] += elapsed_ms

    def restart_clock(self) -> None:
        """After a SnapStart restore: the snapshot's monotonic time says nothing about this environment."""
        self.last_flush = time.monotonic()

    def flush_if_due(self, on_create_path: bool) -> None:
        waited = time.monotonic() - self.last_flush
        if self.pending and (waited >= self.flush_at_latest_s or (waited >= self.flush_every_s and not on_create_path)):
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, defaultdict(lambda: [defaultdict(int), 0, 0.0])
        self.last_flush = time.monotonic()
        for (hour, route, status_class), (buckets, count, total_ms) in pending.items():
            self.stats.add(hour, route, status_class, dict(buckets), count, total_ms)
