"""API tokens, kept by django-rest-knox: the database holds only a hash of each key, and a key
expires API_TOKEN_TTL after it was made. The key itself is shown once, when it is made.

A user may hold several tokens, one per script that logged in through POST /api/v1/auth/token/.
Making a token on the profile page (or POST /api/v1/tokens/) replaces all of them, so a leaked
key is revoked by making a new one; revoking revokes all of them.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the only time its key is known."""

    key: str
    created: datetime
    expiry: datetime


def _live(*, user):
    return AuthToken.objects.filter(user=user, expiry__gt=timezone.now())


def token_get(*, user) -> AuthToken | None:
    """The user's newest live token (its key_prefix, created and expiry; never its key)."""
    return _live(user=user).order_by("-created").first()


def token_count(*, user) -> int:
    return _live(user=user).count()


def token_create(*, user) -> IssuedToken:
    """One more token for the user (a script's log-in); the others keep working."""
    token, key = AuthToken.objects.create(user=user, expiry=settings.API_TOKEN_TTL)
    return IssuedToken(key=key, created=token.created, expiry=token.expiry)


def token_replace(*, user) -> IssuedToken:
    """The user's only token from now on: every earlier one stops working."""
    with transaction.atomic():
        AuthToken.objects.filter(user=user).delete()
        return token_create(user=user)


def token_revoke(*, user) -> bool:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted > 0
