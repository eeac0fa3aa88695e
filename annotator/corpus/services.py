"""Writes to the corpus: a clip from an upload (one service for the page, the API and the admin)
and its preprocessing, started on the web side and run by the worker."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from annotator.jobs.services import (
    job_run_create,
    task_sender,
)
from annotator.models import (
    Clip,
    JobRun,
)
from mlcore.archives import UnsafeArchiveError, inspect_zip
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
