"""Fixtures of the unit tests of the services: a fresh set of in-memory repositories per test."""

import pytest

from tests.unit.builders import new_room
from tests.unit.fakes import Repositories


@pytest.fixture
def repos() -> Repositories:
    return Repositories()


@pytest.fixture
def room_id(repos: Repositories) -> str:
    """A room with an owner (OWNER) and one party of each other role."""
    return new_room(repos.rooms)
