"""The e2e tests run on the shared local stack (tests/conftest.py) as real users with real JWTs."""

import pytest

from tests.support import ApiClient


@pytest.fixture(scope="package")
def as_user(stack):
    """ApiClient for a user: as_user("a@x.io"), as_user("admin@x.io", admin=True), as_user(None)."""

    def client(email: str | None, admin: bool = False, **claims) -> ApiClient:
        return ApiClient(stack.base_url, stack.mint_token(email, admin, **claims) if email else None)

    return client
