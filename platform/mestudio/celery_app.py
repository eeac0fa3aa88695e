"""The Celery application. Queues: `preprocess` (CPU workers), `train` and `infer` (GPU workers).

Start a worker with `celery -A mestudio worker -Q preprocess` (see README, 'Workers').
"""

import logging
import os
import sys

from celery import Celery, bootsteps
from kombu.exceptions import OperationalError as BrokerUnreachableError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mestudio.settings.local")

logger = logging.getLogger(__name__)

app = Celery("mestudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

RECONCILE_TASK = "annotator.job_runs_reconcile"


class JobReconcileTimer(bootsteps.StartStopStep):
    """Every worker sends itself a reconcile pass (annotator.tasks.job_runs_reconcile) when it
    connects and then every MESTUDIO_JOB_RECONCILE_INTERVAL seconds, so stranded jobs end
    without a separate beat process. A consumer step starts again on each reconnection to the
    broker, which is when messages may have been lost. A pass not started within one interval
    expires, so a worker busy for hours does not pile them up."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry = None

    def start(self, parent) -> None:
        from django.conf import settings

        interval = settings.MESTUDIO_JOB_RECONCILE_INTERVAL
        consumed = parent.app.amqp.queues.consume_from or {}
        # The pass runs on one of this worker's own queues, the CPU one when it has it.
        queue = next(
            (name for name in settings.MESTUDIO_QUEUES if name in consumed),
            parent.app.conf.task_default_queue,
        )
        self._send(parent, queue, interval)
        self.timer_entry = parent.timer.call_repeatedly(
            interval, self._send, (parent, queue, interval)
        )

    def stop(self, parent) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    shutdown = stop

    @staticmethod
    def _send(parent, queue: str, interval: int) -> None:
        try:
            parent.app.send_task(RECONCILE_TASK, queue=queue, expires=interval)
        except BrokerUnreachableError as error:
            # The consumer reconnects, and this step starts again, when the broker is back.
            logger.warning("Could not queue a job reconcile pass: %s", error)


app.steps["consumer"].add(JobReconcileTimer)


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
