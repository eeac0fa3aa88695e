"""The researcher role: exports datasets and reads training results through the pages and the API,
and starts, cancels, activates and codes nothing. Admins give a user one role on the user form."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from annotator import roles
from annotator.errors import InvalidRequestError
from annotator.models import JobRun, Role
from tests.annotator.support.training_runs import training_run_trained
from tests.factories import UserFactory, trainable_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher(db):
    return UserFactory(username="rita", role=Role.RESEARCHER)


@pytest.fixture
def trained_run(admin_user):
    dataset = trainable_dataset(name="CASME II")
    return training_run_trained(datasets=[dataset], created_by=admin_user)


def test_the_nav_offers_a_researcher_export_and_training_only(client, researcher):
    client.force_login(researcher)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("composite-export")}"' in home
    assert f'href="{reverse("training")}"' in home
    for name in ["coder-queue", "review-list", "dataset-import"]:
        assert f'href="{reverse(name)}"' not in home, name


def test_a_researcher_reads_runs_and_versions_without_the_admin_controls(
    client, researcher, trained_run
):
    client.force_login(researcher)
    page = client.get(reverse("training"))
    assert page.status_code == 200
    text = page.content.decode()
    assert str(trained_run.model_version) in text
    assert "Start training" not in text
    assert "Save the queue order" not in text
    assert ">Activate<" not in text and ">Retry (resume)<" not in text
    detail = client.get(reverse("training-run-detail", args=[trained_run.pk]))
    assert detail.status_code == 200 and "Pooled over" in detail.content.decode()


def test_a_researcher_may_not_start_activate_or_order_the_queue_through_either_door(
    client, api_as, researcher, trained_run
):
    client.force_login(researcher)
    dataset = trained_run.datasets.get()
    started = client.post(reverse("training"), {"datasets": [dataset.pk], "epochs": 2})
    assert started.status_code == 403
    assert "Starting a training run needs the Admin role." in started.content.decode()
    version = trained_run.model_version
    assert client.post(reverse("model-version-activate", args=[version.pk])).status_code == 403
    assert client.post(reverse("training-queue-settings"), {}).status_code == 403

    api = api_as(researcher)
    listed = api.get("/api/v1/training-runs/").json()["results"]
    assert [row["id"] for row in listed] == [trained_run.pk]
    assert api.get(f"/api/v1/model-versions/{version.pk}/").status_code == 200
    refused = api.post("/api/v1/training-runs/", {"datasets": [dataset.pk]}, format="json")
    assert refused.status_code == 403
    assert api.post(f"/api/v1/model-versions/{version.pk}/activate/").status_code == 403
    assert trained_run.job_runs.count() == 1  # nothing was queued


def test_a_researcher_exports_and_sees_only_their_own_exports(
    client, api_as, researcher, admin_user, django_capture_on_commit_callbacks
):
    admins_export = JobRun.objects.create(
        kind=JobRun.Kind.EXPORT, queue="preprocess", created_by=admin_user
    )
    client.force_login(researcher)
    assert client.get(reverse("composite-export")).status_code == 200
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("composite-export"), {"min_status": "adjudicated"})
    own = JobRun.objects.get(kind=JobRun.Kind.EXPORT, created_by=researcher)
    assert response["Location"] == reverse("composite-export-detail", args=[own.pk])
    assert client.get(response["Location"]).status_code == 200
    assert (
        client.get(reverse("composite-export-detail", args=[admins_export.pk])).status_code == 404
    )

    api = api_as(researcher)
    with django_capture_on_commit_callbacks(execute=False):
        created = api.post("/api/v1/exports/", {"min_status": "adjudicated"}, format="json")
    assert created.status_code == 202, created.content
    listed = {row["id"] for row in api.get("/api/v1/exports/").json()["results"]}
    assert admins_export.pk not in listed and own.pk in listed and len(listed) == 2
    assert api.get(f"/api/v1/exports/{admins_export.pk}/").status_code == 404


def test_a_researcher_codes_nothing_and_imports_nothing(client, api_as, researcher):
    client.force_login(researcher)
    for name in ["coder-queue", "dataset-import", "review-list"]:
        assert client.get(reverse(name)).status_code == 403, name
    assert api_as(researcher).post("/api/v1/queue/next/").status_code == 403


def test_a_coder_is_told_exports_need_the_researcher_role(client, coder):
    client.force_login(coder)
    refused = client.get(reverse("composite-export"))
    assert refused.status_code == 403
    assert "This page needs the Researcher role." in refused.content.decode()


def test_the_admin_user_form_sets_one_role(client, admin_user):
    client.force_login(admin_user)
    user = UserFactory(username="newbie", role=Role.CODER)
    url = reverse("admin:auth_user_change", args=[user.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert 'name="role"' in form.content.decode()
    assert 'name="groups"' not in form.content.decode()
    response = client.post(
        url,
        {
            "username": "newbie",
            "is_active": "on",
            "role": Role.RESEARCHER,
            "date_joined_0": "2026-12-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == [Role.RESEARCHER]
    assert not user.is_staff and not user.is_superuser
    assert roles.user_role(user=user) == Role.RESEARCHER
    assert user.has_perm("annotator.export_dataset")
    assert not user.has_perm("annotator.change_annotation")


def test_the_admin_add_form_creates_a_user_with_a_role(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "fresh",
            "usable_password": "true",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "role": Role.REVIEWER,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Group.objects.get(name=Role.REVIEWER).user_set.get(username="fresh")
    assert created.has_perm("annotator.adjudicate_annotation")


def test_an_admin_role_makes_staff_and_no_role_takes_every_role_away(db):
    user = UserFactory(username="sam", role=Role.ADMIN)
    assert user.is_staff and user.is_superuser
    roles.user_role_set(user=user, role=None)
    user.refresh_from_db()
    assert not user.is_staff and not user.groups.exists()
    with pytest.raises(InvalidRequestError, match="unknown role 'owner'"):
        roles.user_role_set(user=user, role="owner")


@pytest.mark.browser
def test_a_researcher_in_chromium_finds_export_and_training_but_no_admin_controls(
    live_server, page, log_in, researcher, trained_run
):
    log_in(page, username=researcher.username)
    nav = page.locator("nav")
    expect(nav.get_by_role("link", name="Export")).to_be_visible()
    expect(nav.get_by_role("link", name="My queue")).to_have_count(0)
    nav.get_by_role("link", name="Training").click()
    expect(page.locator("#model-versions")).to_contain_text(str(trained_run.model_version))
    expect(page.get_by_role("button", name="Start training")).to_have_count(0)
    expect(page.get_by_role("button", name="Activate")).to_have_count(0)
    page.goto(f"{live_server.url}{reverse('dataset-import')}")
    expect(page.locator("main")).to_contain_text("This page needs the Admin role.")
