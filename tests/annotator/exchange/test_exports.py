"""The composite export: MEGC2019 ground truth byte for byte, manifest and LOSO folds read by
mlcore, crops, STSTNet folders, export.json, reproducible bytes, the CLI and the export page."""

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest
from django.core.management import call_command
from django.urls import reverse

from annotator.coding import services as coding_services
from annotator.corpus import preprocessing
from annotator.corpus import selectors as corpus_selectors
from annotator.errors import ConflictError, InvalidRequestError
from annotator.exchange import exports, imports
from annotator.models import Annotation, Clip, Coding, Dataset, JobRun
from annotator.tasks import _run_job
from mlcore.composite import read_manifest
from mlcore.datasets.megc import GT_NAME, read_ground_truth
from mlcore.synth import generate, load_truth

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
        # Three CASME II clips per subject: the sixth is "others", which the composite leaves out.
        options = {**SMALL, "clips_per_subject": 3} if layout == "casme2" else SMALL
        generate(out_dir=root / layout, layout=layout, **options)
    return {layout: root / layout for layout in NATIVE}


@pytest.fixture
def imported(synth_sets, admin_user, django_capture_on_commit_callbacks) -> dict[str, Path]:
    """The three synthetic sets imported and preprocessed for real (the worker's service,
    called in-process)."""
    for layout, (sheet, frames) in NATIVE.items():
        with django_capture_on_commit_callbacks(execute=False):
            imports.dataset_import_run(
                import_format=layout,
                annotations=synth_sets[layout] / sheet if sheet else None,
                frames=synth_sets[layout] / frames,
                user=admin_user,
            )
    for job_run in JobRun.objects.filter(kind=JobRun.Kind.PREPROCESS).order_by("pk"):
        _run_job(job_run.pk, preprocessing.clip_preprocess_job)
    assert set(Clip.objects.values_list("ingest_status", flat=True)) == {"ready"}
    return synth_sets


def _expected_ground_truth(synth_sets: dict[str, Path]) -> bytes:
    """Written independently of the exporter, from what the generator says it made."""
    spell = {
        "casme2": lambda number: f"sub{number:02d}",
        "samm": lambda number: str(number),
        "smic": lambda number: f"s{number:02d}",
    }
    lines = []
    for layout, folder in synth_sets.items():
        for clip in load_truth(folder)["clips"]:
            if clip["label"] is None:  # "others" is not in the composite
                continue
            number = int("".join(ch for ch in clip["subject"] if ch.isdigit()))
            name = clip["clip"]
            if layout == "smic":
                name = spell["smic"](number) + name[len(clip["subject"]) :]
            lines.append((layout, spell[layout](number), name, clip["label"]))
    return b"".join(f"{d},{s},{c},{label}\r\n".encode() for d, s, c, label in sorted(lines))


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_export_matches_megc_and_reads_back(imported, tmp_path) -> None:
    summary = exports.composite_export_run(out_dir=tmp_path / "out")
    out = tmp_path / "out"
    gt = (out / GT_NAME).read_bytes()
    assert gt == _expected_ground_truth(imported)
    assert b"\r\n" in gt and not gt.startswith(b"dataset")
    assert gt.splitlines()[0].startswith(b"casme2,sub01,")

    samples = read_manifest(out)
    header = (out / "manifest.csv").read_text().splitlines()[0]
    assert header.startswith("dataset,subject,clip,label,emotion,onset,apex,offset,aus,fps")
    assert len(samples) == summary["clips"] == len(read_ground_truth(out / GT_NAME))
    for sample in samples:
        frames = sorted(int(p.stem) for p in (out / sample.frames_dir).glob("*.png"))
        assert frames == list(range(sample.onset, sample.offset + 1))
        crop = cv2.imread(str(sample.frame_path(out, sample.onset)))
        assert crop.shape == (112, 112, 3)
        key_frames = sorted(p.name for p in (out / sample.frames_dir / "full").iterdir())
        marks = {sample.onset, sample.offset} | ({sample.apex} if sample.apex else set())
        assert key_frames == [f"{frame:06d}.jpg" for frame in sorted(marks)]
    smic = [s for s in samples if s.dataset == "smic"]
    assert smic and all(s.apex is None and s.subject in {"s01", "s02"} for s in smic)

    folds = json.loads((out / "loso_folds.json").read_text())
    subjects = {s.subject_key for s in samples}
    assert [fold["test_subject"] for fold in folds] == sorted(subjects)
    for fold in folds:  # a fold's test clips all belong to its subject, and only there
        owners = {clip.rsplit("/", 1)[0] for clip in fold["test_clips"]}
        assert owners == {fold["test_subject"]}
    all_test = [clip for fold in folds for clip in fold["test_clips"]]
    assert len(all_test) == len(set(all_test)) == len(samples)

    exported = json.loads((out / "export.json").read_text())
    assert exported["files"] == {k: v for k, v in _tree(out).items() if k != "export.json"}
    latest = max(Annotation.objects.values_list("updated_at", flat=True))
    assert exported["annotation_snapshot"] == latest.isoformat()
    per_class = exported["counts"]["per_class"]
    assert sum(per_class.values()) == len(samples)
    left_out = {(i["clip"], i["reason"].split(" ")[0]) for i in exported["left_out"]}
    truth = [c for f in imported.values() for c in load_truth(f)["clips"] if c["label"] is None]
    assert truth and left_out == {(clip["clip"], "emotion") for clip in truth}


