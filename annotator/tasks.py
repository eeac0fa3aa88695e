"""Celery tasks: each loads its row and calls one service; failures land on the JobRun.

Names follow one pattern: the task is named as the thing (`training_run`, `dataset_import`),
the body it runs is `<thing>_job(job_run=)` in the domain's worker module, a core that commands
call without a job row is `<thing>_run`, and the web half that queues it is `<thing>_start`
(proposals are queued by the act that needs them, `model_version_activate`)."""

import logging
import traceback
from datetime import timedelta

from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError
from celery import current_app, current_task, shared_task
from celery.signals import task_failure, worker_ready
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachableError

from annotator.corpus import preprocessing
from annotator.errors import ApplicationError
from annotator.exchange import exports, imports
from annotator.jobs import services as jobs
from annotator.learning import runs
from annotator.models import JobRun

logger = logging.getLogger(__name__)

# How long a reconcile pass waits for the workers it asks which jobs they are executing. A worker
# answers from its main process, which a busy pool does not block; one that is only slow is asked
# a second time before its jobs are failed.
WORKER_ANSWER_TIMEOUT = 3.0


def _run_job(job_run_id: int, service) -> None:
    """The one runner of every job body: it claims the job first, so a duplicate or redelivered
    message, or one for a job that has already ended, does nothing."""
    worker = getattr(current_task.request, "hostname", None) if current_task else None
    job_run = jobs.job_run_claim(job_run_id=job_run_id, worker=worker or "")
    if job_run is None:
        return
    try:
        service(job_run=job_run)
    except SoftTimeLimitExceeded:
        jobs.job_run_fail(job_run=job_run, error=jobs.JOB_TIME_LIMIT_ERROR)
        raise
    except (ApplicationError, ValueError) as error:
        # Our services refuse with an ApplicationError, and mlcore (Django-free) reports bad
        # input (a corrupt video, an unsafe zip, no face) as ValueError, both with a message
        # meant for the user: show it as is, the job simply failed.
        jobs.job_run_fail(job_run=job_run, error=str(error))
    except Exception as error:
        jobs.job_run_fail(
            job_run=job_run, error=f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
        )
        raise


@shared_task(name="annotator.worker_check", soft_time_limit=120, time_limit=180)
def worker_check(job_run_id: int) -> None:
    _run_job(job_run_id, jobs.worker_check_job)


@shared_task(name="annotator.clip_preprocess", soft_time_limit=1800, time_limit=1900)
def clip_preprocess(job_run_id: int) -> None:
    _run_job(job_run_id, preprocessing.clip_preprocess_job)


@shared_task(name="annotator.dataset_import", soft_time_limit=3600, time_limit=3700)
def dataset_import(job_run_id: int) -> None:
    _run_job(job_run_id, imports.dataset_import_job)


@shared_task(name="annotator.composite_export", soft_time_limit=3600, time_limit=3700)
def composite_export(job_run_id: int) -> None:
    _run_job(job_run_id, exports.composite_export_job)


