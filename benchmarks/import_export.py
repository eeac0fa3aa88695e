"""Dataset import and export speed.

Measures, on synthetic data in the datasets' native layouts (`mlcore synth`):
- importing a CASME II-scale set (255 clips of ~70 frames, 640x480): the annotation sheet and
  frame listings only, the same import again (idempotent: nothing changes), and the import with
  preprocessing, timed until every clip is ready when one worker runs the queued jobs in turn;
- exporting a composite-scale set (MEGC2019's 442 clips of 68 subjects, ready clips whose
  aligned crops are the generator's own) without and with the STSTNet flow folders.

It runs on a throw-away SQLite database and media folder (settings `mestudio.settings.local`),
so it needs no server. Usage:

    .venv/bin/python benchmarks/import_export.py [--subjects 17 --clips-per-subject 15]
        [--frames 70] [--composite-frames 30] [--composite-subjects N]
        [--out benchmarks/results/import_export.json]

``--composite-subjects N`` exports a smaller composite (N subjects per part, 2 clips each)
instead of the MEGC2019 counts, for a quick check that the benchmark runs.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup_django(work: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"}
    }
    env.update(DJANGO_SETTINGS_MODULE="mestudio.settings.local", MESTUDIO_VAR_DIR=str(work / "var"))
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "platform"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def timed(function, /, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(**kwargs)
    return time.perf_counter() - started, result


def run_queued_preprocessing() -> int:
    """What one worker does with the import's jobs: run them in turn, in this process."""
    from annotator.corpus import preprocessing
    from annotator.models import JobRun
    from annotator.tasks import _run_job

    jobs = list(
        JobRun.objects.filter(kind=JobRun.Kind.PREPROCESS, status=JobRun.Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in jobs:
        _run_job(pk, preprocessing.clip_preprocess_job)
    return len(jobs)


def bench_import(*, work: Path, user, args) -> dict:
    from annotator.exchange import imports
    from annotator.models import Clip
    from mlcore.synth import generate

    synth_seconds, synth = timed(
        generate,
        out_dir=work / "casme2",
        layout="casme2",
        subjects=args.subjects,
        clips_per_subject=args.clips_per_subject,
        frames=args.frames,
        size=tuple(args.size),
    )
    options = {
        "import_format": "casme2",
        "annotations": synth.annotation_path,
        "frames": work / "casme2" / "CASME2_RAW",
        "user": user,
    }
    only, report = timed(
        imports.dataset_import_run, **options, dataset_name="labels only", preprocess=False
    )
    assert report["counts"]["created"] == synth.clips, report["counts"]
    again, report_again = timed(
        imports.dataset_import_run, **options, dataset_name="labels only", preprocess=False
    )
    assert report_again["counts"]["unchanged"] == synth.clips, report_again["counts"]

    started = time.perf_counter()
    queued_report = imports.dataset_import_run(**options, dataset_name="with preprocessing")
    import_seconds = time.perf_counter() - started
    jobs = run_queued_preprocessing()
    with_preprocessing = time.perf_counter() - started
    statuses = set(
        Clip.objects.filter(subject__dataset__name="with preprocessing").values_list(
            "ingest_status", flat=True
        )
    )
    assert statuses == {"ready"}, statuses
    assert queued_report["counts"]["preprocess_queued"] == jobs == synth.clips
    return {
        "clips": synth.clips,
        "frames": synth.frames_written,
        "frame_size": list(args.size),
        "synth_seconds": round(synth_seconds, 2),
        "annotations_only_seconds": round(only, 3),
        "reimport_unchanged_seconds": round(again, 3),
        "with_preprocessing_seconds": round(with_preprocessing, 2),
        "of_which_import_and_queue_seconds": round(import_seconds, 3),
        "preprocessed_frames_per_second": round(synth.frames_written / with_preprocessing, 1),
    }


def build_ready_composite(
    *, work: Path, user, frames: int, subjects: int | None
) -> tuple[int, list]:
    """Ready clips of a composite whose media are the generator's aligned crops: the MEGC2019
    counts, or `subjects` subjects per part."""
    import cv2

    from annotator import media
    from annotator.models import Annotation, Clip, Dataset, DatasetEmotion, Subject
    from mlcore.composite import read_manifest
    from mlcore.labels import DATASET_EMOTIONS, default_mapping
    from mlcore.preprocess_layout import ALIGNED_DIR, FRAMES_DIR, frame_name
    from mlcore.synth import generate

    size = (
        {"preset": "composite"}
        if subjects is None
        else {"datasets": ("casme2", "samm", "smic"), "subjects": 3 * subjects}
    )
    generate(out_dir=work / "composite", layout="composite", frames=frames, **size)
    samples = read_manifest(work / "composite")
    datasets = {}
    for key, name in (("casme2", "CASME II"), ("samm", "SAMM"), ("smic", "SMIC-HS")):
        dataset = Dataset.objects.create(name=name, source_format=key, default_fps=200)
        for word, composite in default_mapping(DATASET_EMOTIONS[key]).items():
            DatasetEmotion.objects.create(dataset=dataset, name=word, composite_class=composite)
        datasets[key] = dataset
    for sample in samples:
        # Stored as the sources spell subjects; the export writes MEGC's spelling.
        code = sample.subject.removeprefix("sub") if sample.dataset == "casme2" else sample.subject
        subject, _ = Subject.objects.get_or_create(dataset=datasets[sample.dataset], code=code)
        indices = list(range(sample.onset, sample.offset + 1))
        clip = Clip.objects.create(
            subject=subject,
            name=sample.clip,
            fps=sample.fps,
            frame_indices=indices,
            frame_count=len(indices),
            ingest_status=Clip.IngestStatus.READY,
            media_version=1,
            preprocess_meta={"sizes": [112], "motion_peak_frame": indices[len(indices) // 2]},
        )
        clip_dir = media.clip_media_dir(clip=clip) / "v1"
        for folder in (clip_dir / FRAMES_DIR, clip_dir / ALIGNED_DIR / "112"):
            folder.mkdir(parents=True, exist_ok=True)
        for index in indices:
            crop = cv2.imread(str(sample.frame_path(work / "composite", index)))
            cv2.imwrite(str(clip_dir / ALIGNED_DIR / "112" / frame_name(index)), crop)
            shutil.copyfile(
                clip_dir / ALIGNED_DIR / "112" / frame_name(index),
                clip_dir / FRAMES_DIR / frame_name(index),
            )
        Annotation.objects.create(
            clip=clip,
            coder=user,
            status=Annotation.Status.ADJUDICATED,
            provenance=Annotation.Provenance.IMPORTED,
            onset=sample.onset,
            apex=sample.apex,
            offset=sample.offset,
            emotion=datasets[sample.dataset].emotions.get(name=sample.emotion),
        )
    return len(samples), list(datasets.values())


def bench_export(*, work: Path, user, args) -> dict:
    from annotator.exchange import exports

    clips, datasets = build_ready_composite(
        work=work, user=user, frames=args.composite_frames, subjects=args.composite_subjects
    )
    plain, summary = timed(exports.composite_export_run, out_dir=work / "export", datasets=datasets)
    flows, summary_flows = timed(
        exports.composite_export_run,
        out_dir=work / "export-flows",
        datasets=datasets,
        flows=True,
    )
    assert summary["clips"] == summary_flows["clips"] == clips
    return {
        "clips": clips,
        "subjects": summary["subjects"],
        "per_class": summary["counts"]["per_class"],
        "frames_per_clip": args.composite_frames,
        "files_without_flows": len(summary["files"]),
        "files_with_flows": len(summary_flows["files"]),
        "without_flows_seconds": round(plain, 2),
        "with_flows_seconds": round(flows, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=17)
    parser.add_argument("--clips-per-subject", type=int, default=15)
    parser.add_argument("--frames", type=int, default=70)
    parser.add_argument("--size", type=int, nargs=2, default=(640, 480))
    parser.add_argument("--composite-frames", type=int, default=30)
    parser.add_argument(
        "--composite-subjects",
        type=int,
        default=None,
        help="subjects per part of the exported composite (default: the MEGC2019 counts)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/import_export.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="mestudio-bench-io-"))
    try:
        setup_django(work)
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        results = {
            "machine": {
                "cpu": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "database": "sqlite",
            },
            "import_casme2_scale": bench_import(work=work, user=user, args=args),
            "export_composite_scale": bench_export(work=work, user=user, args=args),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