def test_re_export_gives_identical_bytes(imported, tmp_path) -> None:
    # SAMM and SMIC-HS: flows to a coded apex and to an estimated one, at half the cost of all.
    datasets = list(Dataset.objects.filter(source_format__in=["samm", "smic"]))
    exports.composite_export_run(out_dir=tmp_path / "a", datasets=datasets, flows=True)
    exports.composite_export_run(out_dir=tmp_path / "b", datasets=datasets, flows=True)
    first = _tree(tmp_path / "a")
    assert any(name.startswith("ststnet/") for name in first)
    assert first == _tree(tmp_path / "b")
    # Over an earlier export: replaced, same bytes.
    exports.composite_export_run(out_dir=tmp_path / "a", datasets=datasets, flows=True)
    assert _tree(tmp_path / "a") == first
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "thesis.tex").write_text("precious")
    with pytest.raises(InvalidRequestError, match="not empty"):
        exports.composite_export_run(out_dir=tmp_path / "c")
    assert (tmp_path / "c" / "thesis.tex").read_text() == "precious"


def test_an_export_whose_clip_lost_a_crop_fails_naming_the_clip_and_frame(imported, tmp_path):
    clip = Clip.objects.filter(subject__dataset__source_format="samm").order_by("pk").first()
    onset = Annotation.objects.get(clip=clip, status=Annotation.Status.ADJUDICATED).onset
    crop = corpus_selectors.clip_media_file(
        clip=clip, version=clip.media_version, layer="aligned-112", frame=onset
    )
    crop.unlink()  # the media changed under the export (a re-preprocessing, a disk problem)
    with pytest.raises(ConflictError, match=rf"{clip.name}.*frame {onset} is missing"):
        exports.composite_export_run(out_dir=tmp_path / "out", datasets=[clip.subject.dataset])


def _ststnet_spelling(sample) -> str:
    """STSTNet's own subject names (its STSTNet_Weights/006.pth): SAMM keeps 3 digits."""
    return f"{int(sample.subject):03d}" if sample.dataset == "samm" else sample.subject


def test_ststnet_folders_one_per_subject(imported, tmp_path) -> None:
    summary = exports.composite_export_run(out_dir=tmp_path / "out", flows=True)
    root = tmp_path / "out" / "ststnet"
    samples = read_manifest(tmp_path / "out")
    subjects = sorted(p.name for p in root.iterdir())
    assert subjects == sorted({_ststnet_spelling(s) for s in samples})
    assert "006" in subjects and "6" not in subjects
    for subject in subjects:
        test = sorted(p.name for p in (root / subject / "u_test").rglob("*.png"))
        train = sorted(p.name for p in (root / subject / "u_train").rglob("*.png"))
        own = sorted(f"{subject}_{s.clip}.png" for s in samples if _ststnet_spelling(s) == subject)
        assert test == own
        assert len(test) + len(train) == len(samples) and not set(test) & set(train)
    for sample in samples:
        folder = _ststnet_spelling(sample)
        image = cv2.imread(
            str(root / folder / "u_test" / str(sample.label) / f"{folder}_{sample.clip}.png")
        )
        assert image.shape == (28, 28, 3)
    # The ground truth keeps MEGC2019's unpadded SAMM subject; the README says which is which.
    assert b"samm,6,006_" in (tmp_path / "out" / GT_NAME).read_bytes()
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "`006`" in readme and "samm `6`" in readme
    # SMIC-HS has no apex: the flow went to the frame of largest motion, and export.json says so
    assert len(summary["flow_apex_estimated"]) == sum(s.dataset == "smic" for s in samples)


