"""Writes. Every change to annotations, clips and jobs goes through a function here."""

import platform
import socket
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotator.models import Annotation, Clip, DatasetEmotion, JobRun
from mlcore.facs import AUCode

QUEUES = settings.MESTUDIO_QUEUES


class StaleRevisionError(Exception):
    """The row changed since the client read it; saving would overwrite someone else's work."""

    def __init__(self, *, current_revision: int) -> None:
        super().__init__(
            "This annotation was changed by someone else (now at revision "
            f"{current_revision}). Reload to see their changes; your edits were not saved."
        )
        self.current_revision = current_revision


# --- Job runs -------------------------------------------------------------------------------


def job_run_create(
    *, kind: str, queue: str, created_by: AbstractBaseUser | None, enqueue: Callable[[int], None]
) -> JobRun:
    """Create the status row and enqueue its task once the row is committed, so the worker never
    looks for a row that does not exist yet."""
    if queue not in QUEUES:
        raise ValueError(f"Unknown queue {queue!r}; expected one of {', '.join(QUEUES)}.")
    job_run = JobRun.objects.create(kind=kind, queue=queue, created_by=created_by)
    transaction.on_commit(lambda: enqueue(job_run.pk))
    return job_run


def job_run_start(*, job_run: JobRun, message: str = "Started") -> None:
    JobRun.objects.filter(pk=job_run.pk).update(
        status=JobRun.Status.RUNNING, started_at=timezone.now(), message=message[:500]
    )


def job_run_report_progress(*, job_run: JobRun, progress: float, message: str) -> None:
    # progress never moves backwards and stays inside 0..1, whatever the caller computes.
    clamped = min(max(progress, 0.0), 1.0)
    JobRun.objects.filter(pk=job_run.pk, progress__lte=clamped).update(
        progress=clamped, message=message[:500]
    )


def job_run_finish(*, job_run: JobRun, result: dict | None = None, message: str = "Done") -> None:
    JobRun.objects.filter(pk=job_run.pk).update(
        status=JobRun.Status.SUCCEEDED,
        progress=1.0,
        message=message[:500],
        result=result or {},
        finished_at=timezone.now(),
    )


def job_run_fail(*, job_run: JobRun, error: str) -> None:
    JobRun.objects.filter(pk=job_run.pk).update(
        status=JobRun.Status.FAILED,
        message="Failed",
        error=error,
        finished_at=timezone.now(),
    )


def worker_check_start(*, queue: str, created_by: AbstractBaseUser | None) -> JobRun:
    from annotator.tasks import worker_check

    return job_run_create(
        kind=JobRun.Kind.HEALTHCHECK,
        queue=queue,
        created_by=created_by,
        enqueue=lambda pk: worker_check.apply_async(args=[pk], queue=queue),
    )


def worker_check_run(*, job_run: JobRun) -> None:
    """Report what the worker that took this job can do: which machine, Python, torch, device."""
    job_run_start(job_run=job_run, message=f"Checking the worker on {job_run.queue}")
    import torch

    job_run_report_progress(job_run=job_run, progress=0.5, message="torch imported")
    cuda = torch.cuda.is_available()
    result = {
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": cuda,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
    }
    job_run_finish(
        job_run=job_run,
        result=result,
        message=f"{result['hostname']}: torch {result['torch']} on {result['device']}",
    )


# --- Annotations ----------------------------------------------------------------------------

_EDITABLE_FIELDS = ("onset", "apex", "offset", "emotion", "action_units", "notes")


def annotation_create_draft(*, clip: Clip, coder: AbstractBaseUser) -> Annotation:
    """The coder's draft for a clip, created on first open (one draft per coder and clip)."""
    annotation, _ = Annotation.objects.get_or_create(
        clip=clip, coder=coder, status=Annotation.Status.DRAFT
    )
    return annotation


def annotation_update(
    *,
    annotation: Annotation,
    revision: int,
    onset: int | None,
    apex: int | None,
    offset: int | None,
    emotion: DatasetEmotion | None,
    action_units: list[AUCode],
    notes: str,
    submit: bool = False,
) -> Annotation:
    """Save the coder's edits made from `revision`; refuse them if the row moved on meanwhile.

    Validation runs before anything is written, so a refused save leaves the stored row as it was.
    """
    candidate = Annotation.objects.select_related("clip__subject").get(pk=annotation.pk)
    if candidate.revision != revision:
        raise StaleRevisionError(current_revision=candidate.revision)
    candidate.onset, candidate.apex, candidate.offset = onset, apex, offset
    candidate.emotion = emotion
    candidate.action_units = [code.as_dict() for code in action_units]
    candidate.notes = notes
    if submit:
        candidate.status = Annotation.Status.SUBMITTED
    candidate.full_clean(validate_constraints=False)

    changes = {field: getattr(candidate, field) for field in _EDITABLE_FIELDS}
    with transaction.atomic():
        updated = Annotation.objects.filter(pk=annotation.pk, revision=revision).update(
            **changes,
            status=candidate.status,
            revision=F("revision") + 1,
            updated_at=timezone.now(),
        )
        if updated == 0:
            current = Annotation.objects.values_list("revision", flat=True).get(pk=annotation.pk)
            raise StaleRevisionError(current_revision=current)
    annotation.refresh_from_db()
    return annotation
