"""Requests that once answered 500 (the probe's list) now get the 4xx they deserve, through the
real server: an oversize HTML upload, uploads of one clip name at once, activations at once, a
JSON body nested 100,000 levels deep, and clip names that break a download's header."""

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotator.accounts.tokens import token_create
from annotator.coding import services as coding_services
from annotator.corpus import services as corpus
from annotator.models import Clip, Coding, ModelVersion, Subject
from tests.annotator.support.proposals import model_version
from tests.clip_files import frames_zip_bytes
from tests.factories import ClipFactory, DatasetFactory, SubjectFactory


def at_once(count: int, request) -> list:
    """`count` calls of `request()` released together from threads, as parallel clients."""
    barrier = threading.Barrier(count)
    answers = [None] * count

    def call(index: int) -> None:
        barrier.wait()
        answers[index] = request()

    threads = [threading.Thread(target=call, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "mestudio-probe-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"; '
        f'filename="{file_name}"\r\nContent-Type: application/zip\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def status_of(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.django_db
def test_an_oversize_html_upload_is_a_413_with_the_reason(client, admin_user, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    dataset = DatasetFactory(name="CASME II")
    client.force_login(admin_user)
    response = client.post(
        reverse("clip-upload"),
        {
            "dataset": dataset.pk,
            "subject_code": "01",
            "source": SimpleUploadedFile("big.zip", b"PK\x03\x04" + b"\x00" * 200_000),
        },
    )
    assert response.status_code == 413
    assert "The upload is larger than 0 MiB." in response.content.decode()
    assert not Clip.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_six_uploads_of_one_clip_name_at_once_make_one_clip(live_server, admin_user):
    dataset = DatasetFactory(name="CASME II")
    key = token_create(user=admin_user).key
    body, content_type = multipart(
        {"dataset": str(dataset.pk), "subject_code": "01", "name": "EP02_01f"},
        "EP02_01f.zip",
        frames_zip_bytes(count=3),
    )

    def upload():
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/clips/",
            data=body,
            method="POST",
            headers={"Authorization": f"Token {key}", "Content-Type": content_type},
        )
        return status_of(request)

    answers = at_once(6, upload)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [202, 400, 400, 400, 400, 400], answers
    for status, body_json in answers:
        if status == 400:
            [error] = body_json["errors"]
            assert (error["field"], error["code"]) == ("name", "unique")
            assert "already has a clip 'EP02_01f' for subject 01" in error["message"]
    assert Clip.objects.filter(name="EP02_01f").count() == 1
    assert Subject.objects.filter(dataset=dataset, code="01").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_activations_at_once_leave_exactly_one_active_version(live_server, admin_user):
    versions = [model_version(active=False) for _ in range(4)]
    key = token_create(user=admin_user).key

    def activate(version: ModelVersion):
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/model-versions/{version.pk}/activate/",
            data=b"",
            method="POST",
            headers={"Authorization": f"Token {key}"},
        )
        return status_of(request)

    calls = iter([versions[index % 4] for index in range(20)])
    lock = threading.Lock()

    def next_activation():
        with lock:
            version = next(calls)
        return activate(version)

    answers = at_once(20, next_activation)
    assert {status for status, _ in answers} == {202}, answers
    assert ModelVersion.objects.filter(is_active=True).count() == 1


@pytest.mark.django_db
def test_a_json_body_nested_100000_levels_deep_is_a_parse_error(api_as, coder):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = api_as(coder).generic(
        "POST", "/api/v1/annotations/", deep, content_type="application/json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "parse_error" and "nested too deeply" in error["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "EP02\nContent-Type: text/html"), ("name", ".."), ("subject_code", "..")],
)
def test_names_that_would_break_a_header_or_a_path_are_refused_at_every_door(
    client, api_as, admin_user, field, value
):
    dataset = DatasetFactory(name="CASME II")
    fields = {"dataset": dataset.pk, "subject_code": "01", "name": "EP02_01f", field: value}
    client.force_login(admin_user)
    page = client.post(
        reverse("clip-upload"),
        {**fields, "source": SimpleUploadedFile("c.zip", frames_zip_bytes(count=2))},
    )
    assert page.status_code == 400
    assert "Use letters, digits" in page.content.decode()
    api = api_as(admin_user).post(
        "/api/v1/clips/",
        {**fields, "source": SimpleUploadedFile("c.zip", frames_zip_bytes(count=2))},
        format="multipart",
    )
    assert api.status_code == 400
    [error] = api.json()["errors"]
    assert error["field"] == field and "Use letters, digits" in error["message"]
    assert not Clip.objects.exists()


@pytest.mark.django_db
def test_the_upload_service_refuses_what_the_doors_would_trim(admin_user):
    """The page and the API trim whitespace; the service (admin, scripts) checks the raw name."""
    with pytest.raises(ValidationError, match="Use letters, digits"):
        corpus.clip_upload(
            clip=Clip(subject=SubjectFactory(), name="EP02_01f\n", fps=200.0),
            upload=SimpleUploadedFile("c.zip", frames_zip_bytes(count=2)),
            created_by=admin_user,
        )
    assert not Clip.objects.exists()


@pytest.mark.django_db
def test_a_stored_clip_name_with_a_newline_still_downloads_as_elan(client, admin_user):
    """Names stored before they were validated (imports write them directly) still download."""
    dataset = DatasetFactory(name="CASME II", source_format="casme2")
    clip = ClipFactory(subject=SubjectFactory(dataset=dataset, code="01"), name="EP02\n01f")
    final = coding_services.annotation_adjudicate(
        clip=clip,
        reviewer=admin_user,
        based_on=None,
        revision=None,
        coding=Coding(
            onset=50,
            apex=61,
            offset=90,
            emotion=dataset.emotions.get(name="repression"),
            action_units=[],
            notes="",
        ),
    )
    client.force_login(admin_user)
    download = client.get(reverse("clip-eaf-download", args=[clip.pk, final.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert "\n" not in download["Content-Disposition"]
