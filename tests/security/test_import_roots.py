"""Imports read only inside their frames root (issue 17, item 1).

An admin names a frames folder inside MESTUDIO_IMPORT_ROOTS; the sheet then names each clip's
folder. Every way a row could lead elsewhere is tried here, through every door an import has
(the service, `manage.py import_dataset`, the HTML page and the API, the last two run by the
worker's service): an absolute or climbing path in a generic CSV's ``frames`` column, a climb
into a sibling folder that is inside the roots but not inside the frames root, a subject or
clip named ``..``, a CASME II ``Filename`` of ``../../../outside/clip``, SMIC-HS sub-folders that
are links, a linked clip folder and a linked frame file. Each is refused for its row, the good
rows are imported, no frame from outside becomes a clip, and nothing the door shows names the
outside folders or tells whether they exist.
"""

import io
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import Workbook
from rest_framework.test import APIClient

from annotator.exchange import services as exchange
from annotator.exchange.imports import dataset_import_job, dataset_import_run
from annotator.models import Clip, JobRun
from annotator.tasks import _run_job
from mlcore.datasets.common import OUTSIDE_ROOT
from mlcore.synth.sheets import CASME2_HEADER

pytestmark = pytest.mark.django_db

DOORS = ("service", "command", "page", "api")
FORMATS = ("generic-csv", "casme2", "smic")
FRAMES = range(1, 13)
REFUSED = "outside the import root"


def write_frames(folder: Path, numbers=FRAMES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    image = np.full((8, 8, 3), 128, dtype=np.uint8)
    for number in numbers:
        cv2.imwrite(str(folder / f"img{number}.jpg"), image)


@dataclass
class Hostile:
    """One import's files: the good clips it must take and the rows or folders it must refuse."""

    import_format: str
    frames: Path  # the frames root the admin names
    annotations: Path | None
    good: set[str]  # clip names imported
    refused: list[tuple[int | None, str, str]]  # (row, subject, clip) of each refusal
    secrets: list[Path]  # folders outside the frames root holding frames


def build_outside(tmp_path: Path) -> tuple[Path, Path]:
    """Frames outside every root, and frames in a sibling of the frames roots (inside the
    configured roots, but not inside any import's frames root)."""
    outside = tmp_path / "outside"
    write_frames(outside / "clip")
    write_frames(outside / "s9" / "micro" / "negative" / "s9_ne_01")
    sibling = tmp_path / "imports" / "sibling"
    write_frames(sibling / "clip")
    return outside, sibling


def generic_csv(imports: Path, outside: Path) -> Hostile:
    root = imports / "frames"
    write_frames(root / "p01" / "good_a")
    write_frames(root / "p02" / "good_b")
    (root / "p01").mkdir(parents=True, exist_ok=True)
    (root / "p01" / "linked").symlink_to(outside / "clip", target_is_directory=True)
    write_frames(root / "p01" / "frame_link", range(1, 10))
    (root / "p01" / "frame_link" / "img10.jpg").symlink_to(outside / "clip" / "img10.jpg")
    rows = [
        ("p01", "good_a", ""),
        ("p01", "absolute", str(outside / "clip")),
        ("p01", "climb", "../../outside/clip"),
        ("p01", "sibling", "../sibling/clip"),
        ("..", "outside", ""),
        ("p01", "..", ""),
        ("p01", "linked", ""),
        ("p01", "frame_link", ""),
        ("p02", "good_b", ""),
    ]
    lines = ["subject,clip,onset,apex,offset,emotion,frames"]
    lines += [f"{subject},{clip},2,5,9,happiness,{frames}" for subject, clip, frames in rows]
    annotations = imports / "labels.csv"
    annotations.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Hostile(
        import_format="generic-csv",
        frames=root,
        annotations=annotations,
        good={"good_a", "good_b"},
        refused=[
            (line, subject, clip)
            for line, (subject, clip, _) in enumerate(rows, start=2)
            if not clip.startswith("good")
        ],
        secrets=[outside / "clip", imports / "sibling" / "clip"],
    )


def casme2_sheet(imports: Path, outside: Path) -> Hostile:
    root = imports / "CASME2_RAW"
    write_frames(root / "sub01" / "EP01_01")
    write_frames(root / "sub02" / "EP02_01f")
    (root / "sub01" / "linked").symlink_to(outside / "clip", target_is_directory=True)
    climb = os.path.relpath(outside / "clip", root / "sub01")
    assert climb.startswith("../../../")  # the shape the probe used
    clips = [("01", "EP01_01"), ("01", climb), ("01", ".."), ("01", "linked"), ("02", "EP02_01f")]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(CASME2_HEADER))
    for subject, clip in clips:
        sheet.append([subject, clip, None, 2, 5, 9, None, "4", "disgust"])
    annotations = imports / "CASME2-coding.xlsx"
    workbook.save(annotations)
    return Hostile(
        import_format="casme2",
        frames=root,
        annotations=annotations,
        good={"EP01_01", "EP02_01f"},
        refused=[(3, "01", climb), (4, "01", ".."), (5, "01", "linked")],
        secrets=[outside / "clip"],
    )


