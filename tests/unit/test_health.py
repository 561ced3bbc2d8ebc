"""The public health route asks its dependencies at most once every few seconds per container."""

import importlib

from tests.unit.function_modules import configure


def test_health_checks_are_cached_for_a_few_seconds(monkeypatch):
    # Given the API's health route, whose dependency checks are counted
    configure()
    health = importlib.import_module("api.routes.health")
    probes = []
    monkeypatch.setattr(health, "check_dependencies", lambda *args: probes.append(args) or {"table": True})
    health.dependency_checks.cache_clear()

    # When it is asked many times in a row
    answers = [health.dependency_checks() for _ in range(50)]

    # Then the dependencies were asked once, and every answer is that one
    assert len(probes) == 1
    assert answers == [{"table": True}] * 50
    assert health.CHECK_EVERY_S <= 10
