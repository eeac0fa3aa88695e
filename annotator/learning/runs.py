"""The learning loop's worker half: train a run (snapshot, LOSO folds, final model, model
version) on the train queue and score the unlabelled clips on the infer queue. Only workers
import this module: it loads torch and OpenCV."""

import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from django.db import transaction
from django.utils import timezone

from annotator import media
from annotator.corpus import selectors as corpus_selectors
from annotator.errors import ConflictError
from annotator.exchange import exports
from annotator.jobs import services as jobs
from annotator.models import (
    Annotation,
    Clip,
    JobRun,
    ModelVersion,
    Proposal,
    TrainingRun,
)
from mlcore.checksums import file_sha256
from mlcore.composite import CompositeSample, crop_name, read_manifest, write_manifest
from mlcore.facs import au_targets
from mlcore.models.catalogue import catalogue_entry
from mlcore.ranking import novelty_scores
from mlcore.training.checkpoints import load_model
from mlcore.training.interval import propose_clip_interval
from mlcore.training.loop import resolve_device
from mlcore.training.report import clip_id
from mlcore.training.run import train_run
from mlcore.training.uncertainty import clip_uncertainties

INFER_CROP_SIZE = 112


class TrainingStopped(Exception):
    """Raised inside the training progress callback once the attempt is no longer running: an
    admin cancelled it, or its worker restarted and failed it as orphaned."""


# A training job's progress: the snapshot up to 0.1, the model inputs (per clip) up to 0.2, then
# the folds and the final model.
SNAPSHOT_END, INPUTS_END = 0.1, 0.2


def _report_while_running(*, job_run: JobRun, progress: float, message: str) -> None:
    """Write a training attempt's progress, or raise TrainingStopped once it is not running."""
    # The row stays locked from the check to the write, so a cancel landing in between keeps
    # its "Cancelled" message.
    with transaction.atomic():
        status = (
            JobRun.objects.select_for_update().values_list("status", flat=True).get(pk=job_run.pk)
        )
        # Failed too stops it (a worker restarted under its name while this process lived): it
        # must not train on into the folder a retry resumes from.
        if status != JobRun.Status.RUNNING:
            raise TrainingStopped()
        jobs.job_run_report_progress(job_run=job_run, progress=progress, message=message)


def training_input_progress(job_run: JobRun):
    """mlcore's per-clip callback while it builds the model inputs, as the job's progress."""

    def report(fraction: float, message: str) -> None:
        _report_while_running(
            job_run=job_run,
            progress=SNAPSHOT_END + (INPUTS_END - SNAPSHOT_END) * fraction,
            message=f"Building model inputs: {message}",
        )

    return report


def _training_progress(job_run: JobRun):
    def report(fold: int, folds: int, epoch: int, epochs: int, loss: float) -> None:
        stage = "final model" if fold == folds else f"fold {fold}/{folds - 1}"
        _report_while_running(
            job_run=job_run,
            progress=INPUTS_END + (1 - INPUTS_END) * ((fold - 1) + epoch / epochs) / folds,
            message=f"{stage}, epoch {epoch}/{epochs}, loss {loss:.4f}",
        )

    return report


def _run_model_options(*, training_run: TrainingRun, snapshot_dir: Path) -> dict:
    """The run's model options, with FRL-DGT's AU head on where the frozen clips carry AU labels
    (the action units of the coding each clip is trained on), so that its proposals carry AUs.
    Options the run names itself win. A warm start keeps the head choice of the version it
    starts from: its weights must fit the model. Without AU labels the head stays off, because an
    untrained head would show the coders AUs nobody taught it."""
    options = dict(training_run.model_options)
    if "au_head" in options or not catalogue_entry(training_run.model_name).offers_au_head:
        return options
    if training_run.warm_start_from is not None:
        started = training_run.warm_start_from.config.get("model_options", {})
        head = bool(started.get("au_head", False))
    else:
        head = any(au_targets(sample.aus)[1] for sample in read_manifest(snapshot_dir))
    # Off stays unwritten: the options then read as those of every run before the AU head.
    return {**options, "au_head": True} if head else options


