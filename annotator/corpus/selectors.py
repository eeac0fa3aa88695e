"""Reads of the corpus: datasets, clips, their media layers and frames."""

import json
from pathlib import Path

from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from annotator import media
from annotator.models import (
    Clip,
    Dataset,
    DatasetEmotion,
    JobRun,
)
from mlcore.preprocess_layout import ALIGNED_DIR, FRAMES_DIR, META_NAME, MOTION_DIR, frame_name


def dataset_list_with_counts() -> QuerySet[Dataset]:
    return Dataset.objects.annotate(
        subject_count=Count("subjects", distinct=True),
        clip_count=Count("subjects__clips", distinct=True),
        ready_clip_count=Count(
            "subjects__clips",
            filter=Q(subjects__clips__ingest_status=Clip.IngestStatus.READY),
            distinct=True,
        ),
    ).order_by("name")


def clip_preprocess_meta(*, path: Path) -> dict:
    return json.loads((path / META_NAME).read_text())


def clip_media_layers(*, clip: Clip) -> list[str]:
    """The picture layers a ready clip offers: raw frames, aligned crops per size, motion."""
    return ["frame", *(f"aligned-{size}" for size in clip.aligned_sizes), "motion"]


def clip_media_file(*, clip: Clip, version: int, layer: str, frame: int) -> Path | None:
    """The file for one frame of one layer, or None when the clip, version, layer or frame is
    not there (the URL then answers 404)."""
    if clip.ingest_status != Clip.IngestStatus.READY or version != clip.media_version:
        return None
    if frame not in set(clip.frame_indices) or layer not in clip_media_layers(clip=clip):
        return None
    folder = media.clip_media_dir(clip=clip) / f"v{version}"
    if layer == "frame":
        folder = folder / FRAMES_DIR
    elif layer == "motion":
        folder = folder / MOTION_DIR
    else:
        folder = folder / ALIGNED_DIR / layer.removeprefix("aligned-")
    path = folder / frame_name(frame)
    return path if path.is_file() else None


def clip_get(*, clip_id: int) -> Clip:
    return Clip.objects.select_related("subject__dataset").get(pk=clip_id)


def clip_job_run_latest(*, clip: Clip) -> JobRun | None:
    return clip.job_runs.order_by("-created_at").first()


def clip_list_recent(*, limit: int = 20) -> QuerySet[Clip]:
    return Clip.objects.select_related("subject__dataset").order_by("-created_at")[:limit]


def dataset_emotions(*, dataset: Dataset) -> QuerySet[DatasetEmotion]:
    return dataset.emotions.order_by("name")
