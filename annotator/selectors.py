"""Reads. Views and the API get their querysets here, never by building queries themselves."""

import json
from pathlib import Path

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from annotator.models import Annotation, Clip, Dataset, DatasetEmotion, JobRun
from mlcore.preprocess import ALIGNED_DIR, FRAMES_DIR, META_NAME, MOTION_DIR, frame_name


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


def job_run_list_recent(*, limit: int = 10) -> QuerySet[JobRun]:
    return JobRun.objects.select_related("created_by").order_by("-created_at")[:limit]


def job_run_get(*, job_run_id: int) -> JobRun:
    return JobRun.objects.get(pk=job_run_id)


# --- Clip media -------------------------------------------------------------------------------


def clip_media_dir(*, clip: Clip) -> Path:
    return Path(settings.MEDIA_ROOT) / "clips" / str(clip.pk)


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
    folder = clip_media_dir(clip=clip) / f"v{version}"
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


# --- Coding -----------------------------------------------------------------------------------


def clip_queue_for_coder(*, coder) -> QuerySet[Clip]:
    """Ready clips with the coder's own annotation state (`my_status`: None, draft, submitted),
    oldest first. Other coders' work is never joined in: coding is blind."""
    mine = Annotation.objects.filter(clip=OuterRef("pk"), coder=coder).exclude(
        status=Annotation.Status.ADJUDICATED
    )
    return (
        Clip.objects.filter(ingest_status=Clip.IngestStatus.READY)
        .select_related("subject__dataset")
        .annotate(
            my_status=Subquery(mine.order_by("-updated_at").values("status")[:1]),
            my_updated_at=Subquery(mine.order_by("-updated_at").values("updated_at")[:1]),
        )
        .order_by("created_at", "pk")
    )


def clip_next_for_coder(*, coder) -> Clip | None:
    """The next clip the coder has not submitted yet (active-learning order plugs in here)."""
    return (
        clip_queue_for_coder(coder=coder)
        .filter(Q(my_status__isnull=True) | Q(my_status=Annotation.Status.DRAFT))
        .first()
    )


def annotation_get_own(*, annotation_id: int, coder) -> Annotation:
    """The coder's own annotation; anyone else's is reported as missing, never shown."""
    return Annotation.objects.select_related("clip__subject__dataset", "emotion").get(
        pk=annotation_id, coder=coder
    )


def annotation_submitted_for_coder(*, clip: Clip, coder) -> Annotation | None:
    return (
        Annotation.objects.filter(clip=clip, coder=coder, status=Annotation.Status.SUBMITTED)
        .select_related("emotion")
        .first()
    )


def dataset_emotions(*, dataset: Dataset) -> QuerySet[DatasetEmotion]:
    return dataset.emotions.order_by("name")
