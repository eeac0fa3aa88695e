"""Dataset import (the worker half): read a dataset's annotation sheet and frame folders with
`mlcore.datasets` and store each clip's published label as ONE annotation with provenance
``imported`` and status ``adjudicated`` (the dataset's ground truth), keyed by (clip,
provenance): importing the same files again changes nothing, and a changed row updates its
annotation and says so.
"""

from collections import Counter
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from annotator.coding import services as coding_services
from annotator.corpus import services as corpus
from annotator.errors import InvalidRequestError
from annotator.exchange.jobs import (
    DEFAULT_DATASET_NAMES,
    IMPORT_FORMATS,
    Progress,
    import_coding_plan,
    job_options,
    no_progress,
)
from annotator.import_roots import import_path_check
from annotator.jobs import services as jobs
from annotator.models import Annotation, Clip, Coding, Dataset, DatasetEmotion, JobRun, Subject
from mlcore.datasets import DEFAULT_FPS, ImportIssue, ImportRow, read_dataset
from mlcore.datasets.common import ERROR, OUTSIDE_ROOT_MESSAGE
from mlcore.facs import au_entry_from_dict, format_au_string
from mlcore.labels import megc2019_class


def _dataset_for_import(*, name: str, source_format: str, default_fps: float) -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        return Dataset.objects.create(
            name=name, source_format=source_format, default_fps=default_fps
        )
    if dataset.source_format != source_format:
        raise InvalidRequestError(
            f"Dataset {name!r} exists with format {dataset.source_format}, not {source_format}; "
            "choose another dataset name."
        )
    return dataset


def _ensure_emotions(*, dataset: Dataset, words: list[str]) -> dict[str, DatasetEmotion]:
    """The dataset's vocabulary with ``words`` added (mapped by the ``megc2019`` rule of the
    dataset's format); edited mappings stay."""
    existing = {emotion.name: emotion for emotion in dataset.emotions.all()}
    for word in sorted(set(words) - set(existing)):
        existing[word] = DatasetEmotion.objects.create(
            dataset=dataset,
            name=word,
            composite_class=megc2019_class(word, source_format=dataset.source_format),
        )
    return existing


def _issue(row: ImportRow, code: str, message: str) -> ImportIssue:
    return ImportIssue(
        row=row.row, subject=row.subject, clip=row.clip, severity=ERROR, code=code, message=message
    )


def _annotation_values(row: ImportRow, emotion: DatasetEmotion) -> dict[str, object]:
    return {
        "onset": row.onset,
        "apex": row.apex,
        "offset": row.offset,
        "emotion": emotion,
        "action_units": [code.as_dict() for code in row.action_units],
        "notes": row.notes,
    }


def _describe(field: str, value: object) -> object:
    if isinstance(value, DatasetEmotion):
        return value.name
    if field == "action_units":
        return format_au_string([au_entry_from_dict(item) for item in value])
    return value


def _preprocess_pending(clip: Clip) -> bool:
    return clip.job_runs.filter(
        kind=JobRun.Kind.PREPROCESS, status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING]
    ).exists()