def training_run_job(*, job_run: JobRun) -> None:
    """Freeze the snapshot and resolve the model options (first attempt only), train with LOSO
    and a final model, register the model version. The runner has claimed the attempt, so a
    redelivered message never gets here."""
    jobs.job_run_report_progress(job_run=job_run, progress=0.0, message="Freezing the snapshot")
    training_run = TrainingRun.objects.get(pk=job_run.training_run_id)
    root = media.training_root(training_run=training_run)
    snapshot_dir = root / "snapshot"
    if training_run.snapshot_at is None:
        # An attempt killed while freezing leaves a partial folder the export would refuse.
        shutil.rmtree(snapshot_dir, ignore_errors=True)
        export = exports.composite_export_run(
            out_dir=snapshot_dir,
            datasets=list(training_run.datasets.all()),
            min_status=training_run.min_status,
            progress=jobs.job_run_progress_reporter(job_run=job_run, end=SNAPSHOT_END),
        )
        TrainingRun.objects.filter(pk=training_run.pk).update(
            snapshot_at=timezone.now(),
            snapshot={
                key: export[key]
                for key in ("annotation_snapshot", "clips", "subjects", "counts", "left_out")
            },
        )
        training_run.refresh_from_db()
    if training_run.trained_model_options is None:
        # Resolved once: a retry after a change in how options resolve (the AU head came so)
        # must still match the settings mlcore recorded in the run folder, or it cannot resume.
        TrainingRun.objects.filter(pk=training_run.pk).update(
            trained_model_options=_run_model_options(
                training_run=training_run, snapshot_dir=snapshot_dir
            )
        )
        training_run.refresh_from_db()
    warm_start = None
    if training_run.warm_start_from is not None:
        warm_start = media.checkpoint_path(version=training_run.warm_start_from)
    try:
        result = train_run(
            data_dir=snapshot_dir,
            out_dir=root / "run",
            model_name=training_run.model_name,
            model_options=training_run.trained_model_options,
            protocol=training_run.protocol,
            preset=training_run.preset,
            warm_start=warm_start,
            epochs=training_run.epochs,
            seed=training_run.seed,
            apex_policy="propose",
            progress=_training_progress(job_run),
            data_progress=training_input_progress(job_run),
        )
    except TrainingStopped:
        return
    metrics = result.metrics
    full = metrics.get("pooled", {}).get("full", {})
    with transaction.atomic():
        # A cancel (or an orphan failure) after the last progress report still wins.
        running = JobRun.objects.select_for_update().filter(
            pk=job_run.pk, status=JobRun.Status.RUNNING
        )
        if not running.exists():
            return
        TrainingRun.objects.filter(pk=training_run.pk).update(metrics=metrics)
        ModelVersion.objects.create(
            training_run=training_run,
            model_name=training_run.model_name,
            config={
                # What the worker trained with: the preset "auto" resolved to, the model options
                # that preset and the run's own gave.
                "preset": metrics["preset"],
                "model_options": metrics["model_options"],
                "warm_start_from": training_run.warm_start_from_id,
                "protocol": training_run.protocol,
                "epochs": training_run.epochs,
                "seed": training_run.seed,
                "min_status": training_run.min_status,
            },
            metrics=metrics,
            labelled_clips=int(metrics.get("n_clips", 0)),
            checkpoint=media.checkpoint_name(path=result.final_model_path),
            checkpoint_sha256=metrics["final_model"]["sha256"],
        )
        jobs.job_run_finish(
            job_run=job_run,
            result={"uf1": full.get("uf1"), "uar": full.get("uar")},
            message=f"UF1 {full.get('uf1', float('nan')):.3f}, "
            f"UAR {full.get('uar', float('nan')):.3f}",
        )


def _inference_set(*, clips: list[Clip], root: Path) -> list[CompositeSample]:
    """A composite folder of the clips' aligned crops, every frame, for the model to score.
    The label column is required by the layout but unknown here, so it is 0 and never read."""
    samples = []
    for clip in clips:
        sample = CompositeSample(
            dataset=str(clip.subject.dataset_id),
            subject=clip.subject.code,
            clip=f"{clip.pk}",
            label=0,
            emotion="",
            onset=clip.first_frame,
            apex=None,
            offset=clip.last_frame,
            aus="",
            fps=clip.fps,
            frames_dir=f"clips/{clip.pk}",
        )
        folder = root / sample.frames_dir
        folder.mkdir(parents=True, exist_ok=True)
        for frame in clip.frame_indices:
            source = corpus_selectors.clip_media_file(
                clip=clip,
                version=clip.media_version,
                layer=f"aligned-{INFER_CROP_SIZE}",
                frame=frame,
            )
            image = cv2.imread(str(source), cv2.IMREAD_GRAYSCALE) if source else None
            if image is None:
                raise ConflictError(f"{clip}: aligned crop of frame {frame} is missing")
            cv2.imwrite(str(folder / crop_name(frame)), image)
        samples.append(sample)
    write_manifest(root, samples)
    return samples


