"""The whole loop on a real Celery worker: the import page queues an import, the worker imports
and preprocesses the clips, the export page's job writes a zip that mlcore reads."""

import io
import zipfile

import pytest
from django.urls import reverse

from annotator.models import Clip, JobRun
from mlcore.composite import read_manifest
from mlcore.synth import generate
from tests.waiting import wait_for

pytestmark = pytest.mark.worker


def test_import_preprocess_and_export_on_the_worker(
    celery_worker_process, client, admin_user, tmp_path
) -> None:
    generate(
        out_dir=tmp_path / "samm",
        layout="samm",
        subjects=2,
        clips_per_subject=2,
        frames=12,
        size=(160, 120),
    )
    client.force_login(admin_user)
    response = client.post(
        reverse("dataset-import"),
        {
            "import_format": "samm",
            "annotations": str(tmp_path / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"),
            "frames": str(tmp_path / "samm" / "SAMM"),
            "preprocess": "on",
        },
    )
    assert response.status_code == 302
    job_run = JobRun.objects.get(kind=JobRun.Kind.IMPORT)
    wait_for(lambda: JobRun.objects.get(pk=job_run.pk).is_finished, timeout=60, what="import")
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    assert job_run.result["counts"]["preprocess_queued"] == 4
    wait_for(
        lambda: set(Clip.objects.values_list("ingest_status", flat=True)) == {"ready"},
        timeout=120,
        what="preprocessing of the imported clips",
    )
    report = client.get(reverse("dataset-import-report", args=[job_run.pk]))
    assert b"4 created" in report.content

    client.post(reverse("composite-export"), {"min_status": "adjudicated", "flows": "on"})
    export = JobRun.objects.get(kind=JobRun.Kind.EXPORT)
    wait_for(lambda: JobRun.objects.get(pk=export.pk).is_finished, timeout=120, what="export")
    export.refresh_from_db()
    assert export.status == JobRun.Status.SUCCEEDED, export.error
    download = client.get(reverse("composite-export-download", args=[export.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    archive.extractall(tmp_path / "unzipped")
    samples = read_manifest(tmp_path / "unzipped" / "composite")
    assert len(samples) == export.result["clips"] == 4
    assert {s.subject for s in samples} == {"6", "7"}
