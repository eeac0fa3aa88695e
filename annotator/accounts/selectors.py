"""Reads of a user's own settings: coder preferences and the resolved workbench key map."""

from annotator import keymap
from annotator.models import (
    CoderPreferences,
)


def coder_preferences(*, coder) -> CoderPreferences:
    """The coder's workbench preferences, or the defaults while the coder has saved none."""
    return CoderPreferences.objects.filter(coder=coder).first() or CoderPreferences(coder=coder)


def coder_key_map(*, coder) -> keymap.KeyMap:
    """The workbench's keys with the coder's own ones in place of the defaults they changed."""
    return keymap.key_map(overrides=coder_preferences(coder=coder).key_overrides)
