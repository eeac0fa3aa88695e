"""Password guessing, through every log-in door (the page, the admin's log-in, the token
endpoint), kept by django-axes: the 5th failure for a username, or the 20th from one address,
within 5 minutes locks it (the right password too) with a message saying how long to wait, and
a forged X-Forwarded-For does not make a new address."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REFUSED = "Too many failed log-in attempts for this account or from your address."
WRONG = "Please enter a correct username and password."


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """DRF's token-endpoint rate lives in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


def log_in(client, username: str, password: str, address: str = "10.0.0.1", **headers):
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_fifth_failure_locks_the_username_for_five_minutes(client, coder):
    for _ in range(4):
        wrong = log_in(client, "coder1", "guess")
        assert wrong.status_code == 200 and WRONG in wrong.content.decode()
    fifth = log_in(client, "coder1", "guess")
    assert fifth.status_code == 429 and REFUSED in fifth.content.decode()
    refused = log_in(client, "coder1", "pw-for-tests")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert REFUSED in page and "Wait 5 minutes and try again." in page
    assert refused["Retry-After"] == "300"
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
    for number in range(19):  # a different username each time: no single account locks
        assert log_in(client, f"user{number}", "guess").status_code == 200
    assert log_in(client, "user19", "guess").status_code == 429
    refused = log_in(client, "coder1", "pw-for-tests")
    assert refused.status_code == 429 and REFUSED in refused.content.decode()
    assert log_in(client, "coder1", "pw-for-tests", address="10.0.0.9").status_code == 302


def test_a_forged_forwarded_address_is_still_the_same_client(client, coder):
    """Password spraying: a new username and a new X-Forwarded-For on every try. With no proxy
    configured (the default) the header is not believed, so the address still locks."""
    for number in range(25):
        response = log_in(
            client, f"user{number}", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}"
        )
    assert response.status_code == 429
    api = APIClient(REMOTE_ADDR="10.0.0.1")
    answers = [
        api.post(
            "/api/v1/auth/token/",
            {"username": f"api{number}", "password": "guess"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
        ).status_code
        for number in range(30)
    ]
    assert set(answers) == {429}
    assert AccessAttempt.objects.values("ip_address").distinct().count() == 1


def test_behind_a_configured_proxy_the_forwarded_address_is_the_client(client, coder, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for number in range(19):
        log_in(client, f"user{number}", "guess", HTTP_X_FORWARDED_FOR="198.51.100.7")
    # Another client behind the same proxy (one REMOTE_ADDR) is not locked out.
    assert (
        log_in(client, "coder1", "pw-for-tests", HTTP_X_FORWARDED_FOR="198.51.100.8").status_code
        == 302
    )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_log_ins_work_again_once_the_cool_off_is_over(client, coder):
    for _ in range(5):
        log_in(client, "coder1", "guess")
    assert log_in(client, "coder1", "pw-for-tests").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=6))
    assert log_in(client, "coder1", "pw-for-tests").status_code == 302


def test_a_missing_password_is_not_a_failure(client, coder):
    for _ in range(6):
        response = log_in(client, "coder1", "")
        assert response.status_code == 200
        assert "This field is required." in response.content.decode()
    assert log_in(client, "coder1", "pw-for-tests").status_code == 302


def test_the_admin_log_in_counts_with_the_log_in_page(client, admin_user):
    for _ in range(3):
        log_in(client, "boss", "guess")
    for _ in range(2):
        client.post(
            "/admin/login/", {"username": "boss", "password": "guess"}, REMOTE_ADDR="10.0.0.1"
        )
    refused = client.post(
        "/admin/login/", {"username": "boss", "password": "pw-for-tests"}, REMOTE_ADDR="10.0.0.1"
    )
    assert refused.status_code == 429 and REFUSED in refused.content.decode()
    assert not logged_in(client)


def test_the_token_endpoint_counts_with_the_log_in_page(client, coder):
    api = APIClient(REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        log_in(client, "coder1", "guess")
    bad = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "guess"}, format="json"
    )
    assert bad.status_code == 400
    refused = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "guess"}, format="json"
    )
    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    [error] = refused.json()["errors"]
    assert error["code"] == "throttled"
    assert error["message"].startswith(REFUSED)
    again = api.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "pw-for-tests"}, format="json"
    )
    assert again.status_code == 429
    assert log_in(client, "coder1", "pw-for-tests").status_code == 429
