"""Admin actions of the active-learning loop: retry and cancel training runs, activate a model
version."""

import pytest
from django.urls import reverse

from annotator.learning import services as learning
from annotator.models import JobRun, ModelVersion, QueueSettings, TrainingRun
from tests.annotator.support.training_runs import training_run_trained
from tests.factories import trainable_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def run_action(client, model, action: str, objects) -> list[str]:
    url = reverse(f"admin:annotator_{model._meta.model_name}_changelist")
    response = client.post(
        url, {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_cancel_then_retry_a_training_run(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    training_run = learning.training_run_start(
        datasets=[trainable_dataset(name="CASME II")], model_name="frl_dgt", created_by=admin_user
    )
    assert run_action(admin_client, TrainingRun, "cancel", [training_run]) == [
        f"{training_run}: cancelled."
    ]
    assert training_run.latest_job_run.status == JobRun.Status.CANCELLED
    assert run_action(admin_client, TrainingRun, "cancel", [training_run]) == [
        f"{training_run}: not queued or running."
    ]

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        messages = run_action(admin_client, TrainingRun, "retry", [training_run])
    attempt = training_run.latest_job_run
    assert messages == [f"{training_run}: queued again as job #{attempt.pk}."]
    assert (attempt.status, attempt.kind, len(enqueued)) == ("queued", "train", 1)

    messages = run_action(admin_client, TrainingRun, "retry", [training_run])
    assert messages == [f"{training_run}: This run is still queued or running."]
    assert training_run.job_runs.count() == 2


def test_a_finished_run_is_not_retried(admin_client, admin_user):
    training_run = training_run_trained(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")], created_by=admin_user
    )
    messages = run_action(admin_client, TrainingRun, "retry", [training_run])
    assert messages == [f"{training_run}: This run finished; start a new one to train again."]
    assert training_run.job_runs.count() == 1


def test_activate_exactly_one_model_version(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    dataset = trainable_dataset(name="SAMM", source_format="samm")
    first = training_run_trained(datasets=[dataset], created_by=admin_user).model_version
    second = training_run_trained(datasets=[dataset], created_by=admin_user).model_version

    messages = run_action(admin_client, ModelVersion, "activate", [first, second])
    assert messages == ["Select exactly one model version to activate."]
    assert not ModelVersion.objects.filter(is_active=True).exists()
    assert not JobRun.objects.filter(kind=JobRun.Kind.INFER).exists()

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        messages = run_action(admin_client, ModelVersion, "activate", [second])
    infer = JobRun.objects.get(kind=JobRun.Kind.INFER)
    assert messages == [f"{second} is active; scoring the unlabelled clips (job #{infer.pk})."]
    assert list(ModelVersion.objects.filter(is_active=True)) == [second]
    assert (infer.model_version, infer.status, len(enqueued)) == (second, "queued", 1)

    run_action(admin_client, ModelVersion, "activate", [first])
    assert list(ModelVersion.objects.filter(is_active=True)) == [first]


def test_training_models_list_and_change_pages_load(admin_client, admin_user):
    training_run_trained(
        datasets=[trainable_dataset(name="SAMM", source_format="samm")], created_by=admin_user
    )
    learning.queue_settings_update(strategy="random", diversity_weight=0.5, subject_cap=3)
    for model in (TrainingRun, ModelVersion, QueueSettings):
        changelist = reverse(f"admin:annotator_{model._meta.model_name}_changelist")
        response = admin_client.get(changelist, {"q": "flow"})
        assert response.status_code == 200 and response.context["cl"].result_count == 1, model
        obj = model.objects.get()
        url = reverse(f"admin:annotator_{model._meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200, model
