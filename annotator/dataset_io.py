"""Dataset import and export: published labels in, MEGC2019-style splits out, ELAN both ways.

Import reads a dataset's annotation sheet and frame folders with `mlcore.datasets` and stores
each clip's published label as ONE annotation with provenance ``imported`` and status
``adjudicated`` (the dataset's ground truth), keyed by (clip, provenance): importing the same
files again changes nothing, and a changed row updates its annotation and says so.

Export writes the composite layout of `mlcore.composite` (manifest, LOSO folds, PNG crops),
MEGC2019's ``combined_3class_gt.csv``, optionally STSTNet flow folders, and ``export.json``
with checksums. Everything is sorted and dated by the annotations, never by the clock, so the
same data exports to the same bytes.
"""

import json
import os
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

import mlcore
from annotator import selectors, services
from annotator.import_roots import import_path_check
from annotator.models import Annotation, Clip, Dataset, DatasetEmotion, JobRun, Subject
from mlcore.checksums import file_sha256
from mlcore.composite import CompositeSample, crop_name, loso_folds, write_folds, write_manifest
from mlcore.datasets import DEFAULT_FPS, ImportIssue, ImportRow, read_dataset
from mlcore.datasets.common import ERROR, OUTSIDE_ROOT_MESSAGE
from mlcore.datasets.megc import (
    GT_NAME,
    PUBLISHED_COUNTS,
    GroundTruthRow,
    ground_truth_bytes,
    megc2019_omission,
    megc_clip,
    megc_subject,
    natural_key,
)
from mlcore.datasets.ststnet import FlowSample, flow_image, ststnet_subject, write_ststnet
from mlcore.elan import ElanCoding, eaf_text, read_eaf
from mlcore.facs import au_entry_from_dict, format_au_string
from mlcore.labels import EXCLUDED, MEGC2019_RULE, composite_label, megc2019_class

Progress = Callable[[float, str], None]

# Command-line and form names of the import formats -> Dataset.source_format.
IMPORT_FORMATS = {"casme2": "casme2", "samm": "samm", "smic": "smic", "generic-csv": "generic"}
DEFAULT_DATASET_NAMES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC-HS"}
MEGC_DATASETS = ("casme2", "samm", "smic")

EXPORT_JSON = "export.json"
README_NAME = "README.md"
STSTNET_DIR = "ststnet"
KEY_FRAMES_DIR = "full"  # onset, apex and offset frames as recorded, inside each clip's folder
# Which annotation of a clip an export takes, in the words the export form shows.
MIN_STATUS_LABELS = {
    "adjudicated": "Adjudicated only (the reviewer's final annotations)",
    "submitted": "Adjudicated, or else a clip's one submitted annotation (clips coded twice "
    "and not yet adjudicated are left out)",
}
MIN_STATUSES = tuple(MIN_STATUS_LABELS)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FLOW_WORKERS = min(8, os.cpu_count() or 1)
# Characters the ground-truth CSV or the per-clip folders cannot hold.
_UNWRITABLE = frozenset(',"/\\\r\n')


def _noop(fraction: float, message: str) -> None:
    return None


# --- Import ------------------------------------------------------------------------------------


