import pytest


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache, which outlives a test; each test starts at zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reviewer(db):
    from tests.factories import UserFactory

    return UserFactory(username="rita", role="reviewer")


@pytest.fixture
def other_coder(db):
    from tests.factories import UserFactory

    return UserFactory(username="coder2", role="coder")
