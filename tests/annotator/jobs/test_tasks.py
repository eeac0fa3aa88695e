import time

import pytest

from annotator.jobs import services as jobs
from annotator.models import JobRun

pytestmark = pytest.mark.worker


def wait_until_finished(job_run: JobRun, *, timeout: float = 60.0) -> JobRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job_run.refresh_from_db()
        if job_run.is_finished:
            return job_run
        time.sleep(0.2)
    raise AssertionError(f"{job_run} did not finish in {timeout} s: {job_run.message}")


@pytest.mark.parametrize("queue", ["preprocess", "train", "infer"])
def test_real_worker_writes_its_job_row_in_postgresql(celery_worker_process, admin_user, queue):
    from django.db import connection

    assert connection.vendor == "postgresql"
    job_run = jobs.worker_check_start(queue=queue, created_by=admin_user)
    job_run = wait_until_finished(job_run)
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    assert job_run.progress == 1.0
    assert job_run.started_at <= job_run.finished_at
    assert job_run.result["torch"].startswith("2.14")
    assert job_run.result["hostname"]
