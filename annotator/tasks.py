"""Celery tasks: each loads its row and calls one service; failures land on the JobRun."""

import traceback

from celery import current_task, shared_task
from celery.signals import worker_ready

from annotator import services


def _run_job(job_run_id: int, service) -> None:
    """The one runner of every job body: it claims the job first, so a duplicate or redelivered
    message, or one for a job that has already ended, does nothing."""
    worker = getattr(current_task.request, "hostname", None) if current_task else None
    job_run = services.job_run_claim(job_run_id=job_run_id, worker=worker or "")
    if job_run is None:
        return
    try:
        service(job_run=job_run)
    except ValueError as error:
        # mlcore reports bad input (a corrupt video, an unsafe zip, no face) as ValueError with
        # a message meant for the user: show it as is, the job simply failed.
        services.job_run_fail(job_run=job_run, error=str(error))
    except Exception as error:
        services.job_run_fail(
            job_run=job_run, error=f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
        )
        raise


@shared_task(name="annotator.worker_check", soft_time_limit=120, time_limit=180)
def worker_check(job_run_id: int) -> None:
    _run_job(job_run_id, services.worker_check_run)


@shared_task(name="annotator.clip_preprocess", soft_time_limit=1800, time_limit=1900)
def clip_preprocess(job_run_id: int) -> None:
    _run_job(job_run_id, services.clip_preprocess_run)


@shared_task(name="annotator.dataset_import", soft_time_limit=3600, time_limit=3700)
def dataset_import(job_run_id: int) -> None:
    from annotator import dataset_io

    _run_job(job_run_id, dataset_io.dataset_import_job)


@shared_task(name="annotator.composite_export", soft_time_limit=3600, time_limit=3700)
def composite_export(job_run_id: int) -> None:
    from annotator import dataset_io

    _run_job(job_run_id, dataset_io.composite_export_job)


@shared_task(name="annotator.training_run", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def training_run_task(job_run_id: int) -> None:
    from annotator import active_learning

    _run_job(job_run_id, active_learning.training_run_execute)


@shared_task(name="annotator.proposals", soft_time_limit=3600, time_limit=3700)
def proposals_task(job_run_id: int) -> None:
    from annotator import active_learning

    _run_job(job_run_id, active_learning.proposals_compute)


@worker_ready.connect
def fail_jobs_left_by_this_worker(sender, **kwargs) -> None:
    """A worker restarting under its old name fails the jobs it was running when it died."""
    from annotator import active_learning

    active_learning.job_runs_fail_orphaned(worker=sender.hostname)
