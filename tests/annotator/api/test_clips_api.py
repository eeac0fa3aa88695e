"""Clips over the API: multipart upload and its refusals, status with job progress, frames,
reprocessing, lists with filters."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotator.models import Clip, JobRun
from tests.clip_files import frames_zip_bytes
from tests.factories import ClipFactory, DatasetFactory

pytestmark = pytest.mark.django_db

CLIPS = "/api/v1/clips/"


def upload(api, dataset, name: str, content: bytes, **fields):
    return api.post(
        CLIPS,
        {"dataset": dataset.pk, "subject_code": "01", "source": SimpleUploadedFile(name, content)}
        | fields,
        format="multipart",
    )


def test_admin_uploads_a_zip_and_preprocessing_is_queued(api_as, admin_user):
    dataset = DatasetFactory(name="CASME II", default_fps=200.0)
    response = upload(api_as(admin_user), dataset, "EP02_01f.zip", frames_zip_bytes(count=4))
    assert response.status_code == 202, response.json()
    body = response.json()
    clip = Clip.objects.get(pk=body["clip"]["id"])
    assert response["Location"].endswith(f"/api/v1/clips/{clip.pk}/")
    assert (clip.name, clip.subject.code, clip.fps) == ("EP02_01f", "01", 200.0)
    assert body["clip"]["ingest_status"] == "pending"
    assert body["job"]["kind"] == "preprocess" and body["job"]["status"] == "queued"
    assert JobRun.objects.get(pk=body["job"]["id"]).clip_id == clip.pk

    # The status endpoint shows the job's progress while the worker runs.
    JobRun.objects.filter(pk=body["job"]["id"]).update(
        status="running", progress=0.4, message="Aligning faces"
    )
    status = api_as(admin_user).get(f"{CLIPS}{clip.pk}/").json()
    assert status["latest_job"]["progress"] == 0.4
    assert status["latest_job"]["message"] == "Aligning faces"


def zip_with_parent_path() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../etc/img1.jpg", b"\xff\xd8\xff")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("notes.txt", b"hello", "wrong_type", "upload a video"),
        ("clip.mp4", b"PK\x03\x04 not a video at all", "wrong_type", "does not contain mp4 data"),
        ("clip.zip", zip_with_parent_path(), "unsafe_archive", "points outside the clip"),
    ],
)
def test_bad_uploads_are_refused_naming_the_file(api_as, admin_user, name, content, code, words):
    response = upload(api_as(admin_user), DatasetFactory(), name, content)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == "source" and error["code"] == code
    assert words in error["message"] and name in error["message"]
    assert not Clip.objects.exists()


def test_oversize_upload_is_refused_with_413(api_as, admin_user, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    response = upload(api_as(admin_user), DatasetFactory(), "big.zip", frames_zip_bytes(count=2))
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert error["code"] == "too_large" and "the limit is 0 MiB" not in error["message"]
    assert not Clip.objects.exists()


def test_wrong_field_types_and_duplicates(api_as, admin_user):
    dataset = DatasetFactory()
    api = api_as(admin_user)
    bad = api.post(
        CLIPS,
        {"dataset": "casme", "subject_code": "../01", "fps": "fast", "source": "not a file"},
        format="multipart",
    )
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"dataset", "subject_code", "fps", "source"}

    assert upload(api, dataset, "EP01.zip", frames_zip_bytes(count=2)).status_code == 202
    again = upload(api, dataset, "EP01.zip", frames_zip_bytes(count=2))
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "name"
    assert again.json()["errors"][0]["code"] == "unique"


def test_json_bodies_are_not_accepted_for_uploads(api_as, admin_user):
    response = api_as(admin_user).post(CLIPS, {"dataset": 1}, format="json")
    assert response.status_code == 415
    assert response.json()["errors"][0]["code"] == "unsupported_media_type"


def test_frames_list_urls_that_serve_jpegs_to_token_clients(api_as, coder, ready_clip):
    clip = ready_clip(frames=6)
    api = api_as(coder)
    body = api.get(f"{CLIPS}{clip.pk}/frames/").json()
    assert body["frame_indices"] == list(range(46, 52))
    layers = {layer["name"]: layer["urls"] for layer in body["layers"]}
    assert set(layers) == {"frame", "motion", *(f"aligned-{s}" for s in clip.aligned_sizes)}
    first = layers["frame"][0]
    assert first.endswith(f"/api/v1/clips/{clip.pk}/media/v{clip.media_version}/frame/46.jpg")

    jpeg = api.get(first)
    assert jpeg.status_code == 200 and jpeg["Content-Type"] == "image/jpeg"
    assert b"".join(jpeg.streaming_content).startswith(b"\xff\xd8")
    assert "immutable" in jpeg["Cache-Control"]
    missing = api.get(first.replace("/46.jpg", "/45.jpg"))
    assert missing.status_code == 404 and "Frame 45" in missing.json()["errors"][0]["message"]

    only = api.get(f"{CLIPS}{clip.pk}/frames/", {"layer": "motion"}).json()["layers"]
    assert [layer["name"] for layer in only] == ["motion"]
    unknown = api.get(f"{CLIPS}{clip.pk}/frames/", {"layer": "thermal"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "layer"


def test_frames_of_a_clip_not_ready_answer_409(api_as, coder):
    clip = ClipFactory(ingest_status="processing", frame_indices=[], preprocess_meta={})
    response = api_as(coder).get(f"{CLIPS}{clip.pk}/frames/")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "not_ready"


def test_admin_reprocesses_once_at_a_time(api_as, admin_user, ready_clip):
    clip = ready_clip(frames=4)
    api = api_as(admin_user)
    first = api.post(f"{CLIPS}{clip.pk}/reprocess/")
    assert first.status_code == 202 and first.json()["status"] == "queued"
    again = api.post(f"{CLIPS}{clip.pk}/reprocess/")
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "already_processing"
    no_source = ClipFactory()
    refused = api.post(f"{CLIPS}{no_source.pk}/reprocess/")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "no_source"


def test_clip_list_filters_and_orders(api_as, coder):
    casme, samm = DatasetFactory(name="CASME II"), DatasetFactory(name="SAMM")
    a = ClipFactory(subject__dataset=casme, name="EP01")
    b = ClipFactory(subject__dataset=casme, name="EP02", ingest_status="failed")
    c = ClipFactory(subject__dataset=samm, name="006_1")
    api = api_as(coder)
    ids = lambda params: [row["id"] for row in api.get(CLIPS, params).json()["results"]]  # noqa: E731
    assert ids({"dataset": casme.pk, "ordering": "name"}) == [a.pk, b.pk]
    assert ids({"ingest_status": "failed"}) == [b.pk]
    assert ids({"ordering": "-name"}) == [b.pk, a.pk, c.pk]
    assert api.get(CLIPS, {"dataset": 10**12}).status_code == 400


def test_an_admin_changes_a_datasets_coding_plan_and_nobody_else_can(api_as, admin_user, coder):
    dataset = DatasetFactory()
    url = f"/api/v1/datasets/{dataset.pk}/"
    shown = api_as(coder).get(url).json()
    assert (shown["coding_mode"], shown["coders_per_clip"]) == ("blind", 2)
    plan = {"coding_mode": "model_assisted", "coders_per_clip": 1}
    refused = api_as(coder).patch(url, plan, format="json")
    assert refused.status_code == 403
    changed = api_as(admin_user).patch(url, plan, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["coding_mode"], changed.json()["coders_per_clip"]) == (
        "model_assisted",
        1,
    )
    dataset.refresh_from_db()
    assert (dataset.coding_mode, dataset.coders_per_clip) == ("model_assisted", 1)
    bad = api_as(admin_user).patch(
        url, {"coders_per_clip": 0, "coding_mode": "guess"}, format="json"
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"coders_per_clip", "coding_mode"}
    dataset.refresh_from_db()
    assert dataset.coders_per_clip == 1