def smic_folders(imports: Path, outside: Path) -> Hostile:
    root = imports / "SMIC"
    negative = root / "s1" / "micro" / "negative"
    write_frames(negative / "s1_ne_01")
    secret = outside / "s9" / "micro" / "negative" / "s9_ne_01"
    (negative / "s1_ne_02").symlink_to(secret, target_is_directory=True)
    write_frames(negative / "s1_ne_03", range(1, 10))
    (negative / "s1_ne_03" / "img10.jpg").symlink_to(secret / "img10.jpg")
    (root / "s2").symlink_to(outside / "s9", target_is_directory=True)
    (root / "s3").mkdir()
    (root / "s3" / "micro").symlink_to(outside / "s9" / "micro", target_is_directory=True)
    (root / "s4" / "micro").mkdir(parents=True)
    (root / "s4" / "micro" / "negative").symlink_to(
        outside / "s9" / "micro" / "negative", target_is_directory=True
    )
    write_frames(root / "s5" / "micro" / "positive" / "s5_po_01")
    return Hostile(
        import_format="smic",
        frames=root,
        annotations=None,
        good={"s1_ne_01", "s5_po_01"},
        refused=[
            (None, "s1", "s1_ne_02"),
            (None, "s1", "s1_ne_03"),
            (None, "s2", ""),
            (None, "s3", ""),
            (None, "s4", "negative"),
        ],
        secrets=[outside / "s9"],
    )


BUILDERS = {"generic-csv": generic_csv, "casme2": casme2_sheet, "smic": smic_folders}


@pytest.fixture
def imports(tmp_path, settings) -> Path:
    """The configured import root; ``outside`` and its sibling hold frames no import may read."""
    root = tmp_path / "imports"
    root.mkdir()
    settings.DATASET_IMPORT_ROOTS = [str(root)]
    return root


def run_import(door: str, hostile: Hostile, *, user, dataset: str, capture) -> tuple[dict, str]:
    """Import through ``door``; returns the report and all the text the door shows."""
    fields = {
        "import_format": hostile.import_format,
        "frames": str(hostile.frames),
        "annotations": str(hostile.annotations) if hostile.annotations else "",
        "dataset_name": dataset,
        "default_fps": 30,
    }
    if door == "service":
        report = dataset_import_run(
            import_format=hostile.import_format,
            frames=hostile.frames,
            annotations=hostile.annotations,
            dataset_name=dataset,
            default_fps=30,
            user=user,
            preprocess=False,
        )
        return report, json.dumps(report)
    if door == "command":
        report_path = hostile.frames.parent / f"{dataset}.json"
        annotations = ["--annotations", str(hostile.annotations)] if hostile.annotations else []
        stdout = io.StringIO()
        call_command(
            "import_dataset",
            "--format",
            hostile.import_format,
            "--frames",
            str(hostile.frames),
            *annotations,
            "--dataset",
            dataset,
            "--fps",
            "30",
            "--user",
            user.username,
            "--no-preprocess",
            "--report",
            str(report_path),
            stdout=stdout,
            verbosity=0,
        )
        text = report_path.read_text()
        return json.loads(text), stdout.getvalue() + text
    if door == "page":
        client = _logged_in(user, api=False)
        with capture(execute=False):
            response = client.post(reverse("dataset-import"), {**fields, "preprocess": ""})
        assert response.status_code == 302, response.content.decode()
        job_run = _run_latest_import()
        page = client.get(reverse("dataset-import-report", args=[job_run.pk]))
        return job_run.result, page.content.decode()
    api = _logged_in(user, api=True)
    with capture(execute=False):
        response = api.post("/api/v1/imports/", {**fields, "preprocess": False}, format="json")
    assert response.status_code == 202, response.json()
    job_run = _run_latest_import()
    detail = api.get(f"/api/v1/imports/{job_run.pk}/")
    return job_run.result, detail.content.decode()


