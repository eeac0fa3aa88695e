"""Every model has a working admin: list (with search and filters), add and change pages."""

import pytest
from django.urls import reverse

from annotator.models import Annotation, Clip, Dataset, DatasetEmotion, JobRun, Subject
from tests.factories import AnnotationFactory

pytestmark = pytest.mark.django_db

MODELS = [Dataset, DatasetEmotion, Subject, Clip, Annotation, JobRun]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    AnnotationFactory(onset=50, offset=60)
    JobRun.objects.create(kind=JobRun.Kind.HEALTHCHECK, queue="preprocess")
    return client


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_search_and_filters_load(admin_client, model):
    url = reverse(f"admin:annotator_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1 or model is DatasetEmotion
    assert admin_client.get(url, {"q": "x"}).status_code == 200
    model_admin = response.context["cl"].model_admin
    assert model_admin.list_filter and model_admin.search_fields


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_change_page_loads(admin_client, model):
    obj = model.objects.first()
    url = reverse(f"admin:annotator_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(url).status_code == 200


def test_admin_edit_from_a_stale_form_is_refused(admin_client):
    annotation = Annotation.objects.get()
    url = reverse("admin:annotator_annotation_change", args=[annotation.pk])
    form = {
        "clip": annotation.clip_id,
        "coder": annotation.coder_id,
        "onset": 50,
        "apex": "",
        "offset": 70,
        "emotion": "",
        "action_units": "[]",
        "notes": "admin edit",
        "opened_revision": annotation.revision,
    }
    Annotation.objects.filter(pk=annotation.pk).update(
        revision=annotation.revision + 1, notes="coder"
    )
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    assert Annotation.objects.get().notes == "coder"

    form["opened_revision"] = annotation.revision + 1
    response = admin_client.post(url, form)
    assert response.status_code == 302
    stored = Annotation.objects.get()
    assert (stored.notes, stored.offset, stored.revision) == (
        "admin edit",
        70,
        annotation.revision + 2,
    )


def test_roles_exist_as_groups(admin_client):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"coder", "reviewer", "admin"}
    coder = Group.objects.get(name="coder")
    assert coder.permissions.filter(codename="change_annotation").exists()
    assert not coder.permissions.filter(codename="delete_dataset").exists()


def test_an_admin_sets_a_datasets_coding_plan_on_its_form(admin_client):
    dataset = Dataset.objects.get()
    assert (dataset.coding_mode, dataset.coders_per_clip) == (Dataset.CodingMode.BLIND, 2)
    url = reverse("admin:annotator_dataset_change", args=[dataset.pk])
    page = admin_client.get(url)
    emotions = page.context["inline_admin_formsets"][0].formset
    form = {
        "name": dataset.name,
        "source_format": dataset.source_format,
        "default_fps": dataset.default_fps,
        "coding_mode": Dataset.CodingMode.MODEL_ASSISTED,
        "coders_per_clip": 1,
        **{
            f"{emotions.prefix}-{key}": value
            for key, value in emotions.management_form.initial.items()
        },
    }
    for index, emotion in enumerate(emotions.forms):
        fields = {
            "id": emotion.instance.pk,
            "dataset": dataset.pk,
            "name": emotion.instance.name,
            "composite_class": emotion.instance.composite_class,
        }
        form.update({f"{emotions.prefix}-{index}-{key}": value for key, value in fields.items()})
    assert admin_client.post(url, {**form, "coders_per_clip": 0}).status_code == 200  # refused
    assert Dataset.objects.get().coders_per_clip == 2
    response = admin_client.post(url, form)
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert (dataset.coding_mode, dataset.coders_per_clip) == (Dataset.CodingMode.MODEL_ASSISTED, 1)
