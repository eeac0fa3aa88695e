"""Log-in limits on every door that checks a password: the log-in page, the admin's log-in and
POST /api/v1/auth/token/. django-axes records each failed check (in the database, so every
gunicorn worker sees the same counts) and refuses further checks, the right password included.

After LOGIN_FAILURE_LIMIT failures for one username, or LOGIN_CLIENT_FAILURE_LIMIT from one client
address (a lab behind one address shares it), the next check is refused with 429 until
AXES_COOLOFF_TIME has passed since the last failure; each refused attempt counts as a failure
and starts the wait again. Logging in clears the username's failures only, so logging in to
one's own account does not reset a client that guesses others' passwords.

The client address is REMOTE_ADDR. X-Forwarded-For is believed only through the number of
proxies MESTUDIO_TRUSTED_PROXIES names (DRF's NUM_PROXIES rule, which the API's throttles use
too): a client cannot spoof a new address per attempt.
"""

import math

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the client as DRF's throttles identify it (NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


def _username_failures(username: str) -> int:
    since = timezone.now() - get_cool_off()
    failures = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return failures or 0


def failure_limit(request: HttpRequest, credentials: dict | None) -> int:
    """AXES_FAILURE_LIMIT. Axes compares the larger of the username's and the client's counts
    with one limit; the username's lower limit applies once the username alone has reached it."""
    username = get_client_username(request, credentials)
    if username and _username_failures(username) >= settings.LOGIN_FAILURE_LIMIT:
        return settings.LOGIN_FAILURE_LIMIT
    return settings.LOGIN_CLIENT_FAILURE_LIMIT


def refusal_message(*, wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return (
        "Too many failed log-in attempts for this account or from your address. "
        f"Wait {minutes} minute{'s' if minutes > 1 else ''} and try again."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After, in the API's error format on the API and as
    the log-in page elsewhere (the admin's log-in included)."""
    # The refused attempt itself has just restarted the cool-off: the wait is all of it.
    wait = math.ceil(get_cool_off(request).total_seconds())
    message = refusal_message(wait=wait)
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"errors": [{"field": None, "code": "throttled", "message": message}]}, status=429
        )
    else:
        context = {"form": AuthenticationForm(request), "refusal": message}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


def login_failures_forget(*, username: str) -> None:
    reset(username=username)


def forget_failures_on_log_in(sender, request, user, **kwargs) -> None:
    """Connected to user_logged_in (AnnotatorConfig.ready): the page's and the admin's log-ins."""
    login_failures_forget(username=user.get_username())
