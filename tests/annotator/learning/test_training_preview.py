"""Before a run starts, the training form shows what it will use (clips per class, subject and
dataset; what is left out and why), and every door refuses a selection that cannot be evaluated
with the same words (issue #16.12)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.errors import TrainingSelectionError
from annotator.learning import services as learning
from annotator.models import Annotation, TrainingRun
from tests.factories import AnnotationFactory, ClipFactory, SubjectFactory, trainable_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_leftovers():
    """Two subjects of three classes, and two clips a run cannot take: one coded twice and not
    adjudicated, one never coded."""
    dataset = trainable_dataset(name="CASME II")
    subject = dataset.subjects.order_by("code").first()
    twice = ClipFactory(subject=subject, name="EP09_01")
    for _ in range(2):
        AnnotationFactory(clip=twice, onset=50, offset=70, status=Annotation.Status.SUBMITTED)
    ClipFactory(subject=subject, name="EP09_02")
    return dataset


@pytest.fixture
def one_subject():
    return trainable_dataset(name="SAMM", source_format="samm", subjects=1)


def test_the_preview_counts_what_a_run_uses_and_says_what_it_leaves_out(with_leftovers):
    preview = learning.training_selection_preview(
        datasets=[with_leftovers], min_status=TrainingRun.MinStatus.SUBMITTED
    )
    assert preview.clips == 6 and preview.subjects == 2
    assert preview.counts["per_class"] == {"negative": 2, "positive": 2, "surprise": 2}
    assert preview.counts["per_dataset"] == {
        "casme2": {"negative": 2, "positive": 2, "surprise": 2}
    }
    assert sorted(item["reason"] for item in preview.left_out) == [
        "no submitted annotation",
        "several submitted annotations and no adjudication",
    ]
    assert preview.problems == []


def test_every_door_refuses_a_selection_that_cannot_be_evaluated(
    client, admin_user, api_as, one_subject
):
    with pytest.raises(TrainingSelectionError) as refused:
        learning.training_run_start(
            datasets=[one_subject], model_name="flow_linear", created_by=admin_user
        )
    message = str(refused.value)
    assert message.startswith("This selection cannot be evaluated. 1 subject with usable clips")

    client.force_login(admin_user)
    page = client.post(
        reverse("training"),
        {
            "datasets": [one_subject.pk],
            "model_name": "flow_linear",
            "protocol": "loso",
            "preset": "auto",
            "epochs": 2,
            "min_status": "adjudicated",
            "seed": 0,
        },
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "1 subject with usable clips" in text
    assert "3 clips</strong> from 1 subject" in text  # the preview of what was chosen

    response = api_as(admin_user).post(
        "/api/v1/training-runs/",
        {"datasets": [one_subject.pk], "model_name": "flow_linear"},
        format="json",
    )
    assert response.status_code == 400
    assert "1 subject with usable clips" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_a_class_with_no_clip_is_refused(admin_user):
    dataset = trainable_dataset(name="CASME II")
    Annotation.objects.filter(
        clip__subject__dataset=dataset, emotion__composite_class="surprise"
    ).delete()
    preview = learning.training_selection_preview(
        datasets=[dataset], min_status=TrainingRun.MinStatus.ADJUDICATED
    )
    assert preview.counts["per_class"]["surprise"] == 0
    assert any("No clip of class surprise" in problem for problem in preview.problems)


def test_the_preview_partial_answers_the_forms_choices(client, admin_user, with_leftovers):
    client.force_login(admin_user)
    url = reverse("training-preview")
    empty = client.get(url).content.decode()
    assert "Choose one or more datasets" in empty
    page = client.get(url, {"datasets": [with_leftovers.pk], "min_status": "adjudicated"})
    text = page.content.decode()
    assert "6 clips</strong> from 2 subjects" in text
    assert "2 clips left out" in text and "2 \u00d7 no adjudicated annotation" in text
    assert client.get(url, {"min_status": "final"}).status_code == 400


def choice(page, dataset):
    return page.locator(f"input[name=datasets][value='{dataset.pk}']")


@pytest.mark.browser
def test_the_form_previews_each_selection_as_it_changes(
    live_server, page, log_in, admin_user, with_leftovers, one_subject
):
    SubjectFactory(dataset=one_subject)  # a subject with no clip changes nothing
    log_in(page, username=admin_user.username)
    page.goto(f"{live_server.url}{reverse('training')}")
    preview = page.get_by_test_id("training-preview")
    expect(preview).to_contain_text("Choose one or more datasets")
    choice(page, with_leftovers).check()
    expect(preview).to_contain_text("6 clips from 2 subjects")
    expect(preview).to_contain_text("2 clips left out")
    choice(page, with_leftovers).uncheck()
    choice(page, one_subject).check()
    expect(page.get_by_test_id("training-problems")).to_contain_text(
        "1 subject with usable clips: evaluation holds subjects out"
    )
