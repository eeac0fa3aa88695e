"""Reviewers over the API: the review queue, a clip's codings with pairwise agreement,
adjudication with optimistic locking, and the dataset's agreement report."""

import pytest

from annotator.models import Annotation, DatasetEmotion
from tests.factories import AnnotationFactory, ClipFactory, UserFactory

pytestmark = pytest.mark.django_db


def submitted(clip, username, *, onset, apex, offset, emotion, aus):
    return AnnotationFactory(
        clip=clip,
        coder=UserFactory(username=username, role="coder"),
        onset=onset,
        apex=apex,
        offset=offset,
        emotion=DatasetEmotion.objects.get(dataset=clip.subject.dataset, name=emotion),
        action_units=aus,
        status=Annotation.Status.SUBMITTED,
    )


@pytest.fixture
def two_codings():
    clip = ClipFactory()  # frames 46..105 at 200 fps
    a = submitted(
        clip, "alice", onset=50, apex=60, offset=80, emotion="happiness",
        aus=[{"au": 6, "intensity": "B"}, {"au": 12, "laterality": "R", "intensity": "C"}],
    )  # fmt: skip
    b = submitted(
        clip, "bob", onset=51, apex=63, offset=80, emotion="happiness",
        aus=[{"au": 12, "laterality": "R", "intensity": "D"}],
    )  # fmt: skip
    return clip, a, b


def test_review_queue_and_clip_review_with_agreement(api_as, reviewer, two_codings):
    clip, a, b = two_codings
    AnnotationFactory(clip=clip)  # someone's draft: not part of the review
    api = api_as(reviewer)
    [row] = api.get("/api/v1/reviews/").json()["results"]
    assert (row["id"], row["submitted_count"], row["adjudicated_count"]) == (clip.pk, 2, 0)

    review = api.get(f"/api/v1/reviews/{clip.pk}/").json()
    assert [x["coder"] for x in review["submitted"]] == ["alice", "bob"]
    assert review["adjudicated"] is None
    [pair] = review["pairs"]
    assert (pair["first"], pair["second"]) == (a.pk, b.pk)
    assert pair["emotion_match"] is True
    assert pair["marks"]["onset"] == {"frames": 1, "ms": 5.0, "within_tolerance": True}
    assert pair["marks"]["apex"]["within_tolerance"] is False
    assert pair["aus_only_first"] == ["6B"]
    assert pair["au_agreement"] == pytest.approx(2 * 1 / 3)


def test_adjudication_then_a_stale_second_one_is_refused(api_as, reviewer, two_codings):
    clip, a, _ = two_codings
    api = api_as(reviewer)
    url = f"/api/v1/reviews/{clip.pk}/adjudication/"
    happiness = DatasetEmotion.objects.get(dataset=clip.subject.dataset, name="happiness").pk
    final = {
        "based_on": a.pk,
        "onset": 50,
        "apex": 61,
        "offset": 80,
        "emotion": happiness,
        "action_units": [{"au": 12, "laterality": "R", "intensity": "C"}],
        "comment": "apex from the motion layer",
    }
    created = api.post(url, final, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["status"], body["based_on"], body["coder"]) == ("adjudicated", a.pk, "rita")
    assert body["notes"] == "apex from the motion layer"

    without_revision = api.post(url, final | {"apex": 62}, format="json")
    assert without_revision.status_code == 409
    assert without_revision.json()["errors"][0]["code"] == "stale_revision"

    changed = api.post(url, final | {"apex": 62, "revision": 1}, format="json")
    assert changed.status_code == 200 and changed.json()["apex"] == 62
    assert changed.json()["revision"] == 2
    assert api.get(f"/api/v1/reviews/{clip.pk}/").json()["adjudicated"]["apex"] == 62


def test_adjudication_input_is_checked(api_as, reviewer, two_codings):
    clip, _, _ = two_codings
    elsewhere = AnnotationFactory(status="submitted", onset=50, offset=60)
    api = api_as(reviewer)
    url = f"/api/v1/reviews/{clip.pk}/adjudication/"
    wrong_clip = api.post(url, {"based_on": elsewhere.pk}, format="json")
    assert wrong_clip.status_code == 400
    assert wrong_clip.json()["errors"][0]["code"] == "wrong_clip"
    missing = api.post(url, {"onset": 50}, format="json")
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"offset", "emotion"}
    assert api.post("/api/v1/reviews/999999/adjudication/", {}, format="json").status_code == 404


def test_agreement_report_as_json(api_as, reviewer, two_codings):
    clip, _, _ = two_codings
    api = api_as(reviewer)
    url = f"/api/v1/datasets/{clip.subject.dataset_id}/agreement/"
    report = api.get(url).json()
    assert report["clips_with_two_or_more"] == 1 and report["annotations"] == 2
    assert report["pair_count"] == 1
    assert report["frame_distances"]["onset"] == {"n": 1, "median": 1.0, "p90": 1.0}
    assert {"au": 12, "rate": 1.0} in report["au_base_rates"]
    # Kappa over a single pair that agrees is undefined: null, not NaN (which JSON lacks).
    assert report["emotion_kappa"] is None
    assert report["tolerance_ms"] == 10.0
    strict = api.get(url, {"tolerance_ms": 0}).json()
    assert strict["tolerance_ms"] == 0.0
    bad = api.get(url, {"tolerance_ms": "lots"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "tolerance_ms"
