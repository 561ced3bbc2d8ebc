"""The fixtures every test tier shares. The layer and the functions' code roots are importable
through pytest's `pythonpath` setting (pyproject.toml), as Lambda puts them on sys.path."""

from pathlib import Path

import pytest

from scripts.local import emulate

# Each folder's tests carry the marker of their tier, so `pytest -m unit` (make test-unit) runs one.
TIER_MARKERS = {
    "unit": "unit",
    "integration": "integration",
    "infrastructure": "integration",
    "e2e": "e2e",
    "contract": "e2e",
    "faults": "e2e",
    "browser": "e2e",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(item.path).relative_to(Path(__file__).parent).parts[0]
        if tier in TIER_MARKERS:
            item.add_marker(TIER_MARKERS[tier])


@pytest.fixture(scope="session")
def stack():
    """One emulated stack for the e2e and contract tests: template.yaml on an embedded moto server,
    real HTTP, real JWTs. Tests that need exact counts start an isolated stack of their own."""
    with emulate(port=0, start_schedules=False) as running:
        yield running
