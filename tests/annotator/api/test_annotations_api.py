"""Coders' annotations over the API: drafts, saves with optimistic locking, submit, bad input."""

import pytest

from annotator.models import Annotation, DatasetEmotion
from tests.factories import AnnotationFactory, ClipFactory, UserFactory

pytestmark = pytest.mark.django_db

ANNOTATIONS = "/api/v1/annotations/"


@pytest.fixture
def clip():
    return ClipFactory()  # frames 46..105 at 200 fps, CASME II vocabulary


def emotion(clip, name="happiness"):
    return DatasetEmotion.objects.get(dataset=clip.subject.dataset, name=name).pk


def start_draft(api, clip) -> dict:
    response = api.post(ANNOTATIONS, {"clip": clip.pk}, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()


def test_draft_is_created_once_and_resumed(api_as, coder, clip):
    api = api_as(coder)
    first = api.post(ANNOTATIONS, {"clip": clip.pk}, format="json")
    again = api.post(ANNOTATIONS, {"clip": clip.pk}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json() | {"updated_at": None} == again.json() | {"updated_at": None}
    assert first.json()["status"] == "draft" and first.json()["revision"] == 1
    assert first.json()["coder"] == "coder1"


def test_save_with_revision_then_stale_save_is_refused(api_as, coder, clip):
    api = api_as(coder)
    draft = start_draft(api, clip)
    url = f"{ANNOTATIONS}{draft['id']}/"
    saved = api.patch(
        url,
        {
            "revision": 1,
            "onset": 50,
            "apex": 60,
            "offset": 80,
            "emotion": emotion(clip),
            "action_units": [{"au": 12, "laterality": "R", "intensity": "C"}, {"au": 6}],
            "notes": "smile",
        },
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    body = saved.json()
    assert (body["onset"], body["apex"], body["offset"], body["revision"]) == (50, 60, 80, 2)
    assert body["emotion_name"] == "happiness"
    assert body["action_units"] == [
        {"au": 12, "laterality": "R", "intensity": "C"},
        {"au": 6, "laterality": "", "intensity": ""},
    ]

    # A second tab still at revision 1 must not overwrite revision 2.
    stale = api.patch(url, {"revision": 1, "onset": 46}, format="json")
    assert stale.status_code == 409
    [error] = stale.json()["errors"]
    assert error["field"] == "revision" and error["code"] == "stale_revision"
    assert "changed by someone else" in error["message"] and "revision 2" in error["message"]
    assert Annotation.objects.get(pk=draft["id"]).onset == 50

    # Fields left out keep their stored value.
    notes_only = api.patch(url, {"revision": 2, "notes": "broad smile"}, format="json")
    assert notes_only.json()["onset"] == 50 and notes_only.json()["notes"] == "broad smile"


@pytest.mark.parametrize(
    ("payload", "field", "code", "words"),
    [
        ({"revision": 1, "onset": "early"}, "onset", "invalid", "valid integer"),
        ({"onset": 50}, "revision", "required", "required"),
        ({"revision": "1", "onset": -3}, "onset", "min_value", "greater than or equal to 0"),
        ({"revision": 1, "onset": 2**40}, "onset", "max_value", "less than or equal to"),
        ({"revision": 1, "action_units": [{"au": 99}]}, "action_units.0.au", "unknown_au", "AU99"),
        (
            {"revision": 1, "action_units": [{"au": 12, "laterality": "X"}]},
            "action_units.0.laterality",
            "invalid_choice",
            "not a valid choice",
        ),
        ({"revision": 1, "action_units": "R12"}, "action_units", "not_a_list", "list"),
        ({"revision": 1, "emotion": 10**9}, "emotion", "does_not_exist", "does not exist"),
        ({"revision": 1, "notes": "x" * 5001}, "notes", "max_length", "5000"),
    ],
)
def test_bad_input_names_the_field(api_as, coder, clip, payload, field, code, words):
    api = api_as(coder)
    draft = start_draft(api, clip)
    response = api.patch(f"{ANNOTATIONS}{draft['id']}/", payload, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in errors
    ]
    assert any(words in e["message"] for e in errors), errors
    assert Annotation.objects.get(pk=draft["id"]).revision == 1


@pytest.mark.parametrize(
    ("marks", "field", "words"),
    [
        ({"onset": 5}, "onset", "Frame 5 is not in this clip (frames 46..105)"),
        ({"onset": 90, "offset": 60}, "offset", "must not come before"),
    ],
)
def test_a_draft_keeps_inconsistent_marks_and_submit_refuses_them(
    api_as, coder, clip, marks, field, words
):
    api = api_as(coder)
    draft = start_draft(api, clip)
    saved = api.patch(f"{ANNOTATIONS}{draft['id']}/", {"revision": 1, **marks}, format="json")
    assert saved.status_code == 200, saved.json()
    assert {key: saved.json()[key] for key in marks} == marks
    response = api.post(f"{ANNOTATIONS}{draft['id']}/submit/", {"revision": 2}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e["field"] == field and words in e["message"] for e in errors), errors
    stored = Annotation.objects.get(pk=draft["id"])
    assert (stored.status, stored.revision) == (Annotation.Status.DRAFT, 2)


def test_emotion_from_another_dataset_is_refused(api_as, coder, clip):
    api = api_as(coder)
    draft = start_draft(api, clip)
    foreign = emotion(ClipFactory())
    response = api.patch(
        f"{ANNOTATIONS}{draft['id']}/", {"revision": 1, "emotion": foreign}, format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "emotion" and "not in the vocabulary" in error["message"]


def test_submit_requires_marks_then_freezes_the_annotation(api_as, coder, clip):
    api = api_as(coder)
    draft = start_draft(api, clip)
    submit = f"{ANNOTATIONS}{draft['id']}/submit/"
    incomplete = api.post(submit, {"revision": 1, "onset": 50}, format="json")
    assert incomplete.status_code == 400
    assert {e["field"] for e in incomplete.json()["errors"]} == {"offset", "emotion"}

    done = api.post(
        submit, {"revision": 1, "onset": 50, "offset": 70, "emotion": emotion(clip)}, format="json"
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "submitted" and done.json()["revision"] == 2

    frozen = api.patch(f"{ANNOTATIONS}{draft['id']}/", {"revision": 2, "onset": 52}, format="json")
    assert frozen.status_code == 409 and frozen.json()["errors"][0]["code"] == "not_editable"
    again = api.post(ANNOTATIONS, {"clip": clip.pk}, format="json")
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "already_submitted"


def test_clip_not_ready_cannot_be_coded(api_as, coder):
    pending = ClipFactory(
        ingest_status="pending", frame_indices=[], media_version=0, preprocess_meta={}
    )
    response = api_as(coder).post(ANNOTATIONS, {"clip": pending.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "clip",
        "code": "not_ready",
        "message": f"Clip {pending.pk} is pending, not ready for coding.",
    }


def test_lists_filter_and_order(api_as, coder, clip):
    older = AnnotationFactory(coder=coder, status="submitted", onset=50, offset=60)
    newer = AnnotationFactory(coder=coder, clip=clip)
    api = api_as(coder)
    listed = api.get(ANNOTATIONS).json()
    assert [a["id"] for a in listed["results"]] == [newer.pk, older.pk]
    by_status = api.get(ANNOTATIONS, {"status": "submitted"}).json()["results"]
    assert [a["id"] for a in by_status] == [older.pk]
    by_clip = api.get(ANNOTATIONS, {"clip": clip.pk, "ordering": "id"}).json()["results"]
    assert [a["id"] for a in by_clip] == [newer.pk]
    bad_filter = api.get(ANNOTATIONS, {"status": "lost"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["errors"][0]["field"] == "status"


def test_cursor_pagination_walks_every_row_once(api_as, coder):
    made = [AnnotationFactory(coder=coder).pk for _ in range(5)]
    api = api_as(coder)
    seen, url = [], f"{ANNOTATIONS}?page_size=2&ordering=id"
    while url:
        page = api.get(url).json()
        assert len(page["results"]) <= 2
        seen += [a["id"] for a in page["results"]]
        url = page["next"]
    assert seen == sorted(made)


def test_a_save_that_leaves_out_the_aus_keeps_the_imported_non_codes(api_as, coder, clip):
    api = api_as(coder)
    draft = start_draft(api, clip)
    # As a published sheet's import stores them: a code, then a part that is no FACS code.
    Annotation.objects.filter(pk=draft["id"]).update(
        action_units=[{"au": 12, "laterality": "R"}, {"verbatim": "ref(7B)"}]
    )
    saved = api.patch(f"{ANNOTATIONS}{draft['id']}/", {"revision": 1, "notes": "n"}, format="json")
    assert saved.status_code == 200, saved.json()
    stored = Annotation.objects.get(pk=draft["id"])
    assert [str(entry) for entry in stored.au_entries] == ["R12", "ref(7B)"]
    assert stored.notes == "n"
    assert [unit["au"] for unit in saved.json()["action_units"]] == [12]
    assert saved.json()["action_units_as_written"] == ["ref(7B)"]


def test_a_claim_past_the_coding_plan_is_refused(api_as, coder, clip):
    others = [UserFactory(username=f"coder{n}", role="coder") for n in (2, 3)]
    start_draft(api_as(others[0]), clip)
    assert start_draft(api_as(coder), clip)["status"] == "draft"  # the plan's second place
    refused = api_as(others[1]).post(ANNOTATIONS, {"clip": clip.pk}, format="json")
    assert refused.status_code == 409
    error = refused.json()["errors"][0]
    assert error["code"] == "plan_full" and "already has the 2 coders" in error["message"]
    assert not Annotation.objects.filter(clip=clip, coder=others[1]).exists()


def test_release_gives_the_clip_back_and_asks_before_discarding_edits(api_as, coder, clip):
    api = api_as(coder)
    draft = start_draft(api, clip)
    release = f"{ANNOTATIONS}{draft['id']}/release/"
    assert api.post(release, {}, format="json").status_code == 204
    assert not Annotation.objects.filter(pk=draft["id"]).exists()

    edited = start_draft(api, clip)
    saved = api.patch(f"{ANNOTATIONS}{edited['id']}/", {"revision": 1, "onset": 50}, format="json")
    assert saved.status_code == 200
    url = f"{ANNOTATIONS}{edited['id']}/release/"
    refused = api.post(url, {}, format="json")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "has_edits"
    assert Annotation.objects.get(pk=edited["id"]).onset == 50
    # Someone else's draft is not theirs to release: it is not found.
    other = UserFactory(username="coder2", role="coder")
    assert api_as(other).post(url, {"discard": True}, format="json").status_code == 404
    assert api.post(url, {"discard": True}, format="json").status_code == 204
    assert not Annotation.objects.filter(clip=clip, coder=coder).exists()

    submitted = AnnotationFactory(coder=coder, status="submitted", onset=50, offset=60)
    frozen = api.post(f"{ANNOTATIONS}{submitted.pk}/release/", {"discard": True}, format="json")
    assert frozen.status_code == 409 and frozen.json()["errors"][0]["code"] == "not_a_draft"
