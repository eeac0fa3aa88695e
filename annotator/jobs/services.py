"""The JobRun lifecycle, the one writer of job status rows: create and enqueue on commit (the
queue named once), claim QUEUED->RUNNING atomically, report progress, finish, fail, and reconcile
the jobs a dead worker or a lost message stranded; and the worker check, the smallest job."""

import platform
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachableError

from annotator.errors import (
    JobQueueUnreachableError,
)
from annotator.models import (
    Clip,
    JobRun,
)

QUEUES = settings.MESTUDIO_QUEUES


QUEUE_UNREACHABLE_ERROR = "The job queue is unreachable; try again."
JOB_TIME_LIMIT_ERROR = (
    "The job ran past its time limit and was stopped. Start it again on less input, or raise "
    "the limit."
)


def task_sender(*, task: str, queue: str) -> Callable[[int], None]:
    """What `job_run_create` calls to send a job's message: the Celery task named ``task``
    (`annotator.tasks`) on ``queue``. Sent by name, so the web half of a job never imports
    the worker half (tasks.py imports the services, never the other way)."""

    def send(job_run_id: int) -> None:
        current_app.send_task(task, args=[job_run_id], queue=queue)

    return send


def job_run_create(
    *,
    kind: str,
    queue: str,
    created_by: AbstractBaseUser | None,
    enqueue: Callable[[int], None],
    clip: Clip | None = None,
) -> JobRun:
    """Create the status row and enqueue its task once the row is committed, so the worker never
    looks for a row that does not exist yet.

    A broker that refuses the message fails the job at once and raises JobQueueUnreachableError
    when the transaction commits (web requests answer 503): a row left queued would wait for a
    message that does not exist, and its clip would look busy. Jobs created in the same
    transaction after the refused one are not sent (Django drops the commit hooks after a raise):
    they stay queued until the reconciler sends them again.
    """
    if queue not in QUEUES:
        raise ValueError(f"Unknown queue {queue!r}; expected one of {', '.join(QUEUES)}.")
    job_run = JobRun.objects.create(kind=kind, queue=queue, created_by=created_by, clip=clip)
    transaction.on_commit(lambda: _job_run_send(job_run=job_run, enqueue=enqueue))
    return job_run


def _job_run_send(*, job_run: JobRun, enqueue: Callable[[int], None]) -> None:
    try:
        enqueue(job_run.pk)
    except BrokerUnreachableError as error:
        job_runs_fail(job_runs=JobRun.objects.filter(pk=job_run.pk), error=QUEUE_UNREACHABLE_ERROR)
        raise JobQueueUnreachableError(job_run=job_run) from error


def job_run_claim(*, job_run_id: int, worker: str = "") -> JobRun | None:
    """Move a queued job to running in one conditional UPDATE, so that of two deliveries of the
    same message only one runs the body. A message for a job that is already running, ended or
    was cancelled claims nothing: the caller gets None and must do nothing."""
    claimed = JobRun.objects.filter(pk=job_run_id, status=JobRun.Status.QUEUED).update(
        status=JobRun.Status.RUNNING, started_at=timezone.now(), worker=worker, message="Started"
    )
    return JobRun.objects.get(pk=job_run_id) if claimed else None


def job_run_report_progress(*, job_run: JobRun, progress: float, message: str) -> None:
    # progress never moves backwards and stays inside 0..1, whatever the caller computes.
    clamped = min(max(progress, 0.0), 1.0)
    JobRun.objects.filter(pk=job_run.pk, progress__lte=clamped).update(
        progress=clamped, message=message[:500]
    )


def job_run_progress_reporter(
    *, job_run: JobRun, start: float = 0.0, end: float = 1.0, min_interval: float = 0.25
) -> Callable[[float, str], None]:
    """A progress callback for mlcore that maps 0..1 onto start..end of the job and writes the row
    at most every `min_interval` seconds (mlcore may report every frame)."""
    last_write = 0.0

    def report(fraction: float, message: str) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write >= min_interval or fraction >= 1.0:
            last_write = now
            job_run_report_progress(
                job_run=job_run, progress=start + (end - start) * fraction, message=message
            )

    return report


def job_run_finish(*, job_run: JobRun, result: dict | None = None, message: str = "Done") -> None:
    # Only a running job ends here: a job cancelled or failed meanwhile keeps that final state.
    JobRun.objects.filter(pk=job_run.pk, status=JobRun.Status.RUNNING).update(
        status=JobRun.Status.SUCCEEDED,
        progress=1.0,
        message=message[:500],
        result=result or {},
        finished_at=timezone.now(),
    )


def job_run_fail(*, job_run: JobRun, error: str) -> None:
    job_runs_fail(job_runs=JobRun.objects.filter(pk=job_run.pk), error=error)


