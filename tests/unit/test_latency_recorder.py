"""LatencyRecorder against an in-memory ApiLatencyStats, on a clock moved by hand: when a
container's latencies are flushed, and what a flush adds."""

from datetime import datetime
from types import SimpleNamespace

import pytest

from roomsnap.histogram import bucket_of

from api.logic import latency
from api.logic.latency import LatencyRecorder
from tests.unit.fakes import FakeApiLatencyStats, FakeClock

INTERVAL = 60


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    return FakeClock.install(monkeypatch, latency)


def wall_clock_at(monkeypatch, moment: str) -> None:
    """Makes the module's datetime.now() this moment (UTC), which names the hour of a row."""
    at = datetime.fromisoformat(f"{moment}+00:00")
    monkeypatch.setattr(latency, "datetime", SimpleNamespace(now=lambda tz: at))


@pytest.fixture
def stats() -> FakeApiLatencyStats:
    return FakeApiLatencyStats()


@pytest.fixture
def recorder(clock, stats) -> LatencyRecorder:
    return LatencyRecorder(stats, flush_every_s=INTERVAL)


def test_nothing_is_flushed_before_the_interval(clock, stats, recorder):
    # Given a request recorded
    recorder.record("GET /rooms", 200, 12.0)
    # When a request ends just before the interval is over
    clock.advance(INTERVAL - 0.1)
    recorder.flush_if_due(on_create_path=False)
    # Then nothing was written
    assert stats.adds == []


def test_after_the_interval_a_request_off_the_create_path_flushes(clock, stats, recorder):
    # Given a request recorded, and the interval gone by
    recorder.record("GET /rooms", 200, 12.0)
    clock.advance(INTERVAL)
    # When a request off the create path ends
    recorder.flush_if_due(on_create_path=False)
    # Then it flushes
    assert len(stats.adds) == 1


def test_the_create_path_does_not_flush_until_five_intervals_have_gone_by(clock, stats, recorder):
    # Given a request recorded, and more than one interval gone by
    recorder.record("POST /rooms/{room_id}/snapshots", 201, 30.0)
    clock.advance(5 * INTERVAL - 0.1)
    # When a create request ends
    recorder.flush_if_due(on_create_path=True)
    # Then it leaves the flush to others
    assert stats.adds == []
    # But once five intervals have gone by, it flushes too
    clock.advance(0.1)
    recorder.flush_if_due(on_create_path=True)
    assert len(stats.adds) == 1


def test_a_flush_adds_one_row_per_hour_route_and_status_class_with_buckets_count_and_sum(
    clock, stats, recorder, monkeypatch
):
    # Given requests of two routes within an hour, two of them in the same status class
    wall_clock_at(monkeypatch, "2026-12-01T09:30:00")
    recorder.record("GET /rooms/{room_id}", 200, 10.0)
    recorder.record("GET /rooms/{room_id}", 204, 30.0)
    recorder.record("GET /rooms/{room_id}", 404, 2.0)
    recorder.record("POST /rooms", 201, 0.5)
    # When they are flushed
    clock.advance(INTERVAL)
    recorder.flush_if_due(on_create_path=False)
    # Then each (hour, route, status class) is added once, with its buckets, count and sum
    hour = "2026-12-01T09"
    assert sorted(stats.adds) == [
        (hour, "GET /rooms/{room_id}", "2xx", {bucket_of(10.0): 1, bucket_of(30.0): 1}, 2, 40.0),
        (hour, "GET /rooms/{room_id}", "4xx", {bucket_of(2.0): 1}, 1, 2.0),
        (hour, "POST /rooms", "2xx", {0: 1}, 1, 0.5),
    ]


def test_requests_of_different_hours_are_flushed_as_separate_rows(clock, stats, recorder, monkeypatch):
    # Given one request at 09:59 and one at 10:00
    for minute in ("09:59", "10:00"):
        wall_clock_at(monkeypatch, f"2026-12-01T{minute}:00")
        recorder.record("GET /rooms", 200, 5.0)
    # When they are flushed
    recorder.flush()
    # Then each hour has a row of its own
    assert sorted((hour, count) for hour, _, _, _, count, _ in stats.adds) == [
        ("2026-12-01T09", 1),
        ("2026-12-01T10", 1),
    ]


def test_a_flush_clears_what_it_flushed(clock, stats, recorder):
    # Given a flush of one request
    recorder.record("GET /rooms", 200, 5.0)
    recorder.flush()
    # When the next is due with nothing recorded since, or flushed outright
    clock.advance(INTERVAL)
    recorder.flush_if_due(on_create_path=False)
    recorder.flush()
    # Then nothing more was added
    assert len(stats.adds) == 1


def test_a_flush_starts_the_next_interval(clock, stats, recorder):
    # Given a flush after the first interval
    recorder.record("GET /rooms", 200, 5.0)
    clock.advance(INTERVAL)
    recorder.flush_if_due(on_create_path=False)
    # When a request ends half an interval later
    clock.advance(INTERVAL / 2)
    recorder.record("GET /rooms", 200, 6.0)
    recorder.flush_if_due(on_create_path=False)
    # Then it waits for the next interval
    assert len(stats.adds) == 1
    clock.advance(INTERVAL / 2)
    recorder.flush_if_due(on_create_path=False)
    assert [count for *_, count, _ in stats.adds] == [1, 1]


def test_the_first_request_after_a_quiet_spell_is_flushed_at_once(clock, stats, recorder):
    # Given a container idle for longer than the interval: nothing to flush meanwhile
    clock.advance(10 * INTERVAL)
    recorder.flush_if_due(on_create_path=False)
    assert stats.adds == []
    # When a request ends
    recorder.record("GET /rooms", 200, 5.0)
    recorder.flush_if_due(on_create_path=False)
    # Then it is flushed
    assert len(stats.adds) == 1


def test_an_interval_of_zero_flushes_every_request_even_on_the_create_path(clock, stats):
    # Given a recorder told to flush always
    recorder = LatencyRecorder(stats, flush_every_s=0)
    # When a request ends off the create path, then one on it
    for on_create_path in (False, True):
        recorder.record("POST /rooms/{room_id}/snapshots", 201, 5.0)
        recorder.flush_if_due(on_create_path=on_create_path)
    # Then each was flushed at once
    assert len(stats.adds) == 2
