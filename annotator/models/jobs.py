"""The status row of every long job, whatever its kind."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from annotator.models.corpus import Clip


class JobRun(models.Model):
    """The status row of one long job; the task updates it and the UI polls it."""

    class Kind(models.TextChoices):
        HEALTHCHECK = "healthcheck", "Worker check"
        PREPROCESS = "preprocess", "Preprocess"
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"
        TRAIN = "train", "Train"
        INFER = "infer", "Infer"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # A job in one of these states has not ended: it may still be claimed, run or reconciled.
    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Which workers run it, in the words the pages use for the queues of settings.MESTUDIO_QUEUES.
    QUEUE_LABELS = {
        "preprocess": "CPU workers",
        "train": "GPU workers (training)",
        "infer": "GPU workers (proposals)",
    }

    queue = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    clip = models.ForeignKey(
        Clip, on_delete=models.CASCADE, null=True, blank=True, related_name="job_runs"
    )
    training_run = models.ForeignKey(
        "TrainingRun", on_delete=models.CASCADE, null=True, blank=True, related_name="job_runs"
    )
    model_version = models.ForeignKey(
        "ModelVersion", on_delete=models.CASCADE, null=True, blank=True, related_name="job_runs"
    )
    # The Celery worker (hostname) running the job: a restarted worker fails what it left.
    worker = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the reconciler sent the job's message a second time (it does so once), because no
    # worker had taken the first: a broker restarted without persistence loses its messages.
    requeued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0.0) & Q(progress__lte=1.0), name="progress_in_unit_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def queue_label(self) -> str:
        return self.QUEUE_LABELS.get(self.queue, self.queue)

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}
