"""Writes to the corpus: a clip from an upload (one service for the page, the API and the admin)
and its preprocessing, started on the web side and run by the worker."""

import hashlib
import shutil
from pathlib import Path

from billiard.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from annotator import media
from annotator.corpus import selectors as corpus_selectors
from annotator.errors import (
    InvalidRequestError,
)
from annotator.import_roots import import_folder_check
from annotator.jobs.services import (
    JOB_TIME_LIMIT_ERROR,
    job_run_create,
    job_run_finish,
    job_run_progress_reporter,
    job_run_report_progress,
    task_sender,
)
from annotator.models import (
    Clip,
    JobRun,
)
from mlcore.archives import UnsafeArchiveError, extract_frames, inspect_zip
from mlcore.frame_files import VIDEO_SUFFIXES

UPLOAD_SUFFIXES = VIDEO_SUFFIXES | {".zip"}


def _looks_like(suffix: str, head: bytes) -> bool:
    if suffix == ".zip":
        return head.startswith(b"PK\x03\x04")
    if suffix == ".avi":
        return head[:4] == b"RIFF" and head[8:12] == b"AVI "
    # ISO base media (mp4, mov): a size then a box type.
    return head[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"}


def clip_upload_validate(*, upload: UploadedFile) -> None:
    """Refuse files that are too large, of the wrong type, or unsafe archives, before saving."""
    limit = settings.MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationError(
            f"{upload.name} is {upload.size / 1024**2:.1f} MiB; the limit is "
            f"{limit // 1024**2} MiB.",
            code="too_large",
        )
    suffix = Path(upload.name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ValidationError(
            f"{upload.name}: upload a video (.mp4, .mov, .avi) or a .zip of frames.",
            code="wrong_type",
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not _looks_like(suffix, head):
        raise ValidationError(
            f"{upload.name} does not contain {suffix[1:]} data (wrong or damaged file).",
            code="wrong_type",
        )
    if suffix == ".zip":
        try:
            inspect_zip(upload, name=upload.name)
        except UnsafeArchiveError as error:
            raise ValidationError(str(error), code="unsafe_archive") from None
        finally:
            upload.seek(0)


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _clip_name_taken(clip: Clip) -> ValidationError:
    return ValidationError(
        {
            "name": ValidationError(
                f"{clip.subject.dataset} already has a clip {clip.name!r} for subject "
                f"{clip.subject.code}.",
                code="unique",
            )
        }
    )


def clip_upload(*, clip: Clip, upload: UploadedFile, created_by: AbstractBaseUser | None) -> JobRun:
    """Save the upload first, then queue its preprocessing; the upload survives a failed ingest.
    Every door (page, API, admin) creates clips here, so they refuse the same names."""
    clip_upload_validate(upload=upload)
    siblings = Clip.objects.filter(subject=clip.subject, name=clip.name)
    if siblings.exists():
        raise _clip_name_taken(clip)
    clip.source_checksum = _sha256(upload)
    clip.ingest_status = Clip.IngestStatus.PENDING
    clip.ingest_error = ""
    clip.full_clean(exclude=["source"], validate_constraints=False)  # the insert checks it
    try:
        with transaction.atomic():
            clip.source.save(Path(upload.name).name, upload, save=False)
            clip.save()
            return clip_preprocess_start(clip=clip, created_by=created_by)
    except IntegrityError:
        # Two uploads of one name at once: both passed the check above, one insert won.
        if clip.source.name:
            clip.source.delete(save=False)
        clip.pk = None
        if siblings.exists():
            raise _clip_name_taken(clip) from None
        raise


def clip_preprocess_start(*, clip: Clip, created_by: AbstractBaseUser | None) -> JobRun:
    Clip.objects.filter(pk=clip.pk).update(ingest_status=Clip.IngestStatus.PENDING, ingest_error="")
    return job_run_create(
        kind=JobRun.Kind.PREPROCESS,
        queue="preprocess",
        created_by=created_by,
        clip=clip,
        enqueue=task_sender(task="annotator.clip_preprocess", queue="preprocess"),
    )


def clip_preprocess_run(*, job_run: JobRun) -> None:
    """Extract frames, find and align the face, compute motion previews, mark the clip ready.

    Bad input (a corrupt video, an unsafe archive, no face) fails the clip with a message for the
    user and keeps the upload; the previous preprocessing, if any, stays served until a new one
    succeeds.
    """
    from mlcore.faces.factory import create_detector
    from mlcore.preprocess import preprocess_clip

    clip = job_run.clip
    job_run_report_progress(job_run=job_run, progress=0.0, message="Preparing frames")
    Clip.objects.filter(pk=clip.pk).update(ingest_status=Clip.IngestStatus.PROCESSING)
    clip_dir = media.clip_media_dir(clip=clip)
    version = clip.media_version + 1
    out_dir = clip_dir / f"v{version}"
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        source = clip.source_location
        if source is None:
            raise InvalidRequestError(f"{clip} has neither an upload nor a frame folder to read.")
        if clip.source_path:
            import_folder_check(folder=source)
        if source.suffix.lower() == ".zip":
            frames_dir = clip_dir / "source_frames"
            shutil.rmtree(frames_dir, ignore_errors=True)
            source = extract_frames(source, frames_dir)
        result = preprocess_clip(
            source=source,
            out_dir=out_dir,
            detector=create_detector(retinaface_weights=settings.RETINAFACE_WEIGHTS),
            progress=job_run_progress_reporter(job_run=job_run, start=0.05, end=0.98),
        )
    except Exception as error:
        shutil.rmtree(out_dir, ignore_errors=True)
        # A time limit interrupts the body with an exception that carries no message.
        reason = JOB_TIME_LIMIT_ERROR if isinstance(error, SoftTimeLimitExceeded) else str(error)
        Clip.objects.filter(pk=clip.pk).update(
            ingest_status=Clip.IngestStatus.FAILED, ingest_error=reason
        )
        raise
    meta = corpus_selectors.clip_preprocess_meta(path=out_dir)
    Clip.objects.filter(pk=clip.pk).update(
        frame_indices=result.frame_indices,
        frame_count=len(result.frame_indices),
        width=result.size[0],
        height=result.size[1],
        fps=result.fps or clip.fps,
        preprocess_meta=meta,
        media_version=version,
        ingest_status=Clip.IngestStatus.READY,
        ingest_error="",
    )
    for old in clip_dir.glob("v*"):
        if old != out_dir:
            shutil.rmtree(old, ignore_errors=True)
    job_run_finish(
        job_run=job_run,
        result={"frames": len(result.frame_indices), "detector": meta.get("detector")},
        message=f"{len(result.frame_indices)} frames ready "
        f"({result.frames_per_second:.0f} frames/s)",
    )