def _import_row(
    *,
    row: ImportRow,
    dataset: Dataset,
    emotions: dict[str, DatasetEmotion],
    user: AbstractBaseUser,
    preprocess: bool,
    frames_root: Path,
) -> dict[str, object]:
    """Store one row; returns its outcome. Raises ApplicationError (or ValidationError) for a
    row that cannot be stored."""
    # The readers refused folders outside the frames root already; this second check keeps a
    # reader's slip from storing a folder that preprocessing would then read and serve.
    source = row.frames.path.resolve()
    if not source.is_relative_to(frames_root):
        raise InvalidRequestError(f"the row's frame folder is {OUTSIDE_ROOT_MESSAGE}")
    subject, _ = Subject.objects.get_or_create(dataset=dataset, code=row.subject)
    clip = Clip.objects.filter(subject=subject, name=row.clip).first()
    source_path = str(source)
    frames = list(row.frames.frame_indices)
    outcome: dict[str, object] = {"row": row.row, "subject": row.subject, "clip": row.clip}
    frames_changed = False
    if clip is None:
        clip = Clip(
            subject=subject,
            name=row.clip,
            fps=row.fps,
            frame_indices=frames,
            frame_count=len(frames),
            source_path=source_path,
            source_checksum=row.frames.checksum,
        )
        clip.full_clean(validate_constraints=False)
        clip.save()
        outcome["outcome"] = "created"
    else:
        if clip.source:
            raise InvalidRequestError(
                f"clip {row.clip} of subject {row.subject} was uploaded, not imported"
            )
        if clip.source_path != source_path or clip.source_checksum != row.frames.checksum:
            frames_changed = True
            clip.source_path, clip.source_checksum = source_path, row.frames.checksum
            clip.frame_indices, clip.frame_count = frames, len(frames)
        if clip.fps != row.fps:
            frames_changed = True
            clip.fps = row.fps
        if frames_changed:
            clip.save(
                update_fields=[
                    "source_path",
                    "source_checksum",
                    "frame_indices",
                    "frame_count",
                    "fps",
                    "updated_at",
                ]
            )

    values = _annotation_values(row, emotions[row.emotion])
    imported = clip.annotations.filter(provenance=Annotation.Provenance.IMPORTED).first()
    if imported is None:
        final = clip.annotations.filter(status=Annotation.Status.ADJUDICATED).first()
        if final is not None:
            raise InvalidRequestError(
                f"clip {row.clip} already has an adjudicated annotation by {final.coder}; "
                "the published label was not stored"
            )
        annotation = Annotation(
            clip=clip,
            coder=user,
            status=Annotation.Status.ADJUDICATED,
            provenance=Annotation.Provenance.IMPORTED,
            **values,
        )
        annotation.full_clean(validate_constraints=False)
        annotation.save()
        outcome.setdefault("outcome", "created")
    else:
        changes = {
            field: [_describe(field, getattr(imported, field)), _describe(field, value)]
            for field, value in values.items()
            if getattr(imported, field) != value
        }
        if changes:
            coding_services.annotation_update(
                annotation=imported,
                revision=imported.revision,
                saved_by=user,
                coding=Coding(
                    onset=row.onset,
                    apex=row.apex,
                    offset=row.offset,
                    emotion=emotions[row.emotion],
                    action_units=list(row.action_units),
                    notes=row.notes,
                ),
            )
            outcome["outcome"] = "updated"
            outcome["changes"] = changes
        elif frames_changed:
            outcome["outcome"] = "frames_changed"
        else:
            outcome.setdefault("outcome", "unchanged")
    if frames_changed and outcome["outcome"] == "updated":
        outcome["frames_changed"] = True

    needs_preprocessing = outcome["outcome"] == "created" or frames_changed
    needs_preprocessing |= clip.media_version == 0 and not _preprocess_pending(clip)
    if preprocess and needs_preprocessing:
        corpus.clip_preprocess_start(clip=clip, created_by=user)
        outcome["preprocess_queued"] = True
    return outcome


