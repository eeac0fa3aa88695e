"""The learning loop's web half: check a request, create its rows and job, enqueue it on commit;
the workers run `annotator.learning.runs`."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from annotator.errors import (
    ConflictError,
    InvalidRequestError,
    TrainingBusyError,
    TrainingSelectionError,
)
from annotator.exchange.selection import composite_selection
from annotator.jobs import services as jobs
from annotator.models import (
    Dataset,
    JobRun,
    ModelVersion,
    QueueSettings,
    TrainingRun,
)
from mlcore.models import list_models
from mlcore.presets import AUTO, PRESET_CHOICES


def _selection_key(datasets: list[Dataset]) -> str:
    return ",".join(str(pk) for pk in sorted({d.pk for d in datasets}))


def _enqueue_training(*, training_run: TrainingRun, created_by) -> JobRun:
    job_run = jobs.job_run_create(
        kind=JobRun.Kind.TRAIN,
        queue="train",
        created_by=created_by,
        enqueue=jobs.task_sender(task="annotator.training_run", queue="train"),
    )
    JobRun.objects.filter(pk=job_run.pk).update(training_run=training_run)
    job_run.training_run = training_run
    return job_run


@dataclass(frozen=True, slots=True)
class TrainingPreview:
    """What a run on a selection would train on, as its snapshot will freeze it now."""

    clips: int
    counts: dict[str, dict]  # per_class, per_dataset (and class), per_subject
    left_out: list[dict[str, str]]  # dataset, subject, clip, reason
    problems: list[str]  # why it cannot be evaluated; empty when it can

    @property
    def subjects(self) -> int:
        return len(self.counts["per_subject"])


def training_selection_preview(*, datasets: list[Dataset], min_status: str) -> TrainingPreview:
    """The clips per class, subject and dataset a run would use, the clips it would leave out
    and why, and what makes the selection impossible to evaluate (fewer than two subjects, a
    class with no clip): the export the worker freezes, asked before the run starts."""
    unique = list({dataset.pk: dataset for dataset in datasets}.values())  # as the run's key
    selection = composite_selection(datasets=unique, min_status=min_status)
    counts = selection.counts()
    problems = []
    subjects = len(counts["per_subject"])
    if subjects < 2:
        problems.append(
            f"{subjects} subject{'s' if subjects != 1 else ''} with usable clips: evaluation "
            "holds subjects out, so it needs at least two."
        )
    empty = [name for name, count in counts["per_class"].items() if count == 0]
    if empty:
        problems.append(
            f"No clip of class {', '.join(empty)}: every class needs at least one clip to be "
            "learnt and scored."
        )
    return TrainingPreview(
        clips=len(selection.samples), counts=counts, left_out=selection.left_out, problems=problems
    )


def training_run_start(
    *,
    datasets: list[Dataset],
    model_name: str,
    protocol: str = TrainingRun.Protocol.LOSO,
    epochs: int = 30,
    min_status: str = TrainingRun.MinStatus.ADJUDICATED,
    seed: int = 0,
    model_options: dict | None = None,
    preset: str = AUTO,
    warm_start: bool = False,
    created_by: AbstractBaseUser | None,
) -> TrainingRun:
    """Queue a run. ``preset``: mlcore's training preset (``auto`` is resolved by the worker);
    ``warm_start``: start from the active model version's weights instead of from scratch."""
    if not datasets:
        raise InvalidRequestError("Choose at least one dataset to train on.")
    if model_name not in list_models():
        raise InvalidRequestError(
            f"Unknown model {model_name!r}; choose one of {', '.join(list_models())}."
        )
    if preset not in PRESET_CHOICES:
        raise InvalidRequestError(
            f"Unknown preset {preset!r}; choose one of {', '.join(PRESET_CHOICES)}."
        )
    warm_start_from = None
    if warm_start:
        warm_start_from = ModelVersion.objects.filter(is_active=True).first()
        if warm_start_from is None:
            raise InvalidRequestError(
                "No model version is active to start from; train from scratch."
            )
        if warm_start_from.model_name != model_name:
            raise InvalidRequestError(
                f"The active version {warm_start_from} is a {warm_start_from.model_name} model; "
                f"a {model_name} run cannot start from it. Train from scratch or choose "
                f"{warm_start_from.model_name}."
            )
    preview = training_selection_preview(datasets=datasets, min_status=min_status)
    if preview.problems:
        raise TrainingSelectionError(
            "This selection cannot be evaluated. " + " ".join(preview.problems)
        )
    key = _selection_key(datasets)
    with transaction.atomic():
        # Locking the datasets serialises concurrent starts for the same selection.
        list(Dataset.objects.select_for_update().filter(pk__in=[d.pk for d in datasets]))
        busy = JobRun.objects.filter(
            kind=JobRun.Kind.TRAIN,
            status__in=JobRun.ACTIVE_STATUSES,
            training_run__selection_key=key,
        )
        if busy.exists():
            raise TrainingBusyError(
                "A training run on these datasets is already queued or running; wait for it or "
                "cancel it."
            )
        training_run = TrainingRun.objects.create(
            selection_key=key,
            model_name=model_name,
            model_options=model_options or {},
            protocol=protocol,
            preset=preset,
            warm_start_from=warm_start_from,
            epochs=epochs,
            seed=seed,
            min_status=min_status,
            created_by=created_by,
        )
        training_run.datasets.set(datasets)
        _enqueue_training(training_run=training_run, created_by=created_by)
    return training_run


