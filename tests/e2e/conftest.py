"""One local stack for the e2e tests: template.yaml on an embedded moto server, real HTTP, real JWTs."""

import pytest

from infra.stack import LocalStack
from tests.support import ApiClient


@pytest.fixture(scope="package")
def stack():
    with LocalStack(port=0, start_schedules=False) as running:
        yield running


@pytest.fixture(scope="package")
def as_user(stack):
    """ApiClient for a user: as_user("a@x.io"), as_user("admin@x.io", admin=True), as_user(None)."""

    def client(email: str | None, admin: bool = False, **claims) -> ApiClient:
        return ApiClient(stack.base_url, stack.mint_token(email, admin, **claims) if email else None)

    return client
