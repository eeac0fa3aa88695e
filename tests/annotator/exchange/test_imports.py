"""Importing datasets: the synthetic CASME II / SAMM / SMIC-HS sets in their native layouts,
idempotent re-imports, changed rows, the validation report, the CLI and the admin pages."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from annotator.errors import InvalidRequestError
from annotator.exchange import imports
from annotator.exchange import services as exchange
from annotator.models import Annotation, Clip, Coding, Dataset, JobRun
from mlcore.facs import parse_au_string
from mlcore.synth import generate, load_truth
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SMALL = {"subjects": 2, "clips_per_subject": 2, "frames": 12, "size": (160, 120)}
NATIVE = {
    "casme2": ("CASME2-coding-20140508.xlsx", "CASME2_RAW"),
    "samm": ("SAMM_Micro_FACS_Codes_v2.xlsx", "SAMM"),
    "smic": (None, "SMIC/HS"),
}


@pytest.fixture(scope="module")
def synth_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    for layout in NATIVE:
        generate(out_dir=root / layout, layout=layout, **SMALL)
    return {layout: root / layout for layout in NATIVE}


def import_native(folder: Path, layout: str, user, **options) -> dict:
    sheet, frames = NATIVE[layout]
    return imports.dataset_import_run(
        import_format=layout,
        annotations=folder / sheet if sheet else None,
        frames=folder / frames,
        user=user,
        **{"preprocess": False, **options},
    )


@pytest.mark.parametrize("layout", ["casme2", "samm", "smic"])
def test_native_layout_imports_as_adjudicated_ground_truth(synth_sets, admin_user, layout) -> None:
    report = import_native(synth_sets[layout], layout, admin_user)
    assert report["counts"]["created"] == 4 and report["issues"] == []
    dataset = Dataset.objects.get(name=report["dataset"])
    assert dataset.source_format == layout
    truth = {clip["clip"]: clip for clip in load_truth(synth_sets[layout])["clips"]}
    annotations = Annotation.objects.filter(clip__subject__dataset=dataset).select_related(
        "clip__subject", "emotion"
    )
    assert annotations.count() == 4
    for annotation in annotations:
        expected = truth[annotation.clip.name]
        marks = expected["annotated"]
        assert (annotation.onset, annotation.apex, annotation.offset) == (
            marks["onset"],
            marks["apex"],
            marks["offset"],
        )
        assert annotation.status == Annotation.Status.ADJUDICATED
        assert annotation.provenance == Annotation.Provenance.IMPORTED
        assert annotation.coder == admin_user
        assert annotation.emotion.name == expected["emotion"].lower()
        assert annotation.emotion.composite_class == expected["composite_class"]
        assert annotation.au_codes == parse_au_string(expected["aus"])
        clip = annotation.clip
        assert clip.frame_indices == expected["frame_indices"]
        assert Path(clip.source_path) == (synth_sets[layout] / expected["frames_dir"]).resolve()
        assert clip.ingest_status == Clip.IngestStatus.PENDING
    # Subject codes are stored as the source writes them.
    codes = set(dataset.subjects.values_list("code", flat=True))
    assert codes == {"casme2": {"01", "02"}, "samm": {"006", "007"}, "smic": {"s1", "s2"}}[layout]


def test_importing_the_same_files_again_changes_nothing(synth_sets, admin_user) -> None:
    import_native(synth_sets["casme2"], "casme2", admin_user)
    before = list(
        Annotation.objects.order_by("pk").values("pk", "revision", "updated_at", "onset", "apex")
    )
    clips_before = list(Clip.objects.order_by("pk").values("pk", "updated_at"))
    again = import_native(synth_sets["casme2"], "casme2", admin_user)
    assert again["counts"]["unchanged"] == 4
    assert again["counts"]["created"] == again["counts"]["updated"] == 0
    assert (
        list(
            Annotation.objects.order_by("pk").values(
                "pk", "revision", "updated_at", "onset", "apex"
            )
        )
        == before
    )
    assert list(Clip.objects.order_by("pk").values("pk", "updated_at")) == clips_before


def test_a_changed_row_updates_its_annotation_and_says_so(tmp_path, admin_user) -> None:
    generate(out_dir=tmp_path / "c", layout="casme2", **SMALL)
    import_native(tmp_path / "c", "casme2", admin_user)
    sheet_path = tmp_path / "c" / NATIVE["casme2"][0]
    workbook = load_workbook(sheet_path)
    sheet = workbook.active
    clip_name, old_apex = sheet.cell(row=2, column=2).value, sheet.cell(row=2, column=5).value
    sheet.cell(row=2, column=5, value=old_apex + 1)
    sheet.cell(row=2, column=9, value="surprise")
    workbook.save(sheet_path)

    report = import_native(tmp_path / "c", "casme2", admin_user)
    assert report["counts"] | {"updated": 1, "unchanged": 3} == report["counts"]
    (updated,) = report["updated"]
    assert updated["row"] == 2 and updated["clip"] == clip_name
    assert updated["changes"]["apex"] == [old_apex, old_apex + 1]
    assert updated["changes"]["emotion"][1] == "surprise"
    annotation = Annotation.objects.get(clip__name=clip_name)
    assert (annotation.apex, annotation.emotion.name, annotation.revision) == (
        old_apex + 1,
        "surprise",
        2,
    )


def test_quirky_sheet_report_lists_every_row_not_taken_or_interpreted(client, tmp_path, admin_user):
    from tests.mlcore.test_dataset_sheets import _casme2_sheet, _frames

    frames = tmp_path / "CASME2_RAW"
    for clip in ("EP01_01", "EP01_02", "EP01_03", "EP01_04"):
        _frames(frames / "sub01" / clip, range(10, 31))
    sheet = _casme2_sheet(
        tmp_path / "coding.xlsx",
        [
            ["01", "EP01_01", None, 12, 20, 28, None, "4+L10", "disgust"],
            ["01", "EP01_02", None, 12, "/", 28, None, "12", "happiness"],
            ["01", "EP01_03", None, 12, 20, 45, None, "R12+AU99", "Happiness"],
            ["01", "EP01_04", None, 12, 40, 28, None, "", "hapiness"],
            ["01", "EP07_07", None, 12, 20, 28, None, "4", "disgust"],
            ["01", "EP01_01", None, 12, 20, 28, None, "4+L10", "disgust"],
        ],
    )
    report = imports.dataset_import_run(
        import_format="casme2", annotations=sheet, frames=frames, user=admin_user, preprocess=False
    )
    assert report["counts"]["created"] == 4
    assert report["counts"]["not_taken"] == 1  # the missing folder; the repeat is a warning
    rows = [(issue["row"], issue["code"]) for issue in report["issues"]]
    assert rows == [
        (3, "missing_apex"),
        (4, "emotion_case"),
        (4, "offset_past_end"),
        (4, "unknown_au"),
        (5, "apex_outside"),
        (5, "unknown_emotion"),
        (6, "missing_frames"),
        (7, "duplicate"),
    ]
    # An unknown word joins the vocabulary, excluded until an admin maps it.
    assert report["emotions_added"] == sorted(
        ["disgust", "fear", "happiness", "hapiness", "others", "repression", "sadness", "surprise"]
    )
    dataset = Dataset.objects.get(name="CASME II")
    assert dataset.emotions.get(name="hapiness").composite_class == "excluded"
    assert Annotation.objects.get(clip__name="EP01_03").offset == 30

    # The report page lists every issue, as the job stores the report.
    job_run = JobRun.objects.create(
        kind=JobRun.Kind.IMPORT,
        queue="preprocess",
        status=JobRun.Status.SUCCEEDED,
        result=json.loads(json.dumps(report)),
    )
    client.force_login(admin_user)
    page = client.get(reverse("dataset-import-report", args=[job_run.pk])).content.decode()
    for issue in report["issues"]:
        assert issue["message"].replace("'", "&#x27;") in page
    assert page.count('class="issue-error"') == 1 and page.count('class="issue-warning"') == 7


def test_existing_adjudication_is_reported_not_overwritten(synth_sets, admin_user) -> None:
    from annotator.coding import services as coding_services
    from tests.factories import ClipFactory, DatasetFactory, SubjectFactory

    truth = load_truth(synth_sets["casme2"])["clips"][0]
    dataset = DatasetFactory(name="CASME II", source_format="casme2")
    clip = ClipFactory(
        subject=SubjectFactory(dataset=dataset, code="01"),
        name=truth["clip"],
        frame_indices=truth["frame_indices"],
        frame_count=len(truth["frame_indices"]),
    )
    coding_services.annotation_adjudicate(
        clip=clip,
        reviewer=admin_user,
        based_on=None,
        revision=None,
        coding=Coding(
            onset=truth["onset"],
            apex=None,
            offset=truth["offset"],
            emotion=dataset.emotions.get(name="others"),
            action_units=[],
            notes="ours",
        ),
    )
    report = import_native(synth_sets["casme2"], "casme2", admin_user)
    (issue,) = [i for i in report["issues"] if i["clip"] == truth["clip"]]
    assert issue["code"] == "not_stored" and "already has an adjudicated" in issue["message"]
    assert report["counts"]["created"] == 3
    assert clip.annotations.get().notes == "ours"


def test_preprocessing_is_queued_once_per_new_clip(
    synth_sets, admin_user, django_capture_on_commit_callbacks
) -> None:
    report = import_native(synth_sets["samm"], "samm", admin_user, preprocess=True)
    assert report["counts"]["preprocess_queued"] == 4
    jobs = JobRun.objects.filter(kind=JobRun.Kind.PREPROCESS)
    assert jobs.count() == 4 and {job.queue for job in jobs} == {"preprocess"}
    again = import_native(synth_sets["samm"], "samm", admin_user, preprocess=True)
    assert again["counts"]["preprocess_queued"] == 0 and jobs.count() == 4


def test_generic_csv_needs_a_frame_rate_and_keeps_the_csv_name(tmp_path, admin_user) -> None:
    from tests.mlcore.test_dataset_sheets import _frames

    _frames(tmp_path / "frames/p01/take_01", range(1, 20), "f{:03d}.png")
    csv_path = tmp_path / "lab_study.csv"
    csv_path.write_text("subject,clip,onset,apex,offset,emotion\np01,take_01,2,5,9,joy\n")
    with pytest.raises(InvalidRequestError, match="frame rate"):
        imports.dataset_import_run(
            import_format="generic-csv",
            annotations=csv_path,
            frames=tmp_path / "frames",
            user=admin_user,
            preprocess=False,
        )
    report = imports.dataset_import_run(
        import_format="generic-csv",
        annotations=csv_path,
        frames=tmp_path / "frames",
        user=admin_user,
        default_fps=50,
        preprocess=False,
    )
    assert report["dataset"] == "lab_study" and report["counts"]["created"] == 1
    assert [issue["code"] for issue in report["issues"]] == ["unknown_emotion"]
    assert Clip.objects.get().fps == 50.0


def test_import_dataset_command(synth_sets, admin_user, tmp_path, capsys) -> None:
    report_path = tmp_path / "report.json"
    call_command(
        "import_dataset",
        "--format",
        "smic",
        "--frames",
        str(synth_sets["smic"] / "SMIC/HS"),
        "--dataset",
        "SMIC-HS test",
        "--no-preprocess",
        "--report",
        str(report_path),
        verbosity=0,
    )
    output = capsys.readouterr().out
    assert "SMIC-HS test: 4 created, 0 updated" in output
    report = json.loads(report_path.read_text())
    assert report["counts"]["created"] == 4 and report["notes"]
    assert Annotation.objects.filter(apex__isnull=True).count() == 4
    with pytest.raises(Exception, match="--annotations is required"):
        call_command("import_dataset", "--format", "casme2", "--frames", str(tmp_path))


def test_import_page_runs_the_job_and_shows_the_report(
    client, synth_sets, admin_user, django_capture_on_commit_callbacks
) -> None:
    from annotator.tasks import _run_job

    client.force_login(admin_user)
    page = client.get(reverse("dataset-import"))
    assert page.status_code == 200 and b"casme2" in page.content
    sheet, frames = NATIVE["casme2"]
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("dataset-import"),
            {
                "import_format": "casme2",
                "annotations": str(synth_sets["casme2"] / sheet),
                "frames": str(synth_sets["casme2"] / frames),
                "dataset_name": "CASME II web",
                "preprocess": "",
            },
        )
    job_run = JobRun.objects.get(kind=JobRun.Kind.IMPORT)
    assert response.status_code == 302
    assert response["Location"] == reverse("dataset-import-report", args=[job_run.pk])
    assert job_run.queue == "preprocess"
    _run_job(job_run.pk, imports.dataset_import_job)
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    assert job_run.message.startswith("CASME II web: 4 created")

    report_page = client.get(reverse("dataset-import-report", args=[job_run.pk]))
    assert b"4 created" in report_page.content
    download = client.get(reverse("dataset-import-report-json", args=[job_run.pk]))
    assert download["Content-Type"] == "application/json"
    assert json.loads(download.content)["counts"]["created"] == 4

    coder = UserFactory(username="just-a-coder", role="coder")
    client.force_login(coder)
    assert client.get(reverse("dataset-import")).status_code in (302, 403)


def test_import_page_refuses_missing_paths(client, admin_user, tmp_path) -> None:
    client.force_login(admin_user)
    response = client.post(
        reverse("dataset-import"),
        {"import_format": "casme2", "annotations": str(tmp_path / "no.xlsx"), "frames": "/nope"},
    )
    assert response.status_code == 400
    assert b"not found" in response.content
    unreadable = client.post(
        reverse("dataset-import"), {"import_format": "smic", "frames": "x" * 300}
    )
    assert unreadable.status_code == 400
    assert b"File name too long" in unreadable.content
    assert not JobRun.objects.exists()


def test_imports_read_only_inside_the_configured_roots(client, admin_user, tmp_path, settings):
    allowed, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    allowed.mkdir()
    elsewhere.mkdir()
    settings.DATASET_IMPORT_ROOTS = [str(allowed)]
    client.force_login(admin_user)
    response = client.post(
        reverse("dataset-import"),
        {"import_format": "smic", "frames": str(allowed / ".." / "elsewhere")},
    )
    assert response.status_code == 400
    assert b"outside the folders imports may read" in response.content
    with pytest.raises(InvalidRequestError, match="outside the folders"):
        exchange.dataset_import_start(
            created_by=admin_user, import_format="smic", frames=str(elsewhere), annotations=None
        )
    assert not JobRun.objects.exists()


def test_an_import_sets_the_coding_plan_through_every_door(
    client, synth_sets, admin_user, api_as, django_capture_on_commit_callbacks, capsys
) -> None:
    from annotator.tasks import _run_job

    sheet, frames = NATIVE["casme2"]
    paths = {
        "annotations": str(synth_sets["casme2"] / sheet),
        "frames": str(synth_sets["casme2"] / frames),
    }
    # The page: model-assisted single coding for a new dataset, shown on the report.
    client.force_login(admin_user)
    assert b"Coders per clip" in client.get(reverse("dataset-import")).content
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            reverse("dataset-import"),
            {
                "import_format": "casme2",
                **paths,
                "dataset_name": "page",
                "coding_mode": "model_assisted",
                "coders_per_clip": "1",
            },
        )
    job_run = JobRun.objects.get(kind=JobRun.Kind.IMPORT)
    _run_job(job_run.pk, imports.dataset_import_job)
    page = Dataset.objects.get(name="page")
    assert (page.coding_mode, page.coders_per_clip) == ("model_assisted", 1)
    report_page = client.get(reverse("dataset-import-report", args=[job_run.pk]))
    assert b"Coding plan: model-assisted single coding, 1 coder per clip" in report_page.content

    # Re-imported without a plan, the dataset keeps its own.
    report = import_native(synth_sets["casme2"], "casme2", admin_user, dataset_name="page")
    assert report["coding_plan"] == {"coding_mode": "model_assisted", "coders_per_clip": 1}

    # The API: three coders for a new dataset; a plan outside the rules is refused at the door.
    api = api_as(admin_user)
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post(
            "/api/v1/imports/",
            {"import_format": "casme2", **paths, "dataset_name": "api", "coders_per_clip": 3},
            format="json",
        )
    assert started.status_code == 202, started.json()
    _run_job(started.json()["id"], imports.dataset_import_job)
    assert Dataset.objects.get(name="api").coders_per_clip == 3
    assert Dataset.objects.get(name="api").coding_mode == "blind"
    refused = api.post(
        "/api/v1/imports/",
        {"import_format": "casme2", **paths, "coders_per_clip": 11},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "coders_per_clip"

    # The command line, and the service itself for a plan no door would send.
    call_command(
        "import_dataset",
        "--format",
        "casme2",
        "--annotations",
        paths["annotations"],
        "--frames",
        paths["frames"],
        "--dataset",
        "cli",
        "--no-preprocess",
        "--coding-mode",
        "model_assisted",
        verbosity=0,
    )
    cli = Dataset.objects.get(name="cli")
    assert (cli.coding_mode, cli.coders_per_clip) == ("model_assisted", 2)
    with pytest.raises(InvalidRequestError, match="coders_per_clip") as refusal:
        imports.dataset_import_run(
            import_format="casme2",
            frames=Path(paths["frames"]),
            annotations=Path(paths["annotations"]),
            user=admin_user,
            dataset_name="cli",
            coders_per_clip=0,
        )
    assert refusal.value.field == "coders_per_clip"
    assert Dataset.objects.get(name="cli").coders_per_clip == 2
