"""The exchange's web half: start an import or an export (check, create the job row, enqueue;
the workers run `imports` and `exports`), and ELAN files both ways, which are small enough to
read and write within the request.
"""

from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from annotator.coding import services as coding_services
from annotator.errors import ConflictError, InvalidRequestError
from annotator.exchange.jobs import (
    IMPORT_FORMATS,
    MIN_STATUSES,
    import_coding_plan,
    job_run_create_with_options,
)
from annotator.import_roots import import_path_check
from annotator.jobs import services as jobs
from annotator.models import Annotation, Clip, Coding, JobRun
from mlcore.elan import ElanCoding, eaf_text, read_eaf
from mlcore.frame_files import VIDEO_SUFFIXES


def dataset_import_start(
    *,
    created_by: AbstractBaseUser,
    import_format: str,
    frames: str,
    annotations: str | None,
    dataset_name: str | None = None,
    default_fps: float | None = None,
    preprocess: bool = True,
    coding_mode: str | None = None,
    coders_per_clip: int | None = None,
) -> JobRun:
    """Queue an import on the preprocess queue; `dataset_import_job` runs it. A coding plan
    left out keeps an existing dataset's (a new dataset gets the defaults)."""
    if import_format not in IMPORT_FORMATS:
        raise InvalidRequestError(f"Unknown format {import_format!r}.")
    import_coding_plan(coding_mode=coding_mode, coders_per_clip=coders_per_clip)
    for path in (frames, annotations):
        if path:
            import_path_check(path=Path(path))
    options = {
        "import_format": import_format,
        "frames": frames,
        "annotations": annotations,
        "dataset_name": dataset_name,
        "default_fps": default_fps,
        "preprocess": preprocess,
        "coding_mode": coding_mode,
        "coders_per_clip": coders_per_clip,
    }
    return job_run_create_with_options(
        kind=JobRun.Kind.IMPORT,
        created_by=created_by,
        options=options,
        enqueue=jobs.task_sender(task="annotator.dataset_import", queue="preprocess"),
    )


def composite_export_start(
    *,
    created_by: AbstractBaseUser,
    dataset_ids: list[int] | None,
    min_status: str,
    flows: bool,
    megc2019: bool = False,
) -> JobRun:
    if min_status not in MIN_STATUSES:
        raise InvalidRequestError(
            f"min status {min_status!r}: choose from {', '.join(MIN_STATUSES)}"
        )
    return job_run_create_with_options(
        kind=JobRun.Kind.EXPORT,
        created_by=created_by,
        options={
            "dataset_ids": dataset_ids,
            "min_status": min_status,
            "flows": flows,
            "megc2019": megc2019,
        },
        enqueue=jobs.task_sender(task="annotator.composite_export", queue="preprocess"),
    )


def _eaf_media_name(clip: Clip) -> str:
    """The uploaded video's file name, which the EAF links; frame folders have no video."""
    source = clip.source.name if clip.source else ""
    return Path(source).name if Path(source).suffix.lower() in VIDEO_SUFFIXES else ""


def clip_eaf_export(*, annotation: Annotation) -> tuple[str, bytes]:
    """(file name, EAF bytes) of one annotation of its clip."""
    clip = annotation.clip
    if clip.first_frame is None:
        raise ConflictError(
            f"{clip} has no frames yet: an EAF needs the clip's first frame.", code="no_frames"
        )
    coding = ElanCoding(
        clip=clip.name,
        fps=clip.fps,
        first_frame=clip.first_frame,
        onset=annotation.onset,
        apex=annotation.apex,
        offset=annotation.offset,
        emotion=annotation.emotion.name if annotation.emotion else "",
        action_units=tuple(annotation.au_entries),
        notes=annotation.notes,
        media=_eaf_media_name(clip),
    )
    name = f"{slugify(clip.subject.dataset.name)}_{clip.subject.code}_{clip.name}.eaf"
    return name, eaf_text(coding).encode("utf-8")


def clip_eaf_import(*, clip: Clip, coder: AbstractBaseUser, data: bytes) -> Annotation:
    """Read an EAF into the coder's draft of ``clip`` (created if needed); others' work is
    never touched. Raises ValidationError with a message for the user on a bad file."""
    if clip.first_frame is None:
        raise ValidationError(f"{clip} has no frames yet.")
    try:
        coding = read_eaf(data, fps=clip.fps, first_frame=clip.first_frame)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if coding.clip and coding.clip != clip.name:
        raise ValidationError(f"This EAF file codes clip {coding.clip!r}, not {clip.name!r}.")
    emotion = None
    if coding.emotion:
        emotion = clip.subject.dataset.emotions.filter(name__iexact=coding.emotion).first()
        if emotion is None:
            raise ValidationError(
                f"Emotion {coding.emotion!r} is not in the vocabulary of {clip.subject.dataset}."
            )
    # A draft keeps inconsistent marks the coder types; a file is refused whole instead, since
    # refusing it loses nothing and its author can fix it where it was made.
    problems = Annotation(
        clip=clip, onset=coding.onset, apex=coding.apex, offset=coding.offset
    ).mark_problems()
    if problems:
        raise ValidationError(problems)
    draft = coding_services.clip_claim(clip=clip, coder=coder)
    return coding_services.annotation_update(
        annotation=draft,
        revision=draft.revision,
        saved_by=coder,
        coding=Coding(
            onset=coding.onset,
            apex=coding.apex,
            offset=coding.offset,
            emotion=emotion,
            action_units=list(coding.action_units),
            notes=coding.notes,
        ),
    )
