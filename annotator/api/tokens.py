"""API tokens: one per user (DRF's authtoken). Creating one replaces the old key, so a leaked
key is revoked by making a new one."""

from django.db import transaction
from rest_framework.authtoken.models import Token


def token_get(*, user) -> Token | None:
    return Token.objects.filter(user=user).first()


def token_create(*, user) -> Token:
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def token_revoke(*, user) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
