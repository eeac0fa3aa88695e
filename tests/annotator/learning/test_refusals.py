"""One refusal, every door: a service's `annotator.errors` refusal reaches the user with its
message and status whether it came through a page (in place, or the pages' middleware), the API,
the admin or a management command."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.models import Clip, JobRun, ModelVersion, TrainingRun
from tests.factories import AnnotationFactory, ClipFactory, trainable_dataset

pytestmark = pytest.mark.django_db

FINISHED = "This run finished; start a new one to train again."


@pytest.fixture
def finished_run() -> TrainingRun:
    run = TrainingRun.objects.create(selection_key="1", model_name="flow_linear", epochs=2)
    ModelVersion.objects.create(
        training_run=run,
        model_name="flow_linear",
        checkpoint=f"training/{run.pk}/run/final.pt",
        checkpoint_sha256="ab" * 32,
    )
    return run


def test_retrying_a_finished_run_is_refused_alike_at_every_door(client, admin_user, finished_run):
    client.force_login(admin_user)
    retry = reverse("training-run-retry", args=[finished_run.pk])

    page = client.post(retry, follow=True)
    assert FINISHED in [str(message) for message in page.context["messages"]]

    partial = client.post(retry, HTTP_HX_REQUEST="true")
    assert FINISHED in partial.content.decode()

    admin_page = client.post(
        reverse("admin:annotator_trainingrun_changelist"),
        {"action": "retry", "_selected_action": [finished_run.pk]},
        follow=True,
    )
    assert f"{finished_run}: {FINISHED}" in [str(m) for m in admin_page.context["messages"]]

    api = APIClient()
    api.force_authenticate(admin_user)
    answer = api.post(f"/api/v1/training-runs/{finished_run.pk}/retry/")
    assert answer.status_code == 409
    assert answer.json()["errors"] == [
        {"field": None, "code": "already_finished", "message": FINISHED}
    ]
    assert not JobRun.objects.exists()


def test_a_refusal_a_page_does_not_show_in_place_answers_with_its_status_and_message(client):
    """The pages' middleware: an EAF of a clip without frames cannot be written (409)."""
    clip = ClipFactory(
        frame_indices=[], preprocess_meta={}, ingest_status=Clip.IngestStatus.PENDING
    )
    annotation = AnnotationFactory(clip=clip)
    client.force_login(annotation.coder)

    response = client.get(
        reverse("clip-eaf-download", args=[clip.pk, annotation.pk]),
        HTTP_REFERER="http://testserver/queue/",
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "has no frames yet: an EAF needs the clip" in page
    assert 'href="http://testserver/queue/"' in page  # back where the user came from

    elsewhere = client.get(
        reverse("clip-eaf-download", args=[clip.pk, annotation.pk]),
        HTTP_REFERER="https://evil.example/",
    )
    assert "evil.example" not in elsewhere.content.decode()


def test_a_command_ends_with_the_services_refusal_not_a_traceback(admin_user):
    dataset = trainable_dataset()
    with pytest.raises(CommandError, match="Unknown model 'resnet'; choose one of"):
        call_command("train", "--dataset", dataset.name, "--model", "resnet")
    assert not TrainingRun.objects.exists()