def dataset_import_run(
    *,
    import_format: str,
    frames: Path,
    annotations: Path | None,
    user: AbstractBaseUser,
    dataset_name: str | None = None,
    default_fps: float | None = None,
    preprocess: bool = True,
    coding_mode: str | None = None,
    coders_per_clip: int | None = None,
    progress: Progress | None = None,
) -> dict:
    """Import a dataset; returns the validation report (JSON-ready).

    ``import_format`` is casme2, samm, smic or generic-csv. Bad rows are listed under
    ``issues`` and never stop the good ones; a file or folder that cannot be read at all raises
    FileNotFoundError or ApplicationError naming it. Only files inside MESTUDIO_IMPORT_ROOTS (when
    set) are read, and only clip folders and frames inside ``frames`` (`mlcore.datasets`).
    A coding plan given (``coding_mode``, ``coders_per_clip``) becomes the dataset's; what is
    left out keeps an existing dataset's, and a new one gets the defaults.
    """
    if import_format not in IMPORT_FORMATS:
        raise InvalidRequestError(
            f"Unknown format {import_format!r}; choose from {', '.join(IMPORT_FORMATS)}."
        )
    source_format = IMPORT_FORMATS[import_format]
    plan = import_coding_plan(coding_mode=coding_mode, coders_per_clip=coders_per_clip)
    report_progress = progress or no_progress
    frames, annotations = Path(frames), Path(annotations) if annotations else None
    # The start service checked these when the job was queued; the worker checks again, since
    # the command line comes here directly and the roots may have changed since.
    for path in (frames, annotations):
        if path is not None:
            import_path_check(path=path)
    if source_format == "generic" and not dataset_name:
        if annotations is None:
            raise InvalidRequestError("The generic CSV format needs an annotation file.")
        dataset_name = annotations.stem
    name = dataset_name or DEFAULT_DATASET_NAMES[source_format]
    existing = Dataset.objects.filter(name=name).first()
    fps = default_fps or (existing.default_fps if existing else DEFAULT_FPS.get(source_format))
    if fps is None:
        raise InvalidRequestError("The generic CSV format needs a frame rate: give --fps.")

    report_progress(0.0, f"reading {annotations or frames}")
    sheet = read_dataset(
        source_format=source_format, frames=frames, annotations=annotations, default_fps=fps
    )
    dataset = _dataset_for_import(name=name, source_format=source_format, default_fps=fps)
    if plan:
        dataset = coding_services.dataset_coding_plan_update(
            dataset=dataset,
            coding_mode=plan.get("coding_mode", dataset.coding_mode),
            coders_per_clip=plan.get("coders_per_clip", dataset.coders_per_clip),
        )
    known = set(dataset.emotions.values_list("name", flat=True))
    emotions = _ensure_emotions(
        dataset=dataset, words=sheet.vocabulary + [row.emotion for row in sheet.rows]
    )
    issues = list(sheet.issues)
    outcomes = []
    frames_root = frames.resolve()
    total = max(len(sheet.rows), 1)
    for number, row in enumerate(sheet.rows, start=1):
        try:
            with transaction.atomic():
                outcomes.append(
                    _import_row(
                        row=row,
                        dataset=dataset,
                        emotions=emotions,
                        user=user,
                        preprocess=preprocess,
                        frames_root=frames_root,
                    )
                )
        except (InvalidRequestError, ValidationError) as error:
            message = "; ".join(error.messages) if isinstance(error, ValidationError) else error
            issues.append(_issue(row, "not_stored", str(message)))
        report_progress(0.05 + 0.95 * number / total, f"{row.subject}/{row.clip}")

    counts = Counter(str(outcome["outcome"]) for outcome in outcomes)
    severity = Counter(issue.severity for issue in issues)
    issues.sort(key=lambda i: (i.row is None, i.row or 0, i.subject, i.clip, i.code))
    return {
        "format": import_format,
        "dataset": dataset.name,
        "dataset_id": dataset.pk,
        "coding_plan": {
            "coding_mode": dataset.coding_mode,
            "coders_per_clip": dataset.coders_per_clip,
        },
        "annotations": str(annotations) if annotations else None,
        "frames": str(frames),
        "rows_read": sheet.rows_read,
        "counts": {
            "created": counts["created"],
            "updated": counts["updated"],
            "frames_changed": counts["frames_changed"],
            "unchanged": counts["unchanged"],
            "not_taken": severity[ERROR],
            "interpreted": severity["warning"],
            "preprocess_queued": sum(1 for o in outcomes if o.get("preprocess_queued")),
        },
        "emotions_added": sorted(set(emotions) - known),
        "updated": [o for o in outcomes if o["outcome"] == "updated"],
        "created": [o for o in outcomes if o["outcome"] == "created"],
        "issues": [issue.as_dict() for issue in issues],
        "notes": (
            ["SMIC-HS publishes no apex: clips are imported with an empty apex."]
            if source_format == "smic"
            else []
        ),
    }


def import_summary(report: dict) -> str:
    counts = report["counts"]
    return (
        f"{report['dataset']}: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {counts['not_taken']} not taken, "
        f"{counts['interpreted']} interpreted"
    )


def dataset_import_job(*, job_run: JobRun) -> None:
    """The import task's service: run the import and keep the report on the job."""
    options = job_options(job_run=job_run)
    if job_run.created_by is None:
        raise InvalidRequestError(
            "An import needs the user who started it (the imported labels' coder)."
        )
    jobs.job_run_report_progress(
        job_run=job_run, progress=0.0, message=f"Importing {options['import_format']}"
    )
    report = dataset_import_run(
        import_format=options["import_format"],
        frames=Path(options["frames"]),
        annotations=Path(options["annotations"]) if options.get("annotations") else None,
        dataset_name=options.get("dataset_name") or None,
        default_fps=options.get("default_fps"),
        preprocess=bool(options.get("preprocess", True)),
        coding_mode=options.get("coding_mode"),
        coders_per_clip=options.get("coders_per_clip"),
        user=job_run.created_by,
        progress=jobs.job_run_progress_reporter(job_run=job_run),
    )
    jobs.job_run_finish(job_run=job_run, result=report, message=import_summary(report))
