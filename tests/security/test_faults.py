"""Every job ends: the broker refusing a job, a broker restarted without persistence, and a worker's
pool process killed under a job each leave every job and clip in a final or retriable state.

The tests run their own Redis (the app and the workers are pointed at it), so they can stop and
restart it, and real `celery worker` processes, whose pool processes they kill."""

import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import kombu.pools
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotator import tasks
from annotator.corpus import services as corpus
from annotator.jobs import services as jobs
from annotator.models import Clip, JobRun
from mestudio.celery_app import app
from tests.clip_files import frames_zip_bytes, write_video
from tests.factories import DatasetFactory, SubjectFactory
from tests.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

FAULT_REDIS_PORT = 6391
CLIPS = "/api/v1/clips/"


class RedisServer:
    """A Redis of the test's own, without persistence: stopping it loses every message."""

    def __init__(self, *, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                assert self.process.poll() is None, f"redis-server on {self.port} exited"
                return False

        wait_for(answers, timeout=20, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        # SIGKILL, as a crashed or rebooted broker host: nothing is saved.
        self.process.kill()
        self.process.wait()
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


def _point_app_at(url: str) -> None:
    # The web side (this process) uses the test's own Redis. Connections are made from the read
    # and write URLs, which Celery derived from CELERY_BROKER_URL when it read the settings.
    app.conf.update(broker_read_url=url, broker_write_url=url)
    # Kombu keeps one connection pool per broker URL for the whole process, which would hand
    # out connections to a Redis an earlier test killed on the same port: start afresh.
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def fault_broker(settings):
    server = RedisServer(port=FAULT_REDIS_PORT)
    server.start()
    previous = app.conf.broker_write_url
    settings.CELERY_BROKER_URL = server.url  # what celery_worker_start gives its workers
    _point_app_at(server.url)
    yield server
    _point_app_at(previous)
    if server.running:
        server.stop()


@pytest.fixture
def fault_worker_start(fault_broker, celery_worker_start):
    """`celery_worker_start` on the test's own Redis; the broker is running again when the
    workers are stopped, whatever the test left it in."""

    def start(**options) -> subprocess.Popen:
        # The fixture pings the new worker through this process's pool (see _point_app_at).
        _point_app_at(fault_broker.url)
        return celery_worker_start(**options)

    yield start
    if not fault_broker.running:
        fault_broker.start()


@pytest.fixture
def admin_api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=admin_user)
    return client


def _api_upload(api: APIClient, *, dataset, name: str):
    return api.post(
        CLIPS,
        {
            "dataset": dataset.pk,
            "subject_code": "01",
            "source": SimpleUploadedFile(f"{name}.zip", frames_zip_bytes(count=6)),
        },
        format="multipart",
    )


def _finished(job_run_id: int) -> JobRun | None:
    job_run = JobRun.objects.get(pk=job_run_id)
    return job_run if job_run.is_finished else None


@pytest.mark.worker
def test_a_refused_upload_answers_503_and_the_clip_is_reprocessed_once_the_broker_is_back(
    fault_broker, fault_worker_start, admin_api
):
    dataset = DatasetFactory(name="CASME II", default_fps=200.0)
    # This process holds a live broker connection when the broker dies, as a web server does.
    jobs.worker_check_start(queue="infer", created_by=None)
    fault_broker.stop()

    started = time.monotonic()
    response = _api_upload(admin_api, dataset=dataset, name="EP02_01f")
    assert time.monotonic() - started < 15, "a refused enqueue must not hang the request"
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "30"
    [error] = response.json()["errors"]
    assert error["code"] == "queue_unreachable"
    assert "The job queue is unreachable" in error["message"]

    # The upload is kept; its job and clip say why nothing happened, and nothing looks busy.
    clip = Clip.objects.get(name="EP02_01f")
    job_run = clip.job_runs.get()
    assert (job_run.status, job_run.error) == (
        JobRun.Status.FAILED,
        jobs.QUEUE_UNREACHABLE_ERROR,
    )
    assert f"#{job_run.pk}" in error["message"]
    assert (clip.ingest_status, clip.ingest_error) == (
        Clip.IngestStatus.FAILED,
        jobs.QUEUE_UNREACHABLE_ERROR,
    )
    assert clip.source and clip.source.storage.exists(clip.source.name)

    # Reprocessing while the broker is still down is refused the same way, not with a 409.
    refused = admin_api.post(f"{CLIPS}{clip.pk}/reprocess/")
    assert refused.status_code == 503, refused.content

    fault_broker.start()
    fault_worker_start(hostname=f"faults-{os.getpid()}@localhost")
    accepted = admin_api.post(f"{CLIPS}{clip.pk}/reprocess/")
    assert accepted.status_code == 202, accepted.content
    done = wait_for(lambda: _finished(accepted.json()["id"]), timeout=120, what="reprocessing")
    assert done.status == JobRun.Status.SUCCEEDED, done.error
    clip.refresh_from_db()
    assert clip.ingest_status == Clip.IngestStatus.READY, clip.ingest_error


def test_a_refused_upload_on_the_page_answers_a_503_page_that_names_the_saved_clip(
    fault_broker, admin_user, client
):
    dataset = DatasetFactory(name="CASME II", default_fps=200.0)
    client.force_login(admin_user)
    fault_broker.stop()

    response = client.post(
        reverse("clip-upload"),
        {
            "dataset": dataset.pk,
            "subject_code": "01",
            "source": SimpleUploadedFile("EP03_02.zip", frames_zip_bytes(count=4)),
        },
    )

    assert response.status_code == 503
    page = response.content.decode()
    assert "The job could not be started" in page and "The job queue is unreachable" in page
    # The site's own page (its styles and navigation), not a bare server error.
    assert "<title>Job queue unreachable · MEStudio</title>" in page
    assert 'class="topbar"' in page and "css/mestudio.css" in page
    clip = Clip.objects.get(name="EP03_02")
    assert reverse("clip-detail", args=[clip.pk]) in page
    job_run = clip.job_runs.get()
    assert reverse("job-run-detail", args=[job_run.pk]) in page
    assert job_run.status == JobRun.Status.FAILED
    assert clip.ingest_status == Clip.IngestStatus.FAILED

    # The home page's worker check (htmx) is sent to the failed job's page, which says why.
    checked = client.post(reverse("worker-check"), {"queue": "train"}, HTTP_HX_REQUEST="true")
    assert checked.status_code == 503
    check_job = JobRun.objects.get(kind=JobRun.Kind.HEALTHCHECK)
    assert checked["HX-Redirect"] == reverse("job-run-detail", args=[check_job.pk])
    assert check_job.error == jobs.QUEUE_UNREACHABLE_ERROR
    shown = client.get(checked["HX-Redirect"]).content.decode()
    assert jobs.QUEUE_UNREACHABLE_ERROR in shown


def _worker_check_jobs(admin_user) -> list[JobRun]:
    return [
        jobs.worker_check_start(queue=queue, created_by=admin_user)
        for queue in ("preprocess", "train")
    ]


@pytest.mark.worker
def test_jobs_a_restarted_broker_lost_are_sent_again_by_a_starting_worker_and_complete(
    fault_broker, fault_worker_start, admin_user
):
    lost = _worker_check_jobs(admin_user)
    client = fault_broker.client()
    assert client.llen("preprocess") == 1 and client.llen("train") == 1
    fault_broker.stop()
    fault_broker.start()
    assert fault_broker.client().llen("preprocess") == 0  # the messages are gone
    assert {job.status for job in JobRun.objects.filter(pk__in=[j.pk for j in lost])} == {
        JobRun.Status.QUEUED
    }

    fault_worker_start(
        hostname=f"faults-{os.getpid()}@localhost",
        environment={"MESTUDIO_JOB_REQUEUE_AFTER": "0", "MESTUDIO_JOB_RECONCILE_INTERVAL": "2"},
    )
    for job in lost:
        done = wait_for(lambda job=job: _finished(job.pk), timeout=90, what=f"{job} to finish")
        assert done.status == JobRun.Status.SUCCEEDED, done.error
        assert done.requeued_at is not None

    # A message lost while the worker runs is sent again by its periodic pass.
    while_running = JobRun.objects.create(
        kind=JobRun.Kind.HEALTHCHECK, queue="infer", created_by=admin_user
    )
    done = wait_for(lambda: _finished(while_running.pk), timeout=60, what="the periodic pass")
    assert done.status == JobRun.Status.SUCCEEDED, done.error


def test_a_job_no_worker_takes_fails_at_the_deadline_and_its_clip_can_be_reprocessed(
    fault_broker, settings, admin_user, admin_api
):
    subject = SubjectFactory(dataset=DatasetFactory(name="SAMM"), code="006")
    clip = Clip.objects.create(subject=subject, name="006_1_2", fps=200.0, source_path="/x")
    job_run = corpus.clip_preprocess_start(clip=clip, created_by=admin_user)
    assert fault_broker.client().llen("preprocess") == 1
    settings.MESTUDIO_JOB_REQUEUE_AFTER = 0
    settings.MESTUDIO_JOB_QUEUED_DEADLINE = 3600

    # Past the re-send delay the job is sent a second time, only once.
    assert tasks.job_runs_reconcile()["requeued"] == 1
    assert tasks.job_runs_reconcile()["requeued"] == 0
    assert fault_broker.client().llen("preprocess") == 2
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.QUEUED and job_run.requeued_at is not None

    settings.MESTUDIO_JOB_QUEUED_DEADLINE = 0
    assert tasks.job_runs_reconcile()["queued_failed"] == 1
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.FAILED
    assert "No worker took this job within 0 s" in job_run.error
    assert "preprocess queue" in job_run.error
    clip.refresh_from_db()
    assert clip.ingest_status == Clip.IngestStatus.FAILED
    assert clip.ingest_error == job_run.error

    response = admin_api.post(f"{CLIPS}{clip.pk}/reprocess/")
    assert response.status_code == 202, response.content


def _pool_processes(worker: subprocess.Popen) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def _clip_with_a_blocking_source(*, folder: Path) -> tuple[Clip, Path]:
    """A clip whose "video" is a named pipe: opening it blocks until something writes, as a read
    from a hung network share does, so its preprocessing stays in the worker until stopped."""
    source = folder / "EP05_03.mp4"
    os.mkfifo(source)
    subject = SubjectFactory(dataset=DatasetFactory(name="CASME II"), code="05")
    clip = Clip.objects.create(subject=subject, name="EP05_03", fps=200.0, source_path=source)
    return clip, source


def _wait_until_stuck(*, job_run: JobRun, clip: Clip) -> None:
    def stuck() -> bool:
        job_run.refresh_from_db()
        clip.refresh_from_db()
        return (job_run.status, clip.ingest_status) == (
            JobRun.Status.RUNNING,
            Clip.IngestStatus.PROCESSING,
        )

    wait_for(stuck, timeout=60, what="the preprocessing to block on its source")


def _preprocessing_stuck_in_its_worker(*, folder: Path, admin_user) -> tuple[Clip, JobRun, Path]:
    clip, source = _clip_with_a_blocking_source(folder=folder)
    job_run = corpus.clip_preprocess_start(clip=clip, created_by=admin_user)
    _wait_until_stuck(job_run=job_run, clip=clip)
    return clip, job_run, source


def _reprocess_succeeds(api: APIClient, *, clip: Clip, source: Path) -> None:
    # The source becomes a real video; the clip that was left failed is preprocessed again.
    source.unlink()
    write_video(source, count=10, fps=200.0)
    response = api.post(f"{CLIPS}{clip.pk}/reprocess/")
    assert response.status_code == 202, response.content
    done = wait_for(lambda: _finished(response.json()["id"]), timeout=120, what="reprocessing")
    assert done.status == JobRun.Status.SUCCEEDED, done.error
    clip.refresh_from_db()
    assert clip.ingest_status == Clip.IngestStatus.READY, clip.ingest_error


@pytest.mark.worker
def test_a_killed_pool_process_fails_its_job_once_and_the_clip_can_be_reprocessed(
    fault_broker, fault_worker_start, admin_user, admin_api, tmp_path
):
    hostname = f"faults-{os.getpid()}@localhost"
    worker = fault_worker_start(hostname=hostname)
    clip, job_run, source = _preprocessing_stuck_in_its_worker(
        folder=tmp_path, admin_user=admin_user
    )

    # A reconcile pass now leaves the job alone: its worker says it is executing it. It fails
    # the jobs claimed by a worker that is gone and by this worker's processes that are gone.
    earlier = timezone.now() - timedelta(minutes=1)
    of_a_gone_worker = JobRun.objects.create(
        kind=JobRun.Kind.EXPORT,
        queue="preprocess",
        status=JobRun.Status.RUNNING,
        worker="gone@nowhere",
        started_at=earlier,
    )
    of_a_gone_process = JobRun.objects.create(
        kind=JobRun.Kind.TRAIN,
        queue="train",
        status=JobRun.Status.RUNNING,
        worker=hostname,
        started_at=earlier,
    )
    assert tasks.job_runs_reconcile()["running_failed"] == 2
    of_a_gone_worker.refresh_from_db()
    of_a_gone_process.refresh_from_db()
    assert "The worker gone@nowhere stopped while running this job" in of_a_gone_worker.error
    assert "Start it again." in of_a_gone_worker.error
    assert f"The worker {hostname} lost the process" in of_a_gone_process.error
    assert "Retry to resume from the last finished fold." in of_a_gone_process.error
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.RUNNING

    # The out-of-memory killer's way: SIGKILL to the pool process.
    [pool_process] = _pool_processes(worker)
    os.kill(pool_process, signal.SIGKILL)

    failed = wait_for(lambda: _finished(job_run.pk), timeout=60, what="the job to fail")
    assert failed.status == JobRun.Status.FAILED
    assert "The worker process running this job was killed" in failed.error
    assert "out-of-memory killer" in failed.error
    clip.refresh_from_db()
    assert (clip.ingest_status, clip.ingest_error) == (Clip.IngestStatus.FAILED, failed.error)
    # The message is acknowledged (the worker's event loop does it just after), not put back
    # in the queue: it is not delivered again.
    broker = fault_broker.client()
    wait_for(lambda: broker.hlen("unacked") == 0, timeout=90, what="the message to be acked")
    assert broker.llen("preprocess") == 0
    deliveries = [
        line
        for line in worker.log_path.read_text().splitlines()
        if "annotator.clip_preprocess[" in line and line.endswith("received")
    ]
    assert len(deliveries) == 1, deliveries
    assert worker.poll() is None  # the worker itself lives on, with a new pool process

    _reprocess_succeeds(admin_api, clip=clip, source=source)
    failed.refresh_from_db()
    assert failed.status == JobRun.Status.FAILED  # the killed attempt stays as it ended


@pytest.mark.worker
def test_a_job_whose_worker_was_killed_is_failed_by_the_next_worker_to_start(
    fault_broker, fault_worker_start, admin_user, admin_api, tmp_path
):
    killed_name = f"faults-{os.getpid()}-killed@localhost"
    killed = fault_worker_start(hostname=killed_name)
    clip, job_run, source = _preprocessing_stuck_in_its_worker(
        folder=tmp_path, admin_user=admin_user
    )
    # The whole worker with its pool, as a crash of its machine; it never comes back.
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.RUNNING and job_run.worker == killed_name

    # Another worker's start-up pass asks the killed one, hears nothing, and fails its job.
    fault_worker_start(hostname=f"faults-{os.getpid()}-other@localhost")
    failed = wait_for(lambda: _finished(job_run.pk), timeout=60, what="the start-up pass")
    assert failed.status == JobRun.Status.FAILED
    assert failed.error == (
        f"The worker {killed_name} stopped while running this job (killed or crashed). "
        "Start it again."
    )
    clip.refresh_from_db()
    assert (clip.ingest_status, clip.ingest_error) == (Clip.IngestStatus.FAILED, failed.error)
    _reprocess_succeeds(admin_api, clip=clip, source=source)


def test_failing_a_lost_preprocessing_leaves_a_clip_alone_that_is_being_preprocessed_again(
    admin_user,
):
    subject = SubjectFactory(dataset=DatasetFactory(name="SMIC"), code="s1")
    clip = Clip.objects.create(subject=subject, name="s1_po_01", fps=100.0, source_path="/x")
    lost = JobRun.objects.create(
        kind=JobRun.Kind.PREPROCESS,
        queue="preprocess",
        clip=clip,
        status=JobRun.Status.RUNNING,
        worker="gone@nowhere",
    )
    JobRun.objects.create(kind=JobRun.Kind.PREPROCESS, queue="preprocess", clip=clip)
    Clip.objects.filter(pk=clip.pk).update(ingest_status=Clip.IngestStatus.PENDING)

    assert jobs.job_runs_fail_orphaned(worker="gone@nowhere") == 1

    lost.refresh_from_db()
    clip.refresh_from_db()
    assert lost.status == JobRun.Status.FAILED
    assert (clip.ingest_status, clip.ingest_error) == (Clip.IngestStatus.PENDING, "")


@pytest.mark.worker
def test_a_job_past_its_time_limit_fails_with_a_clear_message_and_can_be_reprocessed(
    fault_broker, fault_worker_start, admin_user, admin_api, tmp_path
):
    fault_worker_start(hostname=f"faults-{os.getpid()}@localhost")
    clip, source = _clip_with_a_blocking_source(folder=tmp_path)
    Clip.objects.filter(pk=clip.pk).update(ingest_status=Clip.IngestStatus.PENDING)
    job_run = JobRun.objects.create(kind=JobRun.Kind.PREPROCESS, queue="preprocess", clip=clip)
    # The same task with limits of seconds instead of half an hour: the soft limit interrupts
    # the blocked read, and the body stops.
    tasks.clip_preprocess.apply_async(
        args=[job_run.pk], queue="preprocess", soft_time_limit=3, time_limit=30
    )
    # Not waiting to see it blocked: on a loaded machine the 3 s can pass between two looks.
    failed = wait_for(lambda: _finished(job_run.pk), timeout=120, what="the time limit")
    # On a loaded machine the soft limit can come too late and the hard limit kill the process;
    # the user reads the same explanation either way, with a note when the process was killed.
    assert failed.status == JobRun.Status.FAILED
    assert failed.error.startswith(jobs.JOB_TIME_LIMIT_ERROR), failed.error
    clip.refresh_from_db()
    assert (clip.ingest_status, clip.ingest_error) == (Clip.IngestStatus.FAILED, failed.error)
    _reprocess_succeeds(admin_api, clip=clip, source=source)