def _logged_in(user, *, api: bool):
    from django.test import Client

    client = APIClient() if api else Client()
    client.force_login(user)
    return client


def _run_latest_import() -> JobRun:
    """What the worker does with the queued import: the job's own service."""
    job_run = JobRun.objects.filter(kind=JobRun.Kind.IMPORT).latest("pk")
    _run_job(job_run.pk, dataset_import_job)
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    return job_run


def assert_refused_and_confined(hostile: Hostile, report: dict, shown: str) -> None:
    refusals = [i for i in report["issues"] if i["severity"] == "error"]
    assert [(i["row"], i["subject"], i["clip"]) for i in refusals] == hostile.refused
    for issue in refusals:
        assert issue["code"] == OUTSIDE_ROOT, issue
        assert REFUSED in issue["message"], issue
    # The good rows are taken; no clip reads frames from anywhere but the frames root.
    clips = Clip.objects.filter(subject__dataset_id=report["dataset_id"])
    assert set(clips.values_list("name", flat=True)) == hostile.good
    root = hostile.frames.resolve()
    for source in clips.values_list("source_path", flat=True):
        assert Path(source).is_relative_to(root), source
    for secret in hostile.secrets:
        for spelling in {str(secret), str(secret.resolve()), str(secret.parent.resolve())}:
            assert spelling not in shown


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("import_format", FORMATS)
def test_every_door_refuses_rows_leading_outside_the_frames_root(
    door, import_format, imports, admin_user, django_capture_on_commit_callbacks
):
    outside, _ = build_outside(imports.parent)
    hostile = BUILDERS[import_format](imports, outside)
    report, shown = run_import(
        door,
        hostile,
        user=admin_user,
        dataset=f"hostile {import_format}",
        capture=django_capture_on_commit_callbacks,
    )
    assert report["counts"]["created"] == len(hostile.good)
    assert_refused_and_confined(hostile, report, shown)


@pytest.mark.parametrize("import_format", FORMATS)
def test_a_refusal_reads_the_same_whether_the_outside_folder_exists_or_not(
    import_format, imports, admin_user
):
    outside, sibling = build_outside(imports.parent)
    hostile = BUILDERS[import_format](imports, outside)
    options = {
        "import_format": import_format,
        "frames": hostile.frames,
        "annotations": hostile.annotations,
        "default_fps": 30,
        "user": admin_user,
        "preprocess": False,
    }
    existing = dataset_import_run(**options, dataset_name="while they exist")
    shutil.rmtree(outside)
    shutil.rmtree(sibling)
    missing = dataset_import_run(**options, dataset_name="once they are gone")
    assert existing["issues"] == missing["issues"]
    assert existing["counts"] == missing["counts"]
    assert [i for i in missing["issues"] if i["code"] == OUTSIDE_ROOT]


def test_refused_rows_lose_nothing_already_imported(imports, admin_user):
    """A re-import of the dataset's sheet, now with hostile rows, keeps every earlier clip."""
    outside, _ = build_outside(imports.parent)
    hostile = generic_csv(imports, outside)
    options = {
        "import_format": "generic-csv",
        "frames": hostile.frames,
        "default_fps": 30,
        "user": admin_user,
        "preprocess": False,
        "dataset_name": "lab",
    }
    clean = imports / "clean.csv"
    clean.write_text(
        "subject,clip,onset,apex,offset,emotion\np01,good_a,2,5,9,happiness\n", encoding="utf-8"
    )
    first = dataset_import_run(**options, annotations=clean)
    assert first["counts"]["created"] == 1
    before = list(Clip.objects.values_list("pk", "name", "source_path", "updated_at"))
    again = dataset_import_run(**options, annotations=hostile.annotations)
    assert again["counts"]["unchanged"] == 1 and again["counts"]["created"] == 1
    assert before[0] in list(Clip.objects.values_list("pk", "name", "source_path", "updated_at"))
    assert_refused_and_confined(hostile, again, json.dumps(again))