def _dataset_for_import(*, name: str, source_format: str, default_fps: float) -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        return Dataset.objects.create(
            name=name, source_format=source_format, default_fps=default_fps
        )
    if dataset.source_format != source_format:
        raise ValueError(
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
    """Store one row; returns its outcome. Raises ValueError for a row that cannot be stored."""
    # The readers refused folders outside the frames root already; this second check keeps a
    # reader's slip from storing a folder that preprocessing would then read and serve.
    source = row.frames.path.resolve()
    if not source.is_relative_to(frames_root):
        raise ValueError(f"the row's frame folder is {OUTSIDE_ROOT_MESSAGE}")
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
            raise ValueError(f"clip {row.clip} of subject {row.subject} was uploaded, not imported")
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
            raise ValueError(
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
            services.annotation_update(
                annotation=imported,
                revision=imported.revision,
                onset=row.onset,
                apex=row.apex,
                offset=row.offset,
                emotion=emotions[row.emotion],
                action_units=list(row.action_units),
                notes=row.notes,
                saved_by=user,
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
        services.clip_preprocess_start(clip=clip, created_by=user)
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
    progress: Progress | None = None,
) -> dict:
    """Import a dataset; returns the validation report (JSON-ready).

    ``import_format`` is casme2, samm, smic or generic-csv. Bad rows are listed under
    ``issues`` and never stop the good ones; a file or folder that cannot be read at all raises
    FileNotFoundError or ValueError naming it. Only files inside MESTUDIO_IMPORT_ROOTS (when
    set) are read, and only clip folders and frames inside ``frames`` (`mlcore.datasets`).
    """
    if import_format not in IMPORT_FORMATS:
        raise ValueError(
            f"Unknown format {import_format!r}; choose from {', '.join(IMPORT_FORMATS)}."
        )
    source_format = IMPORT_FORMATS[import_format]
    report_progress = progress or _noop
    frames, annotations = Path(frames), Path(annotations) if annotations else None
    # The start service checked these when the job was queued; the worker checks again, since
    # the command line comes here directly and the roots may have changed since.
    for path in (frames, annotations):
        if path is not None:
            import_path_check(path=path)
    if source_format == "generic" and not dataset_name:
        if annotations is None:
            raise ValueError("The generic CSV format needs an annotation file.")
        dataset_name = annotations.stem
    name = dataset_name or DEFAULT_DATASET_NAMES[source_format]
    existing = Dataset.objects.filter(name=name).first()
    fps = default_fps or (existing.default_fps if existing else DEFAULT_FPS.get(source_format))
    if fps is None:
        raise ValueError("The generic CSV format needs a frame rate: give --fps.")

    report_progress(0.0, f"reading {annotations or frames}")
    sheet = read_dataset(
        source_format=source_format, frames=frames, annotations=annotations, default_fps=fps
    )
    dataset = _dataset_for_import(name=name, source_format=source_format, default_fps=fps)
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
        except (ValueError, ValidationError) as error:
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


def _job_create_with_options(
    *, kind: str, created_by: AbstractBaseUser, options: dict, enqueue: Callable[[int], None]
) -> JobRun:
    # The options ride on the row (shown in the admin until the result replaces them); the
    # atomic block makes the task, enqueued on commit, always find them.
    with transaction.atomic():
        job_run = services.job_run_create(
            kind=kind, queue="preprocess", created_by=created_by, enqueue=enqueue
        )
        JobRun.objects.filter(pk=job_run.pk).update(result={"options": options})
    job_run.refresh_from_db()
    return job_run


def job_options(*, job_run: JobRun) -> dict:
    options = job_run.result.get("options")
    if not isinstance(options, dict):
        raise ValueError(f"Job #{job_run.pk} carries no options (was it started by its service?)")
    return options


def dataset_import_job(*, job_run: JobRun) -> None:
    """The import task's service: run the import and keep the report on the job."""
    options = job_options(job_run=job_run)
    if job_run.created_by is None:
        raise ValueError("An import needs the user who started it (the imported labels' coder).")
    services.job_run_report_progress(
        job_run=job_run, progress=0.0, message=f"Importing {options['import_format']}"
    )
    report = dataset_import_run(
        import_format=options["import_format"],
        frames=Path(options["frames"]),
        annotations=Path(options["annotations"]) if options.get("annotations") else None,
        dataset_name=options.get("dataset_name") or None,
        default_fps=options.get("default_fps"),
        preprocess=bool(options.get("preprocess", True)),
        user=job_run.created_by,
        progress=services.job_run_progress_reporter(job_run=job_run),
    )
    services.job_run_finish(job_run=job_run, result=report, message=import_summary(report))


def dataset_import_start(
    *,
    created_by: AbstractBaseUser,
    import_format: str,
    frames: str,
    annotations: str | None,
    dataset_name: str | None = None,
    default_fps: float | None = None,
    preprocess: bool = True,
) -> JobRun:
    """Queue an import on the preprocess queue; `dataset_import_job` runs it."""
    if import_format not in IMPORT_FORMATS:
        raise ValueError(f"Unknown format {import_format!r}.")
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
    }
    return _job_create_with_options(
        kind=JobRun.Kind.IMPORT,
        created_by=created_by,
        options=options,
        enqueue=services.task_sender(task="annotator.dataset_import", queue="preprocess"),
    )


# --- Export ------------------------------------------------------------------------------------


def _export_key(dataset: Dataset) -> str:
    return (
        dataset.source_format if dataset.source_format in MEGC_DATASETS else slugify(dataset.name)
    )


def _chosen_annotations(*, datasets: list[Dataset], min_status: str) -> tuple[list, list]:
    """One annotation per clip (the adjudicated one; with ``submitted``, else the single
    submitted one) and the clips left out, with why."""
    clips = (
        Clip.objects.filter(subject__dataset__in=datasets)
        .select_related("subject__dataset")
        .order_by("subject__dataset__name", "subject__code", "name")
    )
    annotations: dict[int, list[Annotation]] = {}
    for annotation in (
        Annotation.objects.filter(clip__in=clips)
        .exclude(status=Annotation.Status.DRAFT)
        .select_related("emotion")
        .order_by("pk")
    ):
        annotations.setdefault(annotation.clip_id, []).append(annotation)
    chosen, left_out = [], []
    for clip in clips:
        own = annotations.get(clip.pk, [])
        final = [a for a in own if a.status == Annotation.Status.ADJUDICATED]
        submitted = [a for a in own if a.status == Annotation.Status.SUBMITTED]
        if final:
            chosen.append((clip, final[0]))
        elif min_status == "submitted" and len(submitted) == 1:
            chosen.append((clip, submitted[0]))
        else:
            reason = (
                "several submitted annotations and no adjudication"
                if min_status == "submitted" and submitted
                else f"no {min_status} annotation"
            )
            left_out.append((clip, reason))
    return chosen, left_out


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ValueError(f"{out_dir} is a file, not a folder")
        if any(out_dir.iterdir()):
            if not (out_dir / EXPORT_JSON).is_file():
                raise ValueError(
                    f"{out_dir} is not empty and holds no {EXPORT_JSON}: refusing to overwrite "
                    "what is not an earlier export"
                )
            shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_clip_images(
    *, clip: Clip, sample: CompositeSample, out_dir: Path, layer: str, apex: int | None
) -> None:
    folder = out_dir / sample.frames_dir
    (folder / KEY_FRAMES_DIR).mkdir(parents=True, exist_ok=True)
    for frame in clip.frame_indices:
        if not sample.onset <= frame <= sample.offset:
            continue
        source = selectors.clip_media_file(
            clip=clip, version=clip.media_version, layer=layer, frame=frame
        )
        image = cv2.imread(str(source)) if source is not None else None
        if image is None:
            raise ValueError(f"{clip}: aligned crop of frame {frame} ({layer}) is missing")
        if not cv2.imwrite(str(folder / crop_name(frame)), image):
            raise OSError(f"cannot write {folder / crop_name(frame)}")
    for frame in sorted({sample.onset, sample.offset} | ({apex} if apex is not None else set())):
        source = selectors.clip_media_file(
            clip=clip, version=clip.media_version, layer="frame", frame=frame
        )
        if source is None:
            raise ValueError(f"{clip}: frame {frame} is missing from the preprocessed media")
        shutil.copyfile(source, folder / KEY_FRAMES_DIR / f"{frame:06d}{source.suffix}")


def _flow_apex(clip: Clip, sample: CompositeSample) -> tuple[int, bool]:
    """The apex the flow goes to; without one (SMIC-HS), the frame of largest motion that
    preprocessing measured, else the middle frame."""
    if sample.apex is not None:
        return sample.apex, False
    peak = clip.preprocess_meta.get("motion_peak_frame")
    if isinstance(peak, int) and sample.onset <= peak <= sample.offset:
        return peak, True
    inside = [f for f in clip.frame_indices if sample.onset <= f <= sample.offset]
    return inside[len(inside) // 2], True


def _megc2019_verdict(
    *,
    key: str,
    annotation: Annotation,
    mapped: str,
    where: dict[str, str],
    report: dict[str, list[dict[str, str]]],
) -> tuple[str, str | None]:
    """(class, why left out or None) of a clip in MEGC2019's official list; what differs from
    the dataset's mapping (``mapped``) goes into ``report``."""
    name = annotation.emotion.name if annotation.emotion else ""
    omission = megc2019_omission(
        dataset=key, emotion=name, onset=annotation.onset, apex=annotation.apex
    )
    if omission is not None:
        if mapped != EXCLUDED:
            report["omitted"].append({**where, "reason": omission})
        return EXCLUDED, omission
    official = megc2019_class(name, source_format=key)
    if mapped == EXCLUDED:
        reason = f"megc2019 counts {name!r} as {official}; this dataset's mapping excludes it"
        report["added"].append({**where, "reason": reason})
    elif mapped != official:
        reason = f"megc2019 counts {name!r} as {official}; this dataset's mapping says {mapped}"
        report["relabelled"].append({**where, "reason": reason})
    return official, None


def _unexportable(*, clip: Clip, annotation: Annotation, layer: str) -> str | None:
    """Why a clip the composite takes cannot be written, or None."""
    if annotation.onset is None or annotation.offset is None:
        return "no onset or offset"
    if clip.ingest_status != Clip.IngestStatus.READY or layer not in (
        selectors.clip_media_layers(clip=clip)
    ):
        return f"not preprocessed ({clip.ingest_status}, no {layer} crops)"
    if any(char in f"{clip.subject.code}{clip.name}" for char in _UNWRITABLE):
        return "subject or clip name holds a comma, quote, slash or line break"
    return None


def _mapping_rules(datasets: dict[str, Dataset]) -> dict[str, dict[str, object]]:
    """Per export key: the rule the dataset's emotion mapping follows and any edits to it."""
    rules = {}
    for key, dataset in sorted(datasets.items()):
        edits = {
            emotion.name: {"megc2019": default, "used": emotion.composite_class}
            for emotion in dataset.emotions.order_by("name")
            if (default := megc2019_class(emotion.name, source_format=dataset.source_format))
            != emotion.composite_class
        }
        rules[key] = {"rule": MEGC2019_RULE + (" (edited)" if edits else ""), "edits": edits}
    return rules


def composite_export_run(
    *,
    out_dir: Path,
    datasets: list[Dataset] | None = None,
    min_status: str = "adjudicated",
    flows: bool = False,
    megc2019: bool = False,
    crop_size: int = 112,
    progress: Progress | None = None,
) -> dict:
    """Write the composite export of ``datasets`` (default all) to ``out_dir``; returns the
    contents of ``export.json``. ``out_dir`` must be empty, new, or an earlier export.

    Labels come from each dataset's emotion mapping (``megc2019`` unless an admin edited it).
    With ``megc2019``, the export is MEGC2019's official composite list instead: the published
    rule whatever the mappings say, CASME II clips whose apex is missing or equal to the onset
    left out (`mlcore.datasets.megc.megc2019_omission`), and every clip it adds, omits or
    relabels compared with the mappings listed with the reason under ``megc2019``."""
    if min_status not in MIN_STATUSES:
        raise ValueError(f"min status {min_status!r}: choose from {', '.join(MIN_STATUSES)}")
    report_progress = progress or _noop
    out_dir = Path(out_dir)
    datasets = sorted(datasets if datasets is not None else Dataset.objects.all(), key=str)
    keys: dict[str, Dataset] = {}
    for dataset in datasets:
        key = _export_key(dataset)
        if key in keys:
            raise ValueError(
                f"Datasets {keys[key].name!r} and {dataset.name!r} would both export as {key!r}; "
                "export them separately."
            )
        keys[key] = dataset
    _prepare_out_dir(out_dir)
    chosen, not_annotated = _chosen_annotations(datasets=datasets, min_status=min_status)
    layer = f"aligned-{crop_size}"
    left_out = [
        {"dataset": c.subject.dataset.name, "subject": c.subject.code, "clip": c.name, "reason": r}
        for c, r in not_annotated
    ]
    samples: list[tuple[Clip, Annotation, CompositeSample]] = []
    rule_report: dict[str, list[dict[str, str]]] = {"added": [], "omitted": [], "relabelled": []}
    for clip, annotation in chosen:
        key = _export_key(clip.subject.dataset)
        emotion = annotation.emotion
        where = {
            "dataset": clip.subject.dataset.name,
            "subject": clip.subject.code,
            "clip": clip.name,
        }
        mapped = emotion.composite_class if emotion else EXCLUDED
        composite_class, reason = mapped, None
        if megc2019:
            composite_class, reason = _megc2019_verdict(
                key=key, annotation=annotation, mapped=mapped, where=where, report=rule_report
            )
        elif mapped == EXCLUDED:
            reason = f"emotion {emotion.name if emotion else None!r} is excluded from the composite"
        if reason is None:
            reason = _unexportable(clip=clip, annotation=annotation, layer=layer)
        if reason is not None:
            left_out.append({**where, "reason": reason})
            continue
        subject = megc_subject(dataset=key, subject=clip.subject.code)
        name = megc_clip(dataset=key, subject=clip.subject.code, clip=clip.name)
        sample = CompositeSample(
            dataset=key,
            subject=subject,
            clip=name,
            label=int(composite_label(composite_class)),
            emotion=emotion.name,
            onset=annotation.onset,
            apex=annotation.apex,
            offset=annotation.offset,
            aus=format_au_string(annotation.au_entries),
            fps=float(clip.fps),
            frames_dir=f"{key}/{subject}/{name}",
        )
        samples.append((clip, annotation, sample))
    samples.sort(key=lambda item: (item[2].dataset, natural_key(item[2].subject), item[2].clip))

    total = max(len(samples), 1)
    images_share = 0.45 if flows else 0.9
    for number, (clip, _annotation, sample) in enumerate(samples, start=1):
        _write_clip_images(clip=clip, sample=sample, out_dir=out_dir, layer=layer, apex=sample.apex)
        report_progress(images_share * number / total, f"{sample.subject_key}/{sample.clip}")

    apex_estimated = []
    flow_samples = []
    if flows:
        subject_folders = _ststnet_subject_folders(
            {s.subject_key: c.subject.code for c, _, s in samples}
        )
        apexes = [_flow_apex(clip, sample) for clip, _, sample in samples]
        apex_estimated = [
            f"{sample.subject_key}/{sample.clip}:{apex}"
            for (_, _, sample), (apex, estimated) in zip(samples, apexes, strict=True)
            if estimated
        ]

        def compute(index: int) -> FlowSample:
            sample, (apex, _) = samples[index][2], apexes[index]
            onset_image = cv2.imread(str(sample.frame_path(out_dir, sample.onset)))
            apex_image = cv2.imread(str(sample.frame_path(out_dir, apex)))
            return FlowSample(
                subject=subject_folders[sample.subject_key],
                label=sample.label,
                name=f"{subject_folders[sample.subject_key]}_{sample.clip}",
                image=flow_image(onset=onset_image, apex=apex_image),
            )

        # TV-L1 dominates the export (~0.3 s a clip on one core); OpenCV releases the GIL.
        with ThreadPoolExecutor(max_workers=_FLOW_WORKERS) as pool:
            for number, flow_sample in enumerate(pool.map(compute, range(len(samples))), 1):
                flow_samples.append(flow_sample)
                report_progress(0.45 + 0.45 * number / total, f"flow {number}/{len(samples)}")

    composite = [sample for _, _, sample in samples]
    write_manifest(out_dir, composite)
    write_folds(out_dir, composite)
    (out_dir / GT_NAME).write_bytes(
        ground_truth_bytes(
            [GroundTruthRow(s.dataset, s.subject, s.clip, s.label) for s in composite]
        )
    )
    if flows:
        report_progress(0.92, "writing STSTNet folders")
        write_ststnet(root=out_dir / STSTNET_DIR, samples=flow_samples)

    snapshot = max((a.updated_at for _, a, _ in samples), default=None)
    per_class = Counter(s.label for s in composite)
    per_dataset: dict[str, Counter] = {}
    for sample in composite:
        per_dataset.setdefault(sample.dataset, Counter())[sample.label] += 1
    class_names = {0: "negative", 1: "positive", 2: "surprise"}
    (out_dir / README_NAME).write_text(
        _readme_text(megc2019=megc2019, flows=flows), encoding="utf-8"
    )
    report_progress(0.95, "checksums")
    files = {
        path.relative_to(out_dir).as_posix(): file_sha256(path)
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    }
    summary = {
        "platform_version": mlcore.__version__,
        "annotation_snapshot": snapshot.isoformat() if snapshot else None,
        "min_status": min_status,
        "crop_size": crop_size,
        "flows": flows,
        "datasets": {key: keys[key].name for key in sorted(keys)},
        "clips": len(composite),
        "subjects": len({s.subject_key for s in composite}),
        "folds": len(loso_folds(composite)),
        "counts": {
            "per_class": {class_names[c]: per_class[c] for c in sorted(class_names)},
            "per_dataset": {
                key: {class_names[c]: counter[c] for c in sorted(class_names)}
                for key, counter in sorted(per_dataset.items())
            },
        },
        "composite_rule": "megc2019 official list" if megc2019 else "dataset mappings",
        "mappings": _mapping_rules(keys),
        "left_out": _by_clip(left_out),
        "flow_apex_estimated": apex_estimated,
        "files": files,
    }
    if megc2019:
        summary["megc2019"] = {
            **{change: _by_clip(items) for change, items in rule_report.items()},
            "published": _published_comparison(composite),
        }
    (out_dir / EXPORT_JSON).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    report_progress(1.0, f"{len(composite)} clips exported")
    return summary


def _by_clip(items: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(items, key=lambda i: (i["dataset"], i["subject"], i["clip"]))


def _published_comparison(composite: list[CompositeSample]) -> dict[str, dict[str, object]]:
    """Per MEGC2019 dataset: the exported counts beside the published ones."""
    comparison = {}
    for key, published in PUBLISHED_COUNTS.items():
        own = [s for s in composite if s.dataset == key]
        labels = Counter(s.label for s in own)
        exported = {
            "clips": len(own),
            "subjects": len({s.subject for s in own}),
            **{
                name: labels[int(composite_label(name))]
                for name in ("negative", "positive", "surprise")
            },
        }
        comparison[key] = {
            "published": published,
            "exported": exported,
            "matches": exported == published,
        }
    return comparison


def _readme_text(*, megc2019: bool, flows: bool) -> str:
    """What each file is and how it spells subjects and clips (they differ on purpose)."""
    rule = (
        "MEGC2019's official composite list (megc2019 rule; CASME II clips whose apex is "
        "missing or equal to the onset left out; see export.json 'megc2019')"
        if megc2019
        else "each dataset's emotion mapping (export.json 'mappings' names the rule, megc2019, "
        "and any edits)"
    )
    lines = [
        "# MEStudio composite export",
        "",
        f"Labels: {rule}.",
        "",
        "| file | subjects and clips spelled as |",
        "|---|---|",
        f"| {GT_NAME} | MEGC2019's ground truth: casme2 `sub01`, samm `6` (unpadded), "
        "smic `s01` with clip `s01_ne_01`; no header, CRLF |",
        "| manifest.csv, loso_folds.json, <dataset>/<subject>/<clip>/ | the same MEGC2019 "
        "spelling (`samm/6/006_1_2/`) |",
    ]
    if flows:
        lines.append(
            f"| {STSTNET_DIR}/<subject>/u_train, u_test/<label>/<subject>_<clip>.png | STSTNet's "
            "own spelling, as its published weights and subject list: `sub01`, `006` (SAMM "
            "zero-padded), `s01`; e.g. `006/u_test/0/006_006_1_2.png` |"
        )
    lines += [
        f"| {EXPORT_JSON} | counts, what was left out and why, SHA-256 of every other file |",
        "",
        "Labels: 0 negative, 1 positive, 2 surprise.",
        "",
    ]
    return "\n".join(lines)


def _ststnet_subject_folders(source_subjects: dict[str, str]) -> dict[str, str]:
    """LOSO folder per dataset-qualified subject (``samm/6``), from the subject as the source
    writes it (``006``): STSTNet's spelling, qualified by the dataset only where two datasets
    share a spelling."""
    spelled = {
        key: ststnet_subject(dataset=key.split("/", 1)[0], subject=source)
        for key, source in source_subjects.items()
    }
    counts = Counter(spelled.values())
    return {
        key: name if counts[name] == 1 else f"{key.split('/', 1)[0]}_{name}"
        for key, name in sorted(spelled.items())
    }


def export_zip(*, out_dir: Path, zip_path: Path) -> Path:
    """Zip an export with fixed timestamps and sorted entries: same files, same zip bytes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for path in sorted(out_dir.rglob("*")):
            if path.is_file():
                entry = zipfile.ZipInfo(
                    f"{out_dir.name}/{path.relative_to(out_dir).as_posix()}", date_time=ZIP_DATE
                )
                # PNG and JPEG are compressed already; the CSV and JSON files are small.
                entry.compress_type = zipfile.ZIP_STORED
                archive.writestr(entry, path.read_bytes())
    temporary.replace(zip_path)
    return zip_path


def export_folder(*, job_run: JobRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / str(job_run.pk)


def export_zip_path(*, job_run: JobRun) -> Path:
    return export_folder(job_run=job_run) / "composite.zip"


def composite_export_job(*, job_run: JobRun) -> None:
    """The export task's service: export, zip for download, keep the summary on the job."""
    options = job_options(job_run=job_run)
    services.job_run_report_progress(job_run=job_run, progress=0.0, message="Exporting")
    dataset_ids = options.get("dataset_ids")
    datasets = list(Dataset.objects.filter(pk__in=dataset_ids)) if dataset_ids else None
    folder = export_folder(job_run=job_run)
    summary = composite_export_run(
        out_dir=folder / "composite",
        datasets=datasets,
        min_status=options.get("min_status", "adjudicated"),
        flows=bool(options.get("flows")),
        megc2019=bool(options.get("megc2019")),
        progress=services.job_run_progress_reporter(job_run=job_run, end=0.95),
    )
    export_zip(out_dir=folder / "composite", zip_path=export_zip_path(job_run=job_run))
    shutil.rmtree(folder / "composite")
    result = {key: value for key, value in summary.items() if key != "files"}
    result["file_count"] = len(summary["files"])
    services.job_run_finish(
        job_run=job_run,
        result=result,
        message=f"{summary['clips']} clips from {summary['subjects']} subjects exported",
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
        raise ValueError(f"min status {min_status!r}: choose from {', '.join(MIN_STATUSES)}")
    return _job_create_with_options(
        kind=JobRun.Kind.EXPORT,
        created_by=created_by,
        options={
            "dataset_ids": dataset_ids,
            "min_status": min_status,
            "flows": flows,
            "megc2019": megc2019,
        },
        enqueue=services.task_sender(task="annotator.composite_export", queue="preprocess"),
    )


# --- ELAN --------------------------------------------------------------------------------------


def _eaf_media_name(clip: Clip) -> str:
    """The uploaded video's file name, which the EAF links; frame folders have no video."""
    source = clip.source.name if clip.source else ""
    return Path(source).name if Path(source).suffix.lower() in services.VIDEO_SUFFIXES else ""


def clip_eaf_export(*, annotation: Annotation) -> tuple[str, bytes]:
    """(file name, EAF bytes) of one annotation of its clip."""
    clip = annotation.clip
    if clip.first_frame is None:
        raise ValueError(f"{clip} has no frames yet: an EAF needs the clip's first frame.")
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
    draft = services.clip_claim(clip=clip, coder=coder)
    return services.annotation_update(
        annotation=draft,
        revision=draft.revision,
        onset=coding.onset,
        apex=coding.apex,
        offset=coding.offset,
        emotion=emotion,
        action_units=list(coding.action_units),
        notes=coding.notes,
        saved_by=coder,
    )
