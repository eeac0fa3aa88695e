"""The pages are exactly as strict as the API: one rule for jobs (a coder sees the jobs they
started, reviewers and admins every job) and one for clips (no role, no clip page and no frame),
shown here through both doors. A signed-in user refused a page gets one styled 403 naming the role
it needs; a signed-out visitor goes to the log-in page."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotator.jobs import services as jobs
from annotator.models import JobRun
from tests.factories import UserFactory


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_coders_jobs(db):
    own, other = (
        UserFactory(username="ann", role="coder"),
        UserFactory(username="bob", role="coder"),
    )
    own_job = JobRun.objects.create(kind=JobRun.Kind.EXPORT, queue="preprocess", created_by=own)
    other_job = JobRun.objects.create(
        kind=JobRun.Kind.EXPORT, queue="preprocess", created_by=other, message="bob's secret"
    )
    jobs.job_run_claim(job_run_id=other_job.pk)
    jobs.job_run_fail(job_run=other_job, error="Traceback: /srv/private/path")
    return own, own_job, other_job


def test_a_coder_sees_only_their_own_jobs_on_the_home_page_and_in_the_api(client, two_coders_jobs):
    own, own_job, _ = two_coders_jobs
    client.force_login(own)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert list(home.context["job_runs"]) == [own_job]
    assert b"/srv/private/path" not in home.content
    listed = api_client_for(own).get("/api/v1/jobs/").json()["results"]
    assert [row["id"] for row in listed] == [own_job.pk]


def test_another_users_job_is_not_found_through_either_door(client, two_coders_jobs):
    own, own_job, other_job = two_coders_jobs
    client.force_login(own)
    assert client.get(reverse("job-run-detail", args=[own_job.pk])).status_code == 200
    page = client.get(reverse("job-run-detail", args=[other_job.pk]))
    assert page.status_code == 404 and b"/srv/private/path" not in page.content
    assert api_client_for(own).get(f"/api/v1/jobs/{other_job.pk}/").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_reviewers_and_admins_see_every_job_through_both_doors(client, two_coders_jobs, role):
    _, own_job, other_job = two_coders_jobs
    user = UserFactory(username=f"a-{role}", role=role)
    client.force_login(user)
    assert set(client.get(reverse("home")).context["job_runs"]) == {own_job, other_job}
    assert client.get(reverse("job-run-detail", args=[other_job.pk])).status_code == 200
    listed = api_client_for(user).get("/api/v1/jobs/").json()["results"]
    assert {row["id"] for row in listed} == {own_job.pk, other_job.pk}


def test_a_user_without_a_role_gets_403_on_clip_pages_and_frames_through_both_doors(
    client, ready_clip
):
    clip = ready_clip(frames=10)
    frame = clip.frame_indices[0]
    media = {"clip_id": clip.pk, "version": clip.media_version, "layer": "frame", "frame": frame}
    nobody = UserFactory(username="no-role")

    coder = UserFactory(username="has-role", role="coder")
    client.force_login(coder)
    assert client.get(reverse("clip-detail", args=[clip.pk])).status_code == 200
    assert client.get(reverse("clip-media", kwargs=media)).status_code == 200

    client.force_login(nobody)
    detail = client.get(reverse("clip-detail", args=[clip.pk]))
    assert detail.status_code == 403
    assert "This page needs the Coder role." in detail.content.decode()
    assert client.get(reverse("clip-media", kwargs=media)).status_code == 403
    home = client.get(reverse("home"))
    assert clip.name not in home.content.decode()

    api = api_client_for(nobody)
    assert api.get(f"/api/v1/clips/{clip.pk}/").status_code == 403
    assert api.get(reverse("api-clip-media", kwargs=media)).status_code == 403


def test_a_coder_refused_a_page_sees_the_styled_403_naming_the_role(client, coder):
    client.force_login(coder)
    for url, role in [
        (reverse("review-list"), "Reviewer"),
        (reverse("training"), "Researcher"),
        (reverse("composite-export"), "Researcher"),
        (reverse("dataset-import"), "Admin"),
        (reverse("clip-upload"), "Admin"),
    ]:
        response = client.get(url)
        assert response.status_code == 403, url
        page = response.content.decode()
        assert f"This page needs the {role} role." in page, url
        assert "signed in as <strong>coder1</strong>" in page
        assert 'href="/"' in page  # the site's own layout, with a way back


def test_a_signed_out_visitor_is_sent_to_log_in(client):
    for name in ["review-list", "training", "coder-queue", "dataset-import"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
