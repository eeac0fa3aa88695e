import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache, which outlives a test; each test starts at zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_as(db):
    """An API client sending the user's token, as a script would."""
    from annotator.api.tokens import token_create

    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user).key}")
        return client

    return make


@pytest.fixture
def reviewer(db):
    from tests.factories import UserFactory

    return UserFactory(username="rita", role="reviewer")


@pytest.fixture
def other_coder(db):
    from tests.factories import UserFactory

    return UserFactory(username="coder2", role="coder")