def test_the_command_and_the_worker_check_the_configured_roots_themselves(
    imports, admin_user, settings, django_capture_on_commit_callbacks
):
    """The command reaches the import service without the start service's check, and a queued
    job may run after the roots were narrowed: both refuse before reading anything."""
    outside, _ = build_outside(imports.parent)
    hostile = generic_csv(imports, outside)
    with pytest.raises(CommandError, match="outside the folders imports may read"):
        call_command(
            "import_dataset",
            "--format",
            "generic-csv",
            "--frames",
            str(outside),
            "--annotations",
            str(hostile.annotations),
            "--fps",
            "30",
            "--user",
            admin_user.username,
            "--no-preprocess",
            verbosity=0,
        )
    with django_capture_on_commit_callbacks(execute=False):
        queued = exchange.dataset_import_start(
            created_by=admin_user,
            import_format="generic-csv",
            frames=str(hostile.frames),
            annotations=str(hostile.annotations),
            default_fps=30,
            preprocess=False,
        )
    settings.DATASET_IMPORT_ROOTS = [str(imports / "sibling")]
    _run_job(queued.pk, dataset_import_job)
    queued.refresh_from_db()
    assert queued.status == JobRun.Status.FAILED
    assert "outside the folders imports may read" in queued.error
    assert not Clip.objects.exists()


@pytest.mark.parametrize("api", [False, True])
def test_the_import_form_answers_the_same_for_any_path_outside_the_roots(
    imports, tmp_path, admin_user, api
):
    """The form's own check of the two paths it is given: a path outside the roots is refused
    before the server looks for it, so the answer does not tell whether it exists."""
    existing = tmp_path / "elsewhere"
    existing.mkdir()
    answers = []
    for folder in (existing, tmp_path / "no-such-folder"):
        fields = {
            "import_format": "generic-csv",
            "frames": str(folder),
            "annotations": "",
            "dataset_name": "probe",
            "default_fps": 30,
        }
        client = _logged_in(admin_user, api=api)
        if api:
            response = client.post("/api/v1/imports/", fields, format="json")
            assert response.status_code == 400
            answers.append(response.json()["errors"][0]["message"].replace(str(folder), "X"))
        else:
            response = client.post(reverse("dataset-import"), {**fields, "preprocess": ""})
            assert response.status_code == 400
            page = response.content.decode().replace(str(folder), "X")
            answers.append(re.findall(r'class="error[^"]*"[^>]*>([^<]+)<', page))
    assert answers[0] == answers[1]
    assert not JobRun.objects.filter(kind=JobRun.Kind.IMPORT).exists()


def test_preprocessing_reads_an_imported_folder_only_inside_the_roots(
    imports, tmp_path, admin_user, django_capture_on_commit_callbacks
):
    """Preprocessing reads the folder an import stored later: a clip imported before the roots
    were set, or a frame swapped for a link since the import, is refused and nothing is read."""
    from annotator.corpus import preprocessing
    from annotator.corpus import services as corpus
    from tests.factories import ClipFactory

    outside = tmp_path / "outside"
    write_frames(outside / "clip")
    inside = imports / "frames" / "clip"
    write_frames(inside)
    (inside / "img12.jpg").unlink()
    (inside / "img12.jpg").symlink_to(outside / "clip" / "img12.jpg")
    for folder, message in [
        (outside / "clip", "is outside the folders imports may read"),
        (inside, "Frame file img12.jpg of clip links outside the folders imports may read"),
    ]:
        clip = ClipFactory(source_path=str(folder))
        served = clip.media_version
        with django_capture_on_commit_callbacks(execute=False):
            job_run = corpus.clip_preprocess_start(clip=clip, created_by=admin_user)
        _run_job(job_run.pk, preprocessing.clip_preprocess_job)
        job_run.refresh_from_db()
        assert job_run.status == JobRun.Status.FAILED and message in job_run.error
        clip.refresh_from_db()
        assert clip.ingest_status == Clip.IngestStatus.FAILED
        assert message in clip.ingest_error
        assert clip.media_version == served  # nothing new was made from the frames