def training_run_retry(*, training_run: TrainingRun, created_by) -> JobRun:
    """A new attempt; training resumes after the folds the failed attempt finished."""
    with transaction.atomic():
        latest = JobRun.objects.select_for_update().filter(training_run=training_run)
        if latest.filter(status__in=JobRun.ACTIVE_STATUSES).exists():
            raise TrainingBusyError("This run is still queued or running.")
        if hasattr(training_run, "model_version"):
            raise ConflictError(
                "This run finished; start a new one to train again.", code="already_finished"
            )
        return _enqueue_training(training_run=training_run, created_by=created_by)


def training_run_cancel(*, training_run: TrainingRun) -> bool:
    """Mark the active attempt cancelled; the worker stops at its next progress report."""
    return bool(
        JobRun.objects.filter(training_run=training_run, status__in=JobRun.ACTIVE_STATUSES).update(
            status=JobRun.Status.CANCELLED, message="Cancelled", finished_at=timezone.now()
        )
    )


def model_version_activate(*, version: ModelVersion, activated_by) -> JobRun:
    """Make `version` the one whose proposals order the queue, and score the unlabelled clips."""
    with transaction.atomic():
        # Activations one at a time: two at once each deactivated what they saw as active, and
        # both then activated their own, which the one-active-version constraint refused (500).
        list(ModelVersion.objects.select_for_update().order_by("pk").values_list("pk"))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            is_active=True, activated_at=timezone.now()
        )
        job_run = jobs.job_run_create(
            kind=JobRun.Kind.INFER,
            queue="infer",
            created_by=activated_by,
            enqueue=jobs.task_sender(task="annotator.proposals", queue="infer"),
        )
        JobRun.objects.filter(pk=job_run.pk).update(model_version=version)
    job_run.model_version = version
    return job_run


def queue_settings_update(
    *, strategy: str, diversity_weight: float, subject_cap: int
) -> QueueSettings:
    if strategy not in QueueSettings.Strategy.values:
        raise InvalidRequestError(f"Unknown queue strategy {strategy!r}.")
    row, _ = QueueSettings.objects.update_or_create(
        pk=1,
        defaults={
            "strategy": strategy,
            "diversity_weight": diversity_weight,
            "subject_cap": subject_cap,
        },
    )
    return row
