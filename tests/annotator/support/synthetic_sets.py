"""Synthetic CASME II-style sets (`mlcore.synth`) imported the way an admin imports a dataset:
each clip's published label becomes an adjudicated annotation and preprocessing is queued."""

from pathlib import Path

from annotator.corpus import preprocessing
from annotator.exchange import imports
from annotator.models import Dataset, JobRun
from annotator.tasks import _run_job
from mlcore.synth import generate


def synthetic_dataset_import(
    *,
    out_dir: Path,
    user,
    name: str,
    subjects: int = 3,
    clips_per_subject: int = 3,
    frames: int = 12,
    seed: int = 0,
) -> Dataset:
    """Small frames (160x120) keep preprocessing fast; the face is still found and aligned."""
    generate(
        out_dir=out_dir,
        layout="casme2",
        subjects=subjects,
        clips_per_subject=clips_per_subject,
        frames=frames,
        size=(160, 120),
        seed=seed,
    )
    report = imports.dataset_import_run(
        import_format="casme2",
        annotations=out_dir / "CASME2-coding-20140508.xlsx",
        frames=out_dir / "CASME2_RAW",
        user=user,
        dataset_name=name,
    )
    assert report["issues"] == [], report["issues"]
    return Dataset.objects.get(pk=report["dataset_id"])


def preprocessing_run_queued() -> int:
    """What a preprocessing worker does with the queued jobs, run in this process."""
    queued = JobRun.objects.filter(
        kind=JobRun.Kind.PREPROCESS, status=JobRun.Status.QUEUED
    ).order_by("pk")
    jobs = list(queued.values_list("pk", flat=True))
    for pk in jobs:
        _run_job(pk, preprocessing.clip_preprocess_job)
    return len(jobs)