def test_mapping_edits_and_min_status_change_what_is_exported(imported, tmp_path, coder) -> None:
    before = exports.composite_export_run(out_dir=tmp_path / "before")
    casme2 = Dataset.objects.get(name="CASME II")
    others = casme2.emotions.get(name="others")
    others.composite_class = "negative"
    others.save()
    after = exports.composite_export_run(out_dir=tmp_path / "after")
    moved = sum(1 for i in before["left_out"] if i["dataset"] == "CASME II")
    assert moved > 0
    assert after["clips"] == before["clips"] + moved

    clip = Clip.objects.filter(subject__dataset=casme2).first()
    Annotation.objects.filter(clip=clip).delete()
    draft = coding_services.clip_claim(clip=clip, coder=coder)
    coding_services.annotation_update(
        annotation=draft,
        revision=draft.revision,
        saved_by=draft.coder,
        submit=True,
        coding=Coding(
            onset=clip.frame_indices[1],
            apex=clip.frame_indices[3],
            offset=clip.frame_indices[6],
            emotion=casme2.emotions.get(name="happiness"),
            action_units=[],
            notes="",
        ),
    )
    strict = exports.composite_export_run(out_dir=tmp_path / "strict")
    assert strict["clips"] == after["clips"] - 1
    assert any(i["reason"] == "no adjudicated annotation" for i in strict["left_out"])
    lenient = exports.composite_export_run(out_dir=tmp_path / "lenient", min_status="submitted")
    assert lenient["clips"] == after["clips"]


def test_mlcore_train_reads_the_export(imported, tmp_path) -> None:
    exports.composite_export_run(out_dir=tmp_path / "out")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcore",
            "train",
            "--data",
            str(tmp_path / "out"),
            "--model",
            "flow_linear",
            "--epochs",
            "1",
            "--no-final",
            "--out",
            str(tmp_path / "run"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics  # LOSO over the exported subjects ran to the end


def test_export_composite_command(imported, tmp_path, capsys) -> None:
    call_command(
        "export_composite", "--out", str(tmp_path / "cli"), "--datasets", "SAMM", verbosity=0
    )
    rows = read_ground_truth(tmp_path / "cli" / GT_NAME)
    assert rows and {row.dataset for row in rows} == {"samm"}
    assert {row.subject for row in rows} <= {"6", "7"}
    assert "clips" in capsys.readouterr().out
    with pytest.raises(Exception, match="No dataset named 'Nope'"):
        call_command("export_composite", "--out", str(tmp_path / "x"), "--datasets", "Nope")


def test_export_page_runs_the_job_and_offers_the_zip(
    client, imported, admin_user, tmp_path, django_capture_on_commit_callbacks
) -> None:
    client.force_login(admin_user)
    form = client.get(reverse("composite-export")).content.decode()
    assert "Adjudicated only (the reviewer&#x27;s final annotations)" in form
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("composite-export"), {"min_status": "adjudicated"})
    job_run = JobRun.objects.get(kind=JobRun.Kind.EXPORT)
    assert response["Location"] == reverse("composite-export-detail", args=[job_run.pk])
    _run_job(job_run.pk, exports.composite_export_job)
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error

    page = client.get(reverse("composite-export-detail", args=[job_run.pk]))
    assert "on CPU workers" in page.content.decode()  # not the queue's name, preprocess
    download_url = reverse("composite-export-download", args=[job_run.pk])
    assert download_url.encode() in page.content
    download = client.get(download_url)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    gt = archive.read(f"composite/{GT_NAME}")
    exports.composite_export_run(out_dir=tmp_path / "cli")
    assert gt == (tmp_path / "cli" / GT_NAME).read_bytes()


def test_names_the_ground_truth_cannot_hold_are_left_out_with_a_reason(admin_user, tmp_path):
    from tests.factories import ClipFactory, DatasetFactory, SubjectFactory

    dataset = DatasetFactory(name="Lab study", source_format="generic")
    clip = ClipFactory(subject=SubjectFactory(dataset=dataset, code="p01"), name="take,3")
    coding_services.annotation_adjudicate(
        clip=clip,
        reviewer=admin_user,
        based_on=None,
        revision=None,
        coding=Coding(
            onset=50,
            apex=55,
            offset=60,
            emotion=dataset.emotions.get(name="positive"),
            action_units=[],
            notes="",
        ),
    )
    summary = exports.composite_export_run(out_dir=tmp_path / "out")
    assert summary["clips"] == 0
    (item,) = summary["left_out"]
    assert (item["clip"], item["reason"]) == (
        "take,3",
        "subject or clip name holds a comma, quote, slash or line break",
    )
    assert (tmp_path / "out" / GT_NAME).read_bytes() == b""
