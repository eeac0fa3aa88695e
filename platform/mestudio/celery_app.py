"""The Celery application. Queues: `preprocess` (CPU workers), `train` and `infer` (GPU workers).

Start a worker with `celery -A mestudio worker -Q preprocess` (see README, 'Workers').
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mestudio.settings.local")

app = Celery("mestudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
