"""Training runs, the model versions they produce, their proposals, and the queue's ranking
settings."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from annotator.models.corpus import Clip, Dataset
from annotator.models.jobs import JobRun
from mlcore.presets import AUTO, PRESETS


class TrainingRun(models.Model):
    """One retraining: a frozen snapshot of the chosen annotations, then LOSO evaluation and a
    final model. Each attempt is a JobRun; a retry resumes from the last finished fold."""

    class MinStatus(models.TextChoices):
        ADJUDICATED = "adjudicated", "Adjudicated only"
        SUBMITTED = "submitted", "Submitted or adjudicated"

    class Protocol(models.TextChoices):
        LOSO = "loso", "Leave one subject out"
        KFOLD = "kfold", "Subject-grouped k-fold"
        HOLDOUT = "holdout", "Subject hold-out"

    datasets = models.ManyToManyField(Dataset, related_name="training_runs")
    # Sorted dataset ids: only one run per selection may be queued or running at a time.
    selection_key = models.CharField(max_length=200)
    model_name = models.CharField(max_length=50)
    model_options = models.JSONField(default=dict, blank=True)
    protocol = models.CharField(max_length=10, choices=Protocol.choices, default=Protocol.LOSO)
    # The mlcore training preset (mlcore.presets); "auto" is resolved on the worker that trains,
    # and the one it used is in the metrics and on the model version.
    preset = models.CharField(
        max_length=10,
        choices=[
            (AUTO, "auto: the cpu preset on a worker without CUDA, else gpu"),
            *((preset.name, f"{preset.name}: {preset.description}") for preset in PRESETS.values()),
        ],
        default=AUTO,
    )
    epochs = models.PositiveIntegerField(default=30)
    seed = models.PositiveIntegerField(default=0)
    min_status = models.CharField(
        max_length=12, choices=MinStatus.choices, default=MinStatus.ADJUDICATED
    )
    # The version whose weights the run starts from (the active one when it was started), or
    # none: from scratch.
    warm_start_from = models.ForeignKey(
        "ModelVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="warm_started_runs",
    )
    # What the first attempt resolved model_options to (the AU head on where the frozen clips
    # carry AU labels): every retry trains with them, since mlcore resumes a run folder only
    # with the settings it was started with. Null until an attempt resolves them.
    trained_model_options = models.JSONField(null=True, blank=True)
    snapshot_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.JSONField(default=dict, blank=True, help_text="counts of the frozen labels")
    metrics = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Training #{self.pk} ({self.model_name}, {self.protocol})"

    @property
    def latest_job_run(self) -> JobRun | None:
        return self.job_runs.order_by("-created_at").first()


class ModelVersion(models.Model):
    training_run = models.OneToOneField(
        TrainingRun, on_delete=models.PROTECT, related_name="model_version"
    )
    model_name = models.CharField(max_length=50)
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    labelled_clips = models.PositiveIntegerField(default=0)
    checkpoint = models.CharField(max_length=500, help_text="path under MEDIA_ROOT")
    checkpoint_sha256 = models.CharField(max_length=64)
    is_active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.pk} {self.model_name}"


class Proposal(models.Model):
    """What a model version says about a clip nobody has adjudicated: the interval (onset, apex,
    offset: frame numbers, onset <= apex <= offset), the class and its uncertainty, the AUs."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="proposals")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="proposals"
    )
    onset = models.PositiveIntegerField(help_text="Proposed onset, a frame number.")
    apex = models.PositiveIntegerField(help_text="Proposed apex, a frame number.")
    # Null on proposals scored before the interval was proposed: their onset is the clip's first
    # frame, not a proposal, so the workbench shows only their apex until the next scoring.
    offset = models.PositiveIntegerField(
        null=True, blank=True, help_text="Proposed offset, a frame number; null if not proposed."
    )
    apex_confidence = models.FloatField()
    probabilities = models.JSONField(help_text='{"negative": p, "positive": p, "surprise": p}')
    predicted_class = models.CharField(max_length=10)
    entropy = models.FloatField()
    margin = models.FloatField()
    bald = models.FloatField()
    # Empty when the version has no AU head, and on proposals scored before AUs were stored.
    action_units = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"AU4": p, ...}: the AU head\'s probabilities; {} without an AU head.',
    )
    # Distance of the embedding from the centre of the scored pool, 0..1: spreads the queue.
    novelty = models.FloatField(default=0.0)
    embedding = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clip", "model_version"], name="one_proposal_per_clip_and_version"
            )
        ]
        indexes = [
            models.Index(fields=["model_version", "-entropy"], name="proposal_uncertainty"),
            # The ranked queue joins a version's scores from this index alone.
            models.Index(
                fields=["model_version", "clip"],
                include=["entropy", "novelty"],
                name="proposal_queue_scores",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clip}: {self.predicted_class}, apex {self.apex} ({self.model_version})"


class QueueSettings(models.Model):
    """How "next clip" orders the work; one row, edited on the training page or in the admin."""

    class Strategy(models.TextChoices):
        UNCERTAINTY = "uncertainty", "Most uncertain first"
        DIVERSITY = "diversity", "Uncertainty plus diversity"
        RANDOM = "random", "Random"
        SEQUENTIAL = "sequential", "Oldest first"

    strategy = models.CharField(
        max_length=12, choices=Strategy.choices, default=Strategy.UNCERTAINTY
    )
    diversity_weight = models.FloatField(default=0.5, validators=[MinValueValidator(0.0)])
    subject_cap = models.PositiveIntegerField(
        default=3, validators=[MinValueValidator(1)], help_text="top-ranked clips per subject"
    )
    # A draft younger than this holds its clip for its coder; an abandoned one frees it.
    claim_minutes = models.PositiveIntegerField(default=30)

    class Meta:
        verbose_name_plural = "queue settings"

    def __str__(self) -> str:
        return f"Queue: {self.get_strategy_display()}"
