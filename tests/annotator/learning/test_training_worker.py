"""A training worker killed in the middle of a run, on a real Celery worker, Redis and
PostgreSQL: the worker restarting under its name fails the run it left, nothing else is lost, and
a retry resumes after the folds that had finished."""

import json
import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from annotator import media
from annotator.learning import services as learning
from annotator.models import Annotation, Clip, JobRun, ModelVersion
from mlcore.checksums import file_sha256
from tests.annotator.support.synthetic_sets import synthetic_dataset_import
from tests.annotator.support.training_progress import finished_folds, fold_in_progress
from tests.mlcore.training_fixtures import TINY_FRL_DGT
from tests.waiting import wait_for

pytestmark = pytest.mark.worker

# A tiny model gains nothing from threads, and on a busy machine they wait on each other.
ONE_TORCH_THREAD = {"OMP_NUM_THREADS": "1"}


def snapshot_files_intact(snapshot_dir: Path) -> bool:
    """Every file the frozen export lists, with the checksum it recorded."""
    listed = json.loads((snapshot_dir / "export.json").read_text())["files"]
    return bool(listed) and all(
        file_sha256(snapshot_dir / name) == digest for name, digest in listed.items()
    )


def test_a_killed_worker_fails_its_run_on_restart_and_a_retry_resumes(
    celery_worker_start, admin_user, tmp_path
):
    hostname = f"train-{os.getpid()}@localhost"
    worker = celery_worker_start(hostname=hostname, environment=ONE_TORCH_THREAD)
    dataset = synthetic_dataset_import(out_dir=tmp_path / "casme2", user=admin_user, name="Synth")
    wait_for(
        lambda: set(Clip.objects.values_list("ingest_status", flat=True)) == {"ready"},
        timeout=180,
        what="the worker to preprocess the imported clips",
    )
    annotations = list(Annotation.objects.order_by("pk").values())

    run = learning.training_run_start(
        datasets=[dataset],
        model_name="frl_dgt",
        model_options=TINY_FRL_DGT,
        epochs=60,
        created_by=admin_user,
    )
    attempt = run.latest_job_run
    wait_for(
        lambda: (fold_in_progress(JobRun.objects.get(pk=attempt.pk).message) or 0) >= 2,
        timeout=300,
        what="the run to train its second fold",
        interval=0.05,
    )
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    attempt.refresh_from_db()
    assert attempt.status == JobRun.Status.RUNNING and attempt.worker == hostname
    run.refresh_from_db()
    frozen = run.snapshot
    finished = finished_folds(run)
    assert "folds/fold_000.json" in finished, attempt.message
    run_dir = media.training_root(training_run=run) / "run"
    assert not (run_dir / "final.pt").exists()

    celery_worker_start(hostname=hostname, environment=ONE_TORCH_THREAD)
    wait_for(
        lambda: JobRun.objects.get(pk=attempt.pk).status == JobRun.Status.FAILED,
        timeout=60,
        what="the restarted worker to fail the run it left",
    )
    attempt.refresh_from_db()
    assert attempt.error.startswith(f"The worker {hostname} stopped while running this job")
    # Nothing else is lost: the frozen labels, the coders' annotations, the finished folds.
    run.refresh_from_db()
    assert run.snapshot == frozen and run.snapshot_at is not None
    assert snapshot_files_intact(media.training_root(training_run=run) / "snapshot")
    assert list(Annotation.objects.order_by("pk").values()) == annotations
    assert finished_folds(run) == finished

    retry = learning.training_run_retry(training_run=run, created_by=admin_user)
    wait_for(
        lambda: JobRun.objects.get(pk=retry.pk).is_finished,
        timeout=300,
        what="the retry to finish",
    )
    retry.refresh_from_db()
    assert retry.status == JobRun.Status.SUCCEEDED, retry.error
    assert retry.worker == hostname
    resumed = finished_folds(run)
    assert {name: resumed[name] for name in finished} == finished  # not trained again
    run.refresh_from_db()
    assert len(resumed) == 2 * run.metrics["n_folds"] == 2 * 3
    version = ModelVersion.objects.get(training_run=run)
    assert version.checkpoint_sha256 == file_sha256(Path(settings.MEDIA_ROOT) / version.checkpoint)
    assert retry.message.startswith("UF1 ")