def proposals_job(*, job_run: JobRun) -> None:
    """Score every ready clip without an adjudicated annotation with the version's model."""
    jobs.job_run_report_progress(job_run=job_run, progress=0.0, message="Loading the model")
    version = ModelVersion.objects.get(pk=job_run.model_version_id)
    checkpoint = media.checkpoint_path(version=version)
    if file_sha256(checkpoint) != version.checkpoint_sha256:
        raise ConflictError(f"{checkpoint} does not match the checksum recorded for {version}")
    model = load_model(checkpoint, device=resolve_device(None))
    clips = list(
        Clip.objects.filter(ingest_status=Clip.IngestStatus.READY)
        .exclude(annotations__status=Annotation.Status.ADJUDICATED)
        .select_related("subject")
        .order_by("pk")
    )
    root = media.inference_root(job_run=job_run)
    shutil.rmtree(root, ignore_errors=True)
    try:
        if clips:
            jobs.job_run_report_progress(job_run=job_run, progress=0.05, message="Writing crops")
            samples = _inference_set(clips=clips, root=root)
            jobs.job_run_report_progress(
                job_run=job_run, progress=0.2, message="Proposing intervals"
            )
            intervals = [propose_clip_interval(root, sample) for sample in samples]
            # The model classifies at the proposed apex; its inputs stay the whole clip.
            write_manifest(
                root,
                [replace(s, apex=i.apex) for s, i in zip(samples, intervals, strict=True)],
            )
            rows, embeddings = clip_uncertainties(
                data_dir=root,
                model=model,
                progress=jobs.job_run_progress_reporter(job_run=job_run, start=0.3, end=0.95),
            )
            # The rows come in the manifest's order (sorted by subject code and clip name),
            # not in the clips' order: pair them by the clip each row names.
            position = {row["clip"]: index for index, row in enumerate(rows)}
            order = [position[clip_id(sample)] for sample in samples]
            rows, embeddings = [rows[index] for index in order], embeddings[order]
            _proposals_store(
                version=version,
                clips=clips,
                rows=rows,
                intervals=intervals,
                class_names=model.class_names,
                embeddings=embeddings,
            )
        else:
            Proposal.objects.filter(model_version=version).delete()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    jobs.job_run_finish(
        job_run=job_run, result={"clips": len(clips)}, message=f"{len(clips)} clips scored"
    )


def _proposals_store(
    *, version, clips, rows, intervals, class_names, embeddings: np.ndarray
) -> None:
    novelty = novelty_scores(embeddings)  # the simulation's formula: it measures what coders get
    objects = []
    for clip, row, interval, vector, spread in zip(
        clips, rows, intervals, embeddings, novelty, strict=True
    ):
        # A row paired with the wrong clip would store one clip's class on another.
        if int(row["apex"]) != interval.apex:
            raise ValueError(f"{clip}: scored at apex {row['apex']}, proposed {interval.apex}")
        objects.append(
            Proposal(
                clip=clip,
                model_version=version,
                onset=interval.onset,
                apex=interval.apex,
                offset=interval.offset,
                apex_confidence=float(interval.confidence),
                probabilities=dict(zip(class_names, row["probabilities"], strict=True)),
                predicted_class=row["predicted"],
                # Empty for a version without an AU head: no AU was proposed, not "none".
                action_units=row["aus"] or {},
                entropy=row["entropy"],
                margin=row["margin"],
                bald=row["bald"],
                novelty=float(spread),
                embedding=[round(float(x), 5) for x in vector],
            )
        )
    with transaction.atomic():
        # This scoring replaces the version's earlier one: clips adjudicated since lose theirs.
        Proposal.objects.filter(model_version=version).delete()
        Proposal.objects.bulk_create(objects)