@shared_task(name="annotator.training_run", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def training_run(job_run_id: int) -> None:
    _run_job(job_run_id, runs.training_run_job)


@shared_task(name="annotator.proposals", soft_time_limit=3600, time_limit=3700)
def proposals(job_run_id: int) -> None:
    _run_job(job_run_id, runs.proposals_job)


# The task that runs each kind of job, for the reconciler's second sending of a lost message.
TASK_OF_KIND = {
    JobRun.Kind.HEALTHCHECK: worker_check,
    JobRun.Kind.PREPROCESS: clip_preprocess,
    JobRun.Kind.IMPORT: dataset_import,
    JobRun.Kind.EXPORT: composite_export,
    JobRun.Kind.TRAIN: training_run,
    JobRun.Kind.INFER: proposals,
}
JOB_TASK_NAMES = {task.name for task in TASK_OF_KIND.values()}


def _job_run_resend(job_run: JobRun) -> None:
    TASK_OF_KIND[job_run.kind].apply_async(args=[job_run.pk], queue=job_run.queue)


def _jobs_executing(*, workers: set[str]) -> dict[str, set[int]] | None:
    """The ids of the jobs each of `workers` is executing, for those that answer; None when the
    broker cannot carry the question."""
    executing: dict[str, set[int]] = {}
    unheard = set(workers)
    # A connection of its own: a pooled one may still point at a broker that restarted since.
    with current_app.connection_for_write() as connection:
        try:
            for _attempt in range(2):
                if not unheard:
                    break
                replies = (
                    current_app.control.inspect(
                        destination=sorted(unheard),
                        timeout=WORKER_ANSWER_TIMEOUT,
                        connection=connection,
                    ).active()
                    or {}
                )
                for worker, requests in replies.items():
                    executing[worker] = {
                        request["args"][0]
                        for request in requests
                        if request.get("name") in JOB_TASK_NAMES and request.get("args")
                    }
                unheard -= replies.keys()
        except (BrokerUnreachableError, *connection.connection_errors):
            return None
    return executing


@shared_task(name="annotator.job_runs_reconcile", soft_time_limit=120, time_limit=180)
def job_runs_reconcile() -> dict[str, int]:
    """One reconcile pass (see jobs.job_runs_reconcile). Every worker sends itself one on
    start and every MESTUDIO_JOB_RECONCILE_INTERVAL seconds (mestudio.celery_app); it runs in a
    pool process, so the worker's main process stays free to answer the pass's question."""
    # Taken before the workers are asked: a job claimed after this instant is not judged.
    checked_at = timezone.now()
    workers = set(
        JobRun.objects.filter(status=JobRun.Status.RUNNING, worker__contains="@").values_list(
            "worker", flat=True
        )
    )
    handled = jobs.job_runs_reconcile(
        checked_at=checked_at,
        running_on_workers=_jobs_executing(workers=workers) if workers else {},
        requeue=_job_run_resend,
        requeue_after=timedelta(seconds=settings.MESTUDIO_JOB_REQUEUE_AFTER),
        queued_deadline=timedelta(seconds=settings.MESTUDIO_JOB_QUEUED_DEADLINE),
    )
    if any(handled.values()):
        logger.warning("Reconciled stranded jobs: %s", handled)
    return handled


@task_failure.connect
def fail_the_job_of_a_lost_process(sender=None, exception=None, args=None, **kwargs) -> None:
    """The worker's main process reports a pool process that died under a job (killed by the
    out-of-memory killer, a crash in native code) or ran past its hard time limit. The body
    never got to record it, so the job is failed here; its message is acknowledged, not
    delivered again (CELERY_TASK_REJECT_ON_WORKER_LOST is off), so a job that kills its process
    every time ends failed instead of looping. Other failures were recorded by the runner."""
    if getattr(sender, "name", None) not in JOB_TASK_NAMES or not args:
        return
    if isinstance(exception, WorkerLostError):
        reason = (
            f"The worker process running this job was killed ({exception}); the usual cause is "
            "the out-of-memory killer. Start it again, on less input if it ran out of memory."
        )
    elif isinstance(exception, TimeLimitExceeded):
        # Past the soft limit the body was asked to stop and did not (stuck in native code).
        reason = f"{jobs.JOB_TIME_LIMIT_ERROR} (Its worker process had to be killed.)"
    else:
        return
    # The main process's connection may have idled out since its last use.
    close_old_connections()
    jobs.job_runs_fail(job_runs=JobRun.objects.filter(pk=args[0]), error=reason)


@worker_ready.connect
def fail_jobs_left_by_this_worker(sender, **kwargs) -> None:
    """A worker restarting under its old name fails the jobs it was running when it died."""
    jobs.job_runs_fail_orphaned(worker=sender.hostname)
