"""Failed password checks are counted, per username and per client address, in Django's cache,
so guessing passwords is slow whichever way in: the log-in page or POST /api/v1/auth/token/.

After LOGIN_FAILURE_LIMIT failures for one username, or LOGIN_CLIENT_FAILURE_LIMIT from one
client, password checks for it are refused, the right password included, until
LOGIN_FAILURE_WINDOW_SECONDS have passed since the window's first failure. Logging in clears the
username's count; the client's runs out on its own, so logging in to one's own account does not
reset a client that guesses others' passwords.
"""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle


def _key(kind: str, value: str) -> str:
    # Hashed: usernames and forwarded addresses are user input, cache keys have a charset.
    return f"login-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _username_key(username: str) -> str:
    return _key("username", username.casefold())


def _counters(*, request: HttpRequest, username: str) -> list[tuple[str, int]]:
    # The client as DRF's throttles identify it (honouring NUM_PROXIES), so one address is one
    # client for the token endpoint's rate limit and for these counts.
    client = BaseThrottle().get_ident(request)
    return [
        (_key("client", client), settings.LOGIN_CLIENT_FAILURE_LIMIT),
        (_username_key(username), settings.LOGIN_FAILURE_LIMIT),
    ]


def login_refusal_seconds(*, request: HttpRequest, username: str) -> int:
    """0 when the password may be checked; otherwise the seconds until it may."""
    now = time.time()
    wait = 0.0
    for key, limit in _counters(request=request, username=username):
        if cache.get(key, 0) >= limit:
            since = cache.get(f"{key}:since", now)
            wait = max(wait, since + settings.LOGIN_FAILURE_WINDOW_SECONDS - now)
    return math.ceil(wait) if wait > 0 else 0


def login_failure_record(*, request: HttpRequest, username: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    now = time.time()
    for key, _ in _counters(request=request, username=username):
        cache.add(f"{key}:since", now, timeout=window)
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add and incr: this failure starts one
            cache.set(key, 1, timeout=window)


def login_failures_forget(*, username: str) -> None:
    key = _username_key(username)
    cache.delete_many([key, f"{key}:since"])


def refusal_message(*, wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return (
        "Too many failed log-in attempts for this account or from your address. "
        f"Wait {minutes} minute{'s' if minutes > 1 else ''} and try again."
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    refusal_seconds = 0

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # nothing will be checked: the missing field is the error
        self.refusal_seconds = login_refusal_seconds(request=self.request, username=username)
        if self.refusal_seconds:
            raise ValidationError(
                refusal_message(wait=self.refusal_seconds), code="too_many_failures"
            )
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                login_failure_record(request=self.request, username=username)
            raise
        login_failures_forget(username=username)
        return cleaned


class ThrottledLoginView(auth_views.LoginView):
    """Django's log-in page; a refused attempt answers 429 with Retry-After."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.refusal_seconds:
            response.status_code = 429
            response["Retry-After"] = str(form.refusal_seconds)
        return response
