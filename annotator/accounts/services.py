"""Writes of a user's own settings: coder preferences and the workbench key map."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from annotator import keymap
from annotator.models import (
    CoderPreferences,
)


def coder_preferences_update(*, coder: AbstractBaseUser, hide_proposals: bool) -> CoderPreferences:
    preferences, _ = CoderPreferences.objects.update_or_create(
        coder=coder, defaults={"hide_proposals": hide_proposals}
    )
    return preferences


def coder_key_map_update(
    *, coder: AbstractBaseUser, overrides: dict[str, list[str]]
) -> CoderPreferences:
    """The coder's own workbench keys (only those that differ from the defaults are kept);
    refused whole, by action, when a key cannot be bound or is taken."""
    if problems := keymap.key_map_check(overrides):
        raise ValidationError(problems)
    defaults = {entry["action"]: entry["keys"] for entry in keymap.WORKBENCH_KEYS}
    changed = {action: keys for action, keys in overrides.items() if keys != defaults[action]}
    preferences, _ = CoderPreferences.objects.update_or_create(
        coder=coder, defaults={"key_overrides": changed}
    )
    return preferences
