"""Celery tasks: each loads its row and calls one service; failures land on the JobRun."""

import traceback

from celery import shared_task

from annotator import services
from annotator.models import JobRun


def _run_job(job_run_id: int, service) -> None:
    job_run = JobRun.objects.get(pk=job_run_id)
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
