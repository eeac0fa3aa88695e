"""Dataset imports and composite exports over the API: admins start them with the paths and
options of the HTML pages, follow them as jobs, and download the finished export's zip."""

import io
import zipfile
from pathlib import Path

import pytest

from annotator import media
from annotator.corpus import preprocessing
from annotator.exchange import exports, imports
from annotator.exchange.jobs import job_options
from annotator.jobs import services as jobs
from annotator.models import Annotation, Clip, Dataset, JobRun
from annotator.tasks import _run_job
from mlcore.datasets.megc import GT_NAME
from mlcore.synth import generate
from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports/"
EXPORTS = "/api/v1/exports/"
SHEET = "CASME2-coding-20140508.xlsx"


@pytest.fixture(scope="module")
def casme2(tmp_path_factory) -> Path:
    """Two subjects with one clip each, in CASME II's own layout (sheet and frame folders)."""
    root = tmp_path_factory.mktemp("casme2")
    generate(
        out_dir=root, layout="casme2", subjects=2, clips_per_subject=1, frames=8, size=(160, 120)
    )
    return root


def start_import(api, django_capture_on_commit_callbacks, **fields):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(IMPORTS, fields, format="json")
    return response, queued


def test_an_admin_imports_exports_and_downloads_the_zip(
    api_as, admin_user, casme2, tmp_path, django_capture_on_commit_callbacks
):
    api = api_as(admin_user)
    response, queued = start_import(
        api,
        django_capture_on_commit_callbacks,
        import_format="casme2",
        annotations=str(casme2 / SHEET),
        frames=str(casme2 / "CASME2_RAW"),
    )
    assert response.status_code == 202, response.json()
    job = response.json()
    assert (job["kind"], job["status"], len(queued)) == ("import", "queued", 1)
    assert response["Location"].endswith(f"{IMPORTS}{job['id']}/")

    # The worker's service, run in-process: the report becomes the job's result.
    _run_job(job["id"], imports.dataset_import_job)
    finished = api.get(f"{IMPORTS}{job['id']}/").json()
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["result"]["dataset"] == "CASME II"
    assert finished["result"]["counts"]["created"] == 2
    assert finished["result"]["issues"] == []
    assert [row["id"] for row in api.get(IMPORTS).json()["results"]] == [job["id"]]
    for preprocess in JobRun.objects.filter(kind=JobRun.Kind.PREPROCESS).order_by("pk"):
        _run_job(preprocess.pk, preprocessing.clip_preprocess_job)
    assert set(Clip.objects.values_list("ingest_status", flat=True)) == {"ready"}

    with django_capture_on_commit_callbacks(execute=False):
        started = api.post(EXPORTS, {"min_status": "adjudicated"}, format="json")
    assert started.status_code == 202, started.json()
    export = started.json()
    download_url = f"{EXPORTS}{export['id']}/download/"
    not_yet = api.get(download_url)
    assert not_yet.status_code == 409
    assert not_yet.json()["errors"][0]["code"] == "not_finished"

    _run_job(export["id"], exports.composite_export_job)
    summary = api.get(f"{EXPORTS}{export['id']}/").json()
    assert summary["status"] == "succeeded", summary["error"]
    assert summary["result"]["clips"] == 2 and summary["progress"] == 1.0

    download = api.get(download_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert f'filename="composite-export-{export["id"]}.zip"' in download["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    exports.composite_export_run(out_dir=tmp_path / "cli")
    assert archive.read(f"composite/{GT_NAME}") == (tmp_path / "cli" / GT_NAME).read_bytes()

    media.export_zip_path(job_run=JobRun.objects.get(pk=export["id"])).unlink()
    gone = api.get(download_url)
    assert gone.status_code == 404
    assert "was removed" in gone.json()["errors"][0]["message"]


def test_import_paths_are_checked_on_the_server_and_nothing_is_queued(
    api_as, admin_user, casme2, tmp_path, settings, django_capture_on_commit_callbacks
):
    api = api_as(admin_user)

    def refused(**fields) -> list[dict]:
        response, queued = start_import(api, django_capture_on_commit_callbacks, **fields)
        assert response.status_code == 400, response.json()
        assert queued == []
        return response.json()["errors"]

    [missing] = refused(import_format="casme2", annotations=str(casme2 / SHEET), frames="/nowhere")
    assert missing["field"] == "frames"
    assert missing["message"] == "Folder /nowhere not found on the server."
    assert refused(import_format="casme2", frames=str(casme2 / "CASME2_RAW")) == [
        {
            "field": "annotations",
            "code": "invalid",
            "message": "This format needs its annotation file.",
        }
    ]
    [too_long] = refused(import_format="smic", frames="x" * 300)
    assert (too_long["field"], too_long["code"]) == ("frames", "unreadable_path")
    assert "File name too long" in too_long["message"]
    [unknown] = refused(import_format="casme3", frames=str(casme2 / "CASME2_RAW"))
    assert unknown["field"] == "import_format"

    settings.DATASET_IMPORT_ROOTS = [str(tmp_path)]
    outside = refused(
        import_format="casme2", annotations=str(casme2 / SHEET), frames=str(casme2 / "CASME2_RAW")
    )
    assert {error["field"] for error in outside} == {"frames", "annotations"}
    assert all("outside the folders imports may read" in error["message"] for error in outside)
    assert not JobRun.objects.exists()


def test_an_export_of_chosen_datasets_carries_them_to_the_job(
    api_as, admin_user, django_capture_on_commit_callbacks
):
    first, second = DatasetFactory(name="CASME II"), DatasetFactory(name="SAMM")
    api = api_as(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(
            EXPORTS,
            {
                "datasets": [second.pk, first.pk, second.pk],
                "min_status": "submitted",
                "megc2019": True,
            },
            format="json",
        )
    assert response.status_code == 202 and len(queued) == 1
    job_run = JobRun.objects.get(pk=response.json()["id"])
    assert job_run.kind == JobRun.Kind.EXPORT
    assert job_options(job_run=job_run) == {
        "dataset_ids": sorted([first.pk, second.pk]),
        "min_status": "submitted",
        "flows": False,
        "megc2019": True,
    }

    unknown = api.post(EXPORTS, {"datasets": [first.pk + second.pk]}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "datasets"
    wrong_status = api.post(EXPORTS, {"min_status": "draft"}, format="json")
    assert wrong_status.json()["errors"][0]["field"] == "min_status"
    assert JobRun.objects.count() == 1


def test_a_failed_export_has_nothing_to_download(api_as, admin_user):
    job_run = JobRun.objects.create(kind=JobRun.Kind.EXPORT, queue="preprocess")
    jobs.job_run_fail(job_run=job_run, error="disk full")
    response = api_as(admin_user).get(f"{EXPORTS}{job_run.pk}/download/")
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "field": None,
            "code": "not_succeeded",
            "message": f"Export {job_run.pk} is failed; only a succeeded export has a file.",
        }
    ]


def test_imports_and_exports_list_only_their_own_kind(api_as, admin_user):
    imported = JobRun.objects.create(kind=JobRun.Kind.IMPORT, queue="preprocess")
    exported = JobRun.objects.create(kind=JobRun.Kind.EXPORT, queue="preprocess")
    api = api_as(admin_user)
    assert [j["id"] for j in api.get(IMPORTS).json()["results"]] == [imported.pk]
    assert [j["id"] for j in api.get(EXPORTS).json()["results"]] == [exported.pk]
    assert api.get(f"{IMPORTS}{exported.pk}/").status_code == 404
    assert api.get(f"{EXPORTS}{imported.pk}/download/").status_code == 404


@pytest.mark.parametrize("role", ["coder", "reviewer"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", IMPORTS),
        ("post", IMPORTS),
        ("get", EXPORTS),
        ("post", EXPORTS),
        ("get", EXPORTS + "{export}/download/"),
    ],
)
def test_only_admins_import_and_export(api_as, role, method, url):
    from tests.factories import UserFactory

    export = JobRun.objects.create(kind=JobRun.Kind.EXPORT, queue="preprocess")
    api = api_as(UserFactory(username=f"a-{role}", role=role))
    response = getattr(api, method)(url.format(export=export.pk), {}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "Your role does not allow this."
    assert JobRun.objects.count() == 1
    assert not Dataset.objects.exists() and not Annotation.objects.exists()
