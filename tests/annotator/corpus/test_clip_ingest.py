"""Upload and preprocessing of clips: validation before saving, the preprocessing service on real
files, failures that keep the upload, and frames served with long-lived caching."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotator.corpus import preprocessing
from annotator.corpus import services as corpus
from annotator.models import Clip, JobRun
from tests.clip_files import frames_zip_bytes, png_declaring, write_video
from tests.factories import DatasetFactory, SubjectFactory

pytestmark = pytest.mark.django_db


def upload_of(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def new_clip(name="EP02_01f") -> Clip:
    return Clip(subject=SubjectFactory(), name=name, fps=200.0)


def run_preprocessing(job_run: JobRun) -> Clip:
    """The worker's service, called in-process; the real worker path is tested end to end."""
    from annotator.tasks import _run_job

    _run_job(job_run.pk, preprocessing.clip_preprocess_job)
    return Clip.objects.get(pk=job_run.clip_id)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("clip.txt", b"hello", "upload a video"),
        ("clip.mp4", b"definitely not a video at all", "does not contain mp4 data"),
        ("clip.zip", b"PK\x03\x04 broken", "not a readable zip"),
    ],
)
def test_wrong_files_are_refused_before_saving(name, content, message, admin_user):
    with pytest.raises(ValidationError, match=message):
        corpus.clip_upload(clip=new_clip(), upload=upload_of(name, content), created_by=admin_user)
    assert not Clip.objects.exists()


def test_zip_with_parent_paths_is_refused(admin_user):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../etc/img1.jpg", b"x")
    with pytest.raises(ValidationError, match="points outside the clip"):
        corpus.clip_upload(
            clip=new_clip(), upload=upload_of("c.zip", buffer.getvalue()), created_by=admin_user
        )


def test_huge_upload_is_refused(admin_user, settings):
    settings.MAX_UPLOAD_BYTES = 1024
    with pytest.raises(ValidationError, match="the limit is 0 MiB"):
        corpus.clip_upload(
            clip=new_clip(), upload=upload_of("c.zip", frames_zip_bytes()), created_by=admin_user
        )


def test_zip_of_frames_is_preprocessed_keeping_source_numbers(
    admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job_run = corpus.clip_upload(
            clip=new_clip(),
            upload=upload_of("EP02_01f.zip", frames_zip_bytes()),
            created_by=admin_user,
        )
    clip = run_preprocessing(job_run)
    assert clip.ingest_status == Clip.IngestStatus.READY, clip.ingest_error
    assert clip.frame_indices == list(range(46, 54))
    assert (clip.width, clip.height) == (640, 480)
    assert clip.preprocess_meta["detector"] == "haar"
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED and job_run.progress == 1.0


def test_video_is_preprocessed_and_frames_are_served_with_caching(
    admin_user, client, tmp_path, django_capture_on_commit_callbacks
):
    video = write_video(tmp_path / "clip.mp4", count=10, fps=200.0)
    with django_capture_on_commit_callbacks(execute=False):
        job_run = corpus.clip_upload(
            clip=new_clip(), upload=upload_of("clip.mp4", video.read_bytes()), created_by=admin_user
        )
    clip = run_preprocessing(job_run)
    assert clip.ingest_status == Clip.IngestStatus.READY, clip.ingest_error
    assert clip.frame_indices == list(range(1, 11))
    assert clip.fps == pytest.approx(200.0)

    client.force_login(admin_user)
    for layer in ("frame", "aligned-112", "aligned-224", "motion"):
        url = reverse("clip-media", args=[clip.pk, clip.media_version, layer, 5])
        response = client.get(url)
        assert response.status_code == 200, layer
        assert response["Content-Type"] == "image/jpeg"
        assert "immutable" in response["Cache-Control"]
        assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    past_the_end = reverse("clip-media", args=[clip.pk, clip.media_version, "frame", 11])
    assert client.get(past_the_end).status_code == 404
    stale_version = reverse("clip-media", args=[clip.pk, clip.media_version + 1, "frame", 5])
    assert client.get(stale_version).status_code == 404


def test_failed_ingest_keeps_the_upload_and_shows_the_error(
    admin_user, client, django_capture_on_commit_callbacks
):
    truncated = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000
    with django_capture_on_commit_callbacks(execute=False):
        job_run = corpus.clip_upload(
            clip=new_clip(), upload=upload_of("broken.mp4", truncated), created_by=admin_user
        )
    clip = run_preprocessing(job_run)
    assert clip.ingest_status == Clip.IngestStatus.FAILED
    assert "broken" in clip.ingest_error
    assert clip.source and clip.source.storage.exists(clip.source.name)
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.FAILED
    client.force_login(admin_user)
    page = client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert "Ingest failed" in page and "broken" in page


def test_upload_form_shows_errors_next_to_fields(admin_user, client):
    DatasetFactory(name="CASME II")
    client.force_login(admin_user)
    response = client.post(
        reverse("clip-upload"),
        {"dataset": "", "subject_code": "", "source": upload_of("x.exe", b"MZ")},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "dataset" in errors and "subject_code" in errors
    assert "upload a video" in errors["source"][0]


def test_upload_needs_permission(coder, client):
    client.force_login(coder)
    assert client.get(reverse("clip-upload")).status_code == 403


def test_admin_upload_starts_preprocessing(admin_user, client, django_capture_on_commit_callbacks):
    subject = SubjectFactory()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("admin:annotator_clip_add"),
            {
                "subject": subject.pk,
                "name": "EP02_01f",
                "fps": "200",
                "upload": upload_of("EP02_01f.zip", frames_zip_bytes(count=4)),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    clip = Clip.objects.get()
    assert clip.ingest_status == Clip.IngestStatus.PENDING
    assert clip.job_runs.get().kind == JobRun.Kind.PREPROCESS


def test_a_zip_of_frames_declaring_huge_images_fails_with_a_clear_message(
    admin_user, client, django_capture_on_commit_callbacks
):
    """The probe's pixel bomb: two PNGs of 12000x12000 in a small zip. The worker refuses it from
    the headers, without decoding a frame, and the clip can be uploaded again."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in (1, 2):
            archive.writestr(f"img{number}.png", png_declaring(12000, 12000))
    with django_capture_on_commit_callbacks(execute=False):
        job_run = corpus.clip_upload(
            clip=new_clip(), upload=upload_of("bomb.zip", buffer.getvalue()), created_by=admin_user
        )
    clip = run_preprocessing(job_run)
    assert clip.ingest_status == Clip.IngestStatus.FAILED
    assert "12000x12000 (144.0 megapixels)" in clip.ingest_error
    assert "at most 16.8 megapixels per frame" in clip.ingest_error
    client.force_login(admin_user)
    page = client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert "144.0 megapixels" in page
