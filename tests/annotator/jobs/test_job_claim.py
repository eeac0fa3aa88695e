"""Every job kind is claimed QUEUED->RUNNING by the one runner: a duplicate or redelivered
message, or a message for a job that has already ended, runs nothing and changes nothing."""

import pytest

from annotator import tasks
from annotator.corpus import services as corpus
from annotator.jobs import services as jobs
from annotator.models import Clip, JobRun

# Each job kind and the Celery task its message is delivered to (what a worker calls).
TASK_OF_KIND = {
    JobRun.Kind.PREPROCESS: tasks.clip_preprocess,
    JobRun.Kind.IMPORT: tasks.dataset_import,
    JobRun.Kind.EXPORT: tasks.composite_export,
    JobRun.Kind.TRAIN: tasks.training_run,
    JobRun.Kind.INFER: tasks.proposals,
}


@pytest.mark.parametrize("kind", list(TASK_OF_KIND))
@pytest.mark.parametrize(
    "status",
    [
        JobRun.Status.RUNNING,  # a second delivery while the first still runs
        JobRun.Status.SUCCEEDED,
        JobRun.Status.FAILED,
        JobRun.Status.CANCELLED,
    ],
)
def test_a_message_for_a_job_that_is_not_queued_does_nothing(db, kind, status):
    # No clip, dataset or training run behind the row: a body that ran would fail at once.
    job_run = JobRun.objects.create(kind=kind, queue="preprocess", status=status, message="As left")
    TASK_OF_KIND[kind](job_run.pk)
    after = JobRun.objects.get(pk=job_run.pk)
    assert (after.status, after.message, after.error, after.started_at, after.worker) == (
        status,
        "As left",
        "",
        None,
        "",
    )


def test_a_redelivered_preprocessing_message_does_not_rerun_the_job(ready_clip):
    clip = ready_clip()
    job_run = clip.job_runs.get(kind=JobRun.Kind.PREPROCESS)
    finished = (job_run.status, job_run.finished_at, job_run.message)
    assert finished[0] == JobRun.Status.SUCCEEDED

    tasks.clip_preprocess(job_run.pk)

    job_run.refresh_from_db()
    assert (job_run.status, job_run.finished_at, job_run.message) == finished
    assert Clip.objects.get(pk=clip.pk).media_version == clip.media_version == 1


def test_a_failed_preprocessing_is_not_rerun_by_its_redelivered_message(ready_clip):
    clip = ready_clip()
    job_run = corpus.clip_preprocess_start(clip=clip, created_by=None)
    jobs.job_run_claim(job_run_id=job_run.pk)
    jobs.job_run_fail(job_run=job_run, error="the worker died")

    tasks.clip_preprocess(job_run.pk)

    job_run.refresh_from_db()
    assert (job_run.status, job_run.error) == (JobRun.Status.FAILED, "the worker died")
    assert Clip.objects.get(pk=clip.pk).media_version == 1


def test_only_the_first_of_two_claims_wins(db):
    job_run = JobRun.objects.create(kind=JobRun.Kind.EXPORT, queue="preprocess")
    first = jobs.job_run_claim(job_run_id=job_run.pk, worker="celery@a")
    second = jobs.job_run_claim(job_run_id=job_run.pk, worker="celery@b")
    assert first is not None and first.status == JobRun.Status.RUNNING
    assert second is None
    assert JobRun.objects.get(pk=job_run.pk).worker == "celery@a"


def test_an_ended_job_keeps_its_final_state(db):
    job_run = JobRun.objects.create(kind=JobRun.Kind.EXPORT, queue="preprocess")
    jobs.job_run_claim(job_run_id=job_run.pk)
    JobRun.objects.filter(pk=job_run.pk).update(status=JobRun.Status.CANCELLED)
    jobs.job_run_finish(job_run=job_run, message="Done late")
    jobs.job_run_fail(job_run=job_run, error="failed late")
    after = JobRun.objects.get(pk=job_run.pk)
    assert (after.status, after.error) == (JobRun.Status.CANCELLED, "")
