"""The training preset and the warm start, from the training page to the worker's run: what the
admin chose is recorded on the run, the worker trains with it, and the version says so. And the
job's progress while the worker builds the model inputs, clip by clip."""

import json

import pytest
from django.conf import settings
from django.urls import reverse

from annotator import media
from annotator.errors import InvalidRequestError
from annotator.jobs import services as jobs
from annotator.learning import runs
from annotator.learning import services as learning
from annotator.models import ModelVersion, TrainingRun
from mlcore.composite import read_manifest
from mlcore.models import create_model
from mlcore.presets import resolve_preset
from mlcore.training.data import InputCache, load_inputs
from tests.annotator.support.training_runs import (
    start_form,
    training_run_frozen,
    training_run_trained,
)
from tests.factories import trainable_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def active_version(admin_user) -> ModelVersion:
    """A flow_linear version trained on the blob snapshot and made active."""
    trained = training_run_trained(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")], created_by=admin_user
    )
    version = trained.model_version
    learning.model_version_activate(version=version, activated_by=admin_user)
    version.refresh_from_db()
    assert version.is_active
    return version


def test_the_page_records_the_preset_and_the_active_version_to_start_from(
    admin_client, active_version
):
    dataset = trainable_dataset(name="CASME II")
    page = admin_client.get(reverse("training")).content.decode()
    assert 'name="preset"' in page and 'name="warm_start"' in page
    assert '<option value="auto" selected>' in page
    response = admin_client.post(
        reverse("training"), start_form(datasets=[dataset.pk], preset="cpu", warm_start="on")
    )
    assert response.status_code == 302
    training_run = TrainingRun.objects.get(datasets=dataset)
    assert training_run.preset == "cpu" and training_run.warm_start_from == active_version
    detail = admin_client.get(reverse("training-run-detail", args=[training_run.pk]))
    assert f"the weights of {active_version}" in detail.content.decode()


def test_a_warm_start_without_an_active_version_or_of_another_model_is_refused(
    admin_client, admin_user
):
    dataset = trainable_dataset(name="CASME II")
    response = admin_client.post(
        reverse("training"), start_form(datasets=[dataset.pk], warm_start="on")
    )
    assert response.status_code == 400
    assert "No model version is active to start from" in response.content.decode()
    version = training_run_trained(
        datasets=[trainable_dataset()], created_by=admin_user
    ).model_version
    learning.model_version_activate(version=version, activated_by=admin_user)
    with pytest.raises(InvalidRequestError, match="is a flow_linear model; a frl_dgt run cannot"):
        learning.training_run_start(
            datasets=[dataset], model_name="frl_dgt", warm_start=True, created_by=admin_user
        )
    with pytest.raises(InvalidRequestError, match="Unknown preset 'tpu'"):
        learning.training_run_start(
            datasets=[dataset], model_name="frl_dgt", preset="tpu", created_by=admin_user
        )
    assert not TrainingRun.objects.filter(datasets=dataset).exists()


def test_the_worker_trains_with_the_preset_from_the_active_versions_weights(
    admin_user, active_version
):
    warm = training_run_trained(
        datasets=[trainable_dataset(name="CASME II")], created_by=admin_user, warm_start=True
    )
    version = warm.model_version
    # "auto" is resolved where the training ran: cpu on a machine without CUDA.
    assert warm.preset == "auto"
    assert version.config["preset"] == warm.metrics["preset"] == resolve_preset("auto").name
    assert version.config["warm_start_from"] == active_version.pk
    run_dir = media.training_root(training_run=warm) / "run"
    recorded = json.loads((run_dir / "run.json").read_text())["warm_start"]
    assert recorded["path"] == str(settings.MEDIA_ROOT / active_version.checkpoint)
    assert recorded["sha256"] == active_version.checkpoint_sha256
    # The same blob subjects as the active version's: each fold starts from the version's fold
    # that held its subject out, so no fold is scored on a subject its weights saw.
    starts = sorted(fold["start"] for fold in warm.metrics["per_fold"])
    assert starts == ["warm start fold 000", "warm start fold 001", "warm start fold 002"]


def test_building_the_model_inputs_reports_each_clip_and_stops_once_cancelled(admin_user):
    training_run = training_run_frozen(datasets=[trainable_dataset()], created_by=admin_user)
    job_run = jobs.job_run_claim(job_run_id=training_run.job_runs.get().pk)
    report = runs.training_input_progress(job_run)
    snapshot = media.training_root(training_run=training_run) / "snapshot"
    samples = read_manifest(snapshot)
    load_inputs(
        root=snapshot,
        samples=samples[:4],
        apexes=[sample.apex for sample in samples[:4]],
        spec=create_model("frl_dgt", image_size=32).input_spec,
        cache=InputCache(snapshot.parent / "inputs"),
        progress=report,
    )
    job_run.refresh_from_db()
    # The inputs are the second tenth of the job: after the snapshot, before the folds.
    assert job_run.progress == pytest.approx(0.2)
    assert job_run.message == "Building model inputs: pair inputs 4/4"
    learning.training_run_cancel(training_run=training_run)
    with pytest.raises(runs.TrainingStopped):
        report(0.5, "pair inputs 2/4")
    job_run.refresh_from_db()
    assert job_run.message == "Cancelled"