def job_runs_fail(*, job_runs: QuerySet[JobRun], error: str) -> int:
    """End the jobs of `job_runs` that have not ended yet as failed, with `error` for the user,
    and return how many it ended. A clip whose preprocessing thereby stopped (a lost worker, a
    refused message) is failed too, so it shows the reason and can be reprocessed; a clip with
    another preprocessing still active keeps its state."""
    ending = job_runs.filter(status__in=JobRun.ACTIVE_STATUSES)
    # One transaction: whoever sees the job failed also sees its clip failed.
    with transaction.atomic():
        clip_ids = list(
            ending.filter(kind=JobRun.Kind.PREPROCESS, clip__isnull=False).values_list(
                "clip_id", flat=True
            )
        )
        ended = JobRun.objects.filter(
            pk__in=list(ending.values_list("pk", flat=True)), status__in=JobRun.ACTIVE_STATUSES
        ).update(
            status=JobRun.Status.FAILED, message="Failed", error=error, finished_at=timezone.now()
        )
        if clip_ids:
            still_preprocessing = JobRun.objects.filter(
                clip=OuterRef("pk"), kind=JobRun.Kind.PREPROCESS, status__in=JobRun.ACTIVE_STATUSES
            )
            # A body that ended on its own already set the clip (ready, or failed with its
            # reason).
            Clip.objects.filter(
                pk__in=clip_ids,
                ingest_status__in=[Clip.IngestStatus.PENDING, Clip.IngestStatus.PROCESSING],
            ).exclude(Exists(still_preprocessing)).update(
                ingest_status=Clip.IngestStatus.FAILED, ingest_error=error
            )
    return ended


def _fail_per_kind(*, job_runs: QuerySet[JobRun], reason: str) -> int:
    # What to do next depends on the kind: a training retry resumes after its finished folds.
    ended = 0
    for kind in set(job_runs.values_list("kind", flat=True)):
        advice = (
            "Retry to resume from the last finished fold."
            if kind == JobRun.Kind.TRAIN
            else "Start it again."
        )
        ended += job_runs_fail(job_runs=job_runs.filter(kind=kind), error=f"{reason} {advice}")
    return ended


def job_runs_fail_orphaned(*, worker: str) -> int:
    """A worker that starts fails the jobs it was running when it stopped (killed, crashed)."""
    return _fail_per_kind(
        job_runs=JobRun.objects.filter(worker=worker, status=JobRun.Status.RUNNING),
        reason=f"The worker {worker} stopped while running this job (killed or crashed).",
    )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def job_runs_reconcile(
    *,
    checked_at: datetime,
    running_on_workers: dict[str, set[int]] | None,
    requeue: Callable[[JobRun], None],
    requeue_after: timedelta,
    queued_deadline: timedelta,
) -> dict[str, int]:
    """End or resend the jobs nothing will finish, and return how many of each it handled.

    `running_on_workers` maps each worker that answered at `checked_at` to the ids of the jobs
    its pool is executing; None when the workers could not be asked (the broker is down), and
    running jobs are then left alone. A job claimed before `checked_at` that its worker is not
    executing will never end by itself: its worker died, or lost the process running it.

    A job queued for `requeue_after` is sent once more with `requeue` (its message may have been
    lost with a broker restarted without persistence; if not, the duplicate claims nothing).
    One still queued `queued_deadline` after its creation fails: no worker takes its queue.
    """
    handled = {"running_failed": 0, "queued_failed": 0, "requeued": 0}
    if running_on_workers is not None:
        # Only jobs claimed by a Celery worker (node names are name@host): a task body called in
        # a shell or a test records the bare machine name, and no worker can vouch for it.
        claimed = JobRun.objects.filter(
            status=JobRun.Status.RUNNING, started_at__lt=checked_at, worker__contains="@"
        )
        for worker in set(claimed.values_list("worker", flat=True)):
            executing = running_on_workers.get(worker)
            if executing is None:
                reason = f"The worker {worker} stopped while running this job (killed or crashed)."
            else:
                reason = (
                    f"The worker {worker} lost the process running this job (killed, for "
                    "example by the out-of-memory killer)."
                )
            handled["running_failed"] += _fail_per_kind(
                job_runs=claimed.filter(worker=worker).exclude(pk__in=executing or set()),
                reason=reason,
            )

    queued = JobRun.objects.filter(status=JobRun.Status.QUEUED)
    expired = queued.filter(created_at__lt=checked_at - queued_deadline)
    for queue in set(expired.values_list("queue", flat=True)):
        handled["queued_failed"] += job_runs_fail(
            job_runs=expired.filter(queue=queue),
            error=(
                f"No worker took this job within {_duration(queued_deadline)}: check that a "
                f"worker consumes the {queue} queue, then start it again."
            ),
        )

    for job_run in queued.filter(
        requeued_at__isnull=True, created_at__lt=checked_at - requeue_after
    ):
        # The conditional update makes two reconcilers running at once send it only once.
        if not JobRun.objects.filter(
            pk=job_run.pk, status=JobRun.Status.QUEUED, requeued_at__isnull=True
        ).update(requeued_at=checked_at):
            continue
        try:
            requeue(job_run)
        except BrokerUnreachableError:
            # Not sent after all: the next pass tries again.
            JobRun.objects.filter(pk=job_run.pk).update(requeued_at=None)
            raise
        handled["requeued"] += 1
    return handled


def worker_check_start(*, queue: str, created_by: AbstractBaseUser | None) -> JobRun:
    return job_run_create(
        kind=JobRun.Kind.HEALTHCHECK,
        queue=queue,
        created_by=created_by,
        enqueue=task_sender(task="annotator.worker_check", queue=queue),
    )


def worker_check_job(*, job_run: JobRun) -> None:
    """Report what the worker that took this job can do: which machine, Python, torch, device."""
    job_run_report_progress(
        job_run=job_run, progress=0.0, message=f"Checking the worker on {job_run.queue}"
    )
    import torch

    job_run_report_progress(job_run=job_run, progress=0.5, message="torch imported")
    cuda = torch.cuda.is_available()
    result = {
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": cuda,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
    }
    job_run_finish(
        job_run=job_run,
        result=result,
        message=f"{result['hostname']}: torch {result['torch']} on {result['device']}",
    )
