"""Developer machines and `make demo`: SQLite and the filesystem broker unless told otherwise."""

from mestudio.settings.base import *  # noqa: F403
from mestudio.settings.env import env_bool

DEBUG = env_bool("DJANGO_DEBUG", default=True)
