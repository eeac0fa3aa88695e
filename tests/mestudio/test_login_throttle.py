"""Password guessing on the log-in page: after 5 failures for a username, or 20 from one
address, within 5 minutes, log-ins are refused (the right password too) with a message saying
how long to wait. The token endpoint counts with the page."""

import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFUSED = "Too many failed log-in attempts for this account or from your address."
WRONG = "Please enter a correct username and password."


@pytest.fixture(autouse=True)
def _fresh_counts():
    """The counts live in the cache, which outlives a test; each test starts at zero."""
    cache.clear()
    yield
    cache.clear()


def log_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failures_lock_the_username_for_five_minutes(client, coder):
    for _ in range(5):
        wrong = log_in(client, "coder1", "guess")
        assert wrong.status_code == 200 and WRONG in wrong.content.decode()
    refused = log_in(client, "coder1", "pw-for-tests")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert REFUSED in page and "Wait 5 minutes and try again." in page
    assert 290 <= int(refused["Retry-After"]) <= 300
    assert not logged_in(client)

    # From another address too: the count is the username's.
    assert log_in(client, "coder1", "pw-for-tests", address="10.0.0.2").status_code == 429
    # Other accounts on the same address are not locked out.
    UserFactory(username="coder2", role="coder")
    assert log_in(client, "coder2", "pw-for-tests").status_code == 302
    assert logged_in(client)


def test_a_successful_log_in_clears_the_usernames_failures(client, coder):
    for _ in range(2):
        for _ in range(4):
            assert log_in(client, "coder1", "guess").status_code == 200
        assert log_in(client, "coder1", "pw-for-tests").status_code == 302
        client.logout()


def test_twenty_failures_from_one_address_lock_it_out(client, coder):
    for number in range(20):  # a different username each time: no single account locks
        assert log_in(client, f"user{number}", "guess").status_code == 200
    refused = log_in(client, "coder1", "pw-for-tests")
    assert refused.status_code == 429 and REFUSED in refused.content.decode()
    assert log_in(client, "coder1", "pw-for-tests", address="10.0.0.9").status_code == 302


def test_log_ins_work_again_once_the_window_is_over(client, coder, settings):
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 1
    for _ in range(5):
        log_in(client, "coder1", "guess")
    refused = log_in(client, "coder1", "pw-for-tests")
    assert refused.status_code == 429 and "Wait 1 minute and try again." in refused.content.decode()
    time.sleep(1.1)
    assert log_in(client, "coder1", "pw-for-tests").status_code == 302


def test_a_missing_password_is_not_a_failure(client, coder):
    for _ in range(6):
        response = log_in(client, "coder1", "")
        assert response.status_code == 200
        assert "This field is required." in response.content.decode()
    assert log_in(client, "coder1", "pw-for-tests").status_code == 302


def test_the_token_endpoint_counts_with_the_log_in_page(client, coder):
    api = APIClient(REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        log_in(client, "coder1", "guess")
    for _ in range(2):
        bad = api.post(
            "/api/v1/auth/token/", {"username": "coder1", "password": "guess"}, format="json"
        )
        assert bad.status_code == 400
    refused = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "pw-for-tests"}, format="json"
    )
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    [error] = refused.json()["errors"]
    assert error["code"] == "throttled"
    assert error["message"].startswith(REFUSED)
    assert log_in(client, "coder1", "pw-for-tests").status_code == 429
