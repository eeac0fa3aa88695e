"""Each role boundary of the API: anonymous, a user without a role, coders, reviewers, admins."""

import pytest

from annotator.models import Annotation
from tests.factories import AnnotationFactory, ClipFactory, DatasetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/datasets/"),
        ("get", "/api/v1/clips/"),
        ("get", "/api/v1/annotations/"),
        ("post", "/api/v1/annotations/"),
        ("post", "/api/v1/queue/next/"),
        ("get", "/api/v1/reviews/"),
        ("get", "/api/v1/jobs/"),
        ("post", "/api/v1/tokens/"),
    ],
)
def test_anonymous_requests_are_told_to_authenticate(api_as, method, url):
    response = getattr(api_as(None), method)(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "errors": [
            {
                "field": None,
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
        ]
    }


def test_a_wrong_token_is_refused(api_as):
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = client.get("/api/v1/clips/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


def test_a_user_without_a_role_sees_nothing(api_as):
    nobody = UserFactory(username="visitor")
    for url in ("/api/v1/datasets/", "/api/v1/clips/", "/api/v1/queue/"):
        response = api_as(nobody).get(url)
        assert response.status_code == 403, url
        assert response.json()["errors"][0]["code"] == "permission_denied"


def test_a_coder_never_sees_another_coders_draft(api_as, coder, other_coder):
    theirs = AnnotationFactory(coder=other_coder, onset=50)
    theirs_submitted = AnnotationFactory(coder=other_coder, status="submitted")
    mine = AnnotationFactory(coder=coder, clip=theirs.clip)
    api = api_as(coder)

    assert api.get(f"/api/v1/annotations/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/annotations/{theirs_submitted.pk}/").status_code == 404
    listed = api.get("/api/v1/annotations/", {"clip": theirs.clip_id}).json()["results"]
    assert [a["id"] for a in listed] == [mine.pk]
    assert api.get("/api/v1/annotations/", {"coder": "coder2"}).json()["results"] == []

    edit = api.patch(
        f"/api/v1/annotations/{theirs.pk}/", {"revision": 1, "onset": 60}, format="json"
    )
    assert edit.status_code == 404
    assert (
        api.post(
            f"/api/v1/annotations/{theirs.pk}/submit/", {"revision": 1}, format="json"
        ).status_code
        == 404
    )
    assert Annotation.objects.get(pk=theirs.pk).onset == 50


def test_reviewers_see_submitted_work_but_not_drafts_and_cannot_edit_it(api_as, coder, reviewer):
    draft = AnnotationFactory(coder=coder)
    submitted = AnnotationFactory(coder=coder, status="submitted", onset=50, offset=60)
    api = api_as(reviewer)
    listed = [a["id"] for a in api.get("/api/v1/annotations/").json()["results"]]
    assert listed == [submitted.pk]
    assert api.get(f"/api/v1/annotations/{draft.pk}/").status_code == 404
    assert api.get(f"/api/v1/annotations/{submitted.pk}/").json()["coder"] == "coder1"
    edit = api.patch(f"/api/v1/annotations/{submitted.pk}/", {"revision": 1}, format="json")
    assert edit.status_code == 404


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/clips/"),
        ("post", "/api/v1/clips/{clip}/reprocess/"),
        ("get", "/api/v1/reviews/"),
        ("get", "/api/v1/reviews/{clip}/"),
        ("post", "/api/v1/reviews/{clip}/adjudication/"),
        ("get", "/api/v1/datasets/{dataset}/agreement/"),
    ],
)
def test_coders_cannot_upload_reprocess_review_or_report(api_as, coder, method, url):
    clip = ClipFactory()
    url = url.format(clip=clip.pk, dataset=clip.subject.dataset_id)
    response = getattr(api_as(coder), method)(url, {}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "Your role does not allow this."


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", "/api/v1/clips/"), ("post", "/api/v1/clips/{clip}/reprocess/")],
)
def test_only_admins_upload_and_reprocess(api_as, reviewer, method, url):
    clip = ClipFactory()
    response = getattr(api_as(reviewer), method)(url.format(clip=clip.pk), {}, format="json")
    assert response.status_code == 403


def test_jobs_are_visible_to_their_creator_and_to_reviewers(api_as, coder, reviewer, admin_user):
    from annotator.models import JobRun

    own = JobRun.objects.create(kind="healthcheck", queue="preprocess", created_by=coder)
    others = JobRun.objects.create(kind="preprocess", queue="preprocess", created_by=admin_user)
    coder_api = api_as(coder)
    assert [j["id"] for j in coder_api.get("/api/v1/jobs/").json()["results"]] == [own.pk]
    assert coder_api.get(f"/api/v1/jobs/{others.pk}/").status_code == 404
    seen = {j["id"] for j in api_as(reviewer).get("/api/v1/jobs/").json()["results"]}
    assert seen == {own.pk, others.pk}


def test_datasets_are_readable_by_every_role(api_as, coder):
    dataset = DatasetFactory(name="CASME II")
    ClipFactory(subject__dataset=dataset)
    [row] = api_as(coder).get("/api/v1/datasets/").json()["results"]
    assert row["name"] == "CASME II" and row["clip_count"] == 1 and row["subject_count"] == 1
    assert {"name": "happiness", "composite_class": "positive"}.items() <= next(
        e for e in row["emotions"] if e["name"] == "happiness"
    ).items()
