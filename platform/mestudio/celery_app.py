"""The Celery application. Queues: `preprocess` (CPU workers), `train` and `infer` (GPU workers).

Start a worker with `celery -A mestudio worker -Q preprocess` (see README, 'Workers').
"""

import os
import sys

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mestudio.settings.local")

app = Celery("mestudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def worker_command(*, hostname: str, options: tuple[str, ...] = ()) -> list[str]:
    """The command line of a worker on every queue, one task at a time (the demo, the tests)."""
    from django.conf import settings

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mestudio",
        "worker",
        "--queues",
        ",".join(settings.MESTUDIO_QUEUES),
        "--concurrency",
        "1",
        "--hostname",
        hostname,
        "--loglevel",
        "INFO",
        *options,
    ]
