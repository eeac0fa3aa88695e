"""The test suite runs on PostgreSQL and Redis, as production does; CI points the variables at
127.0.0.1 and an unreachable service fails the run."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mestudio")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

from mestudio.settings.base import *  # noqa: F403
from mestudio.settings.env import env_path

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes started by the tests get the same MEDIA_ROOT through the environment.
MEDIA_ROOT = env_path("MEDIA_ROOT", default=Path(tempfile.mkdtemp(prefix="mestudio-test-media-")))
