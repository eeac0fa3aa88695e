"""The FACS data model: datasets of subjects' clips, coders' annotations, and job status rows."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from mlcore.facs import AUCode, AUCodeError, AUEntry, UnparsedAU, au_entry_from_dict
from mlcore.labels import COMPOSITE_CHOICES
from mlcore.presets import AUTO, PRESETS


class Role(models.TextChoices):
    """Roles are auth groups, so admins manage them in the Django admin."""

    CODER = "coder", "Coder"
    REVIEWER = "reviewer", "Reviewer"
    RESEARCHER = "researcher", "Researcher"
    ADMIN = "admin", "Admin"


class Dataset(models.Model):
    class SourceFormat(models.TextChoices):
        CASME2 = "casme2", "CASME II"
        SAMM = "samm", "SAMM"
        SMIC = "smic", "SMIC-HS"
        GENERIC = "generic", "Generic"

    class CodingMode(models.TextChoices):
        BLIND = "blind", "Blind double coding"
        MODEL_ASSISTED = "model_assisted", "Model-assisted single coding"

    name = models.CharField(max_length=100, unique=True)
    source_format = models.CharField(max_length=10, choices=SourceFormat.choices)
    default_fps = models.FloatField(validators=[MinValueValidator(1.0)])
    # The coding plan. Blind: the model's proposals stay hidden from a coder until they submit,
    # so independent coders can be compared. Model-assisted: coders see the proposals.
    coding_mode = models.CharField(
        max_length=15,
        choices=CodingMode.choices,
        default=CodingMode.BLIND,
        help_text="Blind: proposals stay hidden until the coder submits.",
    )
    coders_per_clip = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="How many coders the queue gives each clip to.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # Exporting reads every dataset's codes, so it is a right of its own (researchers have
        # it) rather than part of adding datasets (admins).
        permissions = [("export_dataset", "Can export datasets")]
        constraints = [
            models.CheckConstraint(
                condition=Q(coders_per_clip__gte=1) & Q(coders_per_clip__lte=10),
                name="coders_per_clip_1_to_10",
            )
        ]

    def __str__(self) -> str:
        return self.name


class DatasetEmotion(models.Model):
    """One word of a dataset's emotion vocabulary and the composite class it counts as."""

    class CompositeClass(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        POSITIVE = "positive", "Positive"
        SURPRISE = "surprise", "Surprise"
        EXCLUDED = "excluded", "Excluded"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="emotions")
    name = models.CharField(max_length=50)
    composite_class = models.CharField(max_length=10, choices=CompositeClass.choices)

    class Meta:
        ordering = ["dataset", "name"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "name"], name="unique_emotion_per_dataset")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.composite_class})"


assert tuple(DatasetEmotion.CompositeClass.values) == COMPOSITE_CHOICES


# Subject codes and clip names become folder and file names in exports and ELAN files, and
# header values in downloads: one line of letters, digits, dots, hyphens and underscores (clip
# names may hold spaces too), and never a name of dots alone ("..").
# \A and \Z: "$" would accept a trailing newline.
subject_code_validator = RegexValidator(
    r"\A(?!\.+\Z)[\w.-]+\Z",
    "Use letters, digits, dots, hyphens and underscores (not dots alone).",
)
clip_name_validator = RegexValidator(
    r"\A(?!\.+\Z)[\w. -]+\Z",
    "Use letters, digits, spaces, dots, hyphens and underscores (not dots alone).",
)


class Subject(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="subjects")
    code = models.CharField(max_length=50, validators=[subject_code_validator])

    class Meta:
        ordering = ["dataset", "code"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "code"], name="unique_subject_per_dataset")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name}/{self.code}"


class Clip(models.Model):
    class IngestStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="clips")
    name = models.CharField(max_length=200, validators=[clip_name_validator])
    fps = models.FloatField(validators=[MinValueValidator(1.0)])
    frame_count = models.PositiveIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    # Source numbering is kept: CASME II's img46.jpg is frame 46, so indices need not start at 0.
    frame_indices = models.JSONField(default=list, blank=True)
    source = models.FileField(upload_to="uploads/%Y/%m/", blank=True, max_length=300)
    # Imported datasets stay where the researcher keeps them: a frame folder on the server's disk.
    source_path = models.CharField(max_length=1000, blank=True)
    source_checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the source")
    # Bumped by every successful preprocessing; frame URLs carry it, so they can be cached forever.
    media_version = models.PositiveIntegerField(default=0)
    preprocess_meta = models.JSONField(default=dict, blank=True)
    ingest_status = models.CharField(
        max_length=10, choices=IngestStatus.choices, default=IngestStatus.PENDING
    )
    ingest_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subject", "name"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "name"], name="unique_clip_per_subject")
        ]
        # The ranked queue reads ready clips from this index alone (selectors.clip_queue_ranked).
        indexes = [
            models.Index(
                fields=["id"],
                include=["created_at"],
                condition=Q(ingest_status="ready"),
                name="clip_ready_queue",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject}/{self.name}"

    def clean(self) -> None:
        indices = self.frame_indices or []
        if any(not isinstance(i, int) or isinstance(i, bool) for i in indices):
            raise ValidationError({"frame_indices": "Frame indices must be whole numbers."})
        if indices != sorted(set(indices)):
            raise ValidationError({"frame_indices": "Frame indices must be unique and ascending."})
        if self.frame_count != len(indices):
            raise ValidationError(
                {"frame_count": f"The clip lists {len(indices)} frames, not {self.frame_count}."}
            )

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude=exclude)
        if self.source and self.source_path:
            raise ValidationError("A clip comes from an upload or a folder on disk, not both.")

    @property
    def source_location(self) -> Path | None:
        """The video file, zip or frame folder preprocessing reads."""
        if self.source:
            return Path(self.source.path)
        return Path(self.source_path) if self.source_path else None

    @property
    def aligned_sizes(self) -> list[int]:
        return list(self.preprocess_meta.get("sizes", []))

    @property
    def first_frame(self) -> int | None:
        return self.frame_indices[0] if self.frame_indices else None

    @property
    def last_frame(self) -> int | None:
        return self.frame_indices[-1] if self.frame_indices else None


class Annotation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        ADJUDICATED = "adjudicated", "Adjudicated"

    class Provenance(models.TextChoices):
        MANUAL = "manual", "Manual"
        MODEL_ASSISTED = "model_assisted", "Model-assisted"
        IMPORTED = "imported", "Imported"

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="annotations")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    # Drafts are saved while the coder works, so marks may still be missing; submit requires them.
    onset = models.PositiveIntegerField(null=True, blank=True)
    apex = models.PositiveIntegerField(null=True, blank=True)
    offset = models.PositiveIntegerField(null=True, blank=True)
    emotion = models.ForeignKey(
        DatasetEmotion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action_units = models.JSONField(
        default=list,
        blank=True,
        help_text='A list of {"au": 12, "laterality": "R", "intensity": "B"}',
    )
    notes = models.TextField(blank=True)
    # An adjudicated annotation records the coder's annotation the reviewer started from.
    based_on = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="adjudications"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    provenance = models.CharField(
        max_length=15, choices=Provenance.choices, default=Provenance.MANUAL
    )
    # The model version whose proposal the coder had on screen when the annotation became
    # model-assisted; proposals are replaced when a version rescores, its versions stay.
    proposal_version = models.ForeignKey(
        "ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who made the last save, shown to a coder whose later save from an older revision is
    # refused; empty for rows saved before it was recorded and for scripts.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Optimistic locking: a save names the revision it started from; a stale one is refused.
    revision = models.PositiveIntegerField(default=1, validators=[MaxValueValidator(2**31 - 1)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["clip", "coder", "-updated_at"]
        permissions = [("adjudicate_annotation", "Can review and adjudicate annotations")]
        constraints = [
            models.UniqueConstraint(
                fields=["clip", "coder"],
                condition=Q(status="draft"),
                name="one_draft_per_coder_and_clip",
                violation_error_message="This coder already has a draft for this clip.",
            ),
            models.UniqueConstraint(
                fields=["clip"],
                condition=Q(status="adjudicated"),
                name="one_adjudication_per_clip",
                violation_error_message="This clip already has an adjudicated annotation.",
            ),
            # A draft keeps whatever the coder typed, so that no edit is lost while a mark is
            # inconsistent; submitting requires the order.
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(onset__isnull=True)
                | Q(offset__isnull=True)
                | Q(onset__lte=F("offset")),
                name="onset_not_after_offset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clip} by {self.coder} ({self.status})"

    @property
    def au_codes(self) -> list[AUCode]:
        """The FACS codes; a published sheet's non-codes are in `au_entries` only."""
        return [AUCode.from_dict(item) for item in self.action_units if "verbatim" not in item]

    @property
    def au_entries(self) -> list[AUEntry]:
        """Every entry in order, imported non-codes (``?``, ``ref(7B)``) kept verbatim."""
        return [au_entry_from_dict(item) for item in self.action_units]

    @property
    def au_as_written(self) -> list[UnparsedAU]:
        """The imported non-codes alone: what an edit may send back without retyping a code."""
        return [
            UnparsedAU(text=item["verbatim"]) for item in self.action_units if "verbatim" in item
        ]

    def coding(self) -> dict[str, object]:
        """The coder's editable fields, as `services.annotation_update` takes them; imported
        non-codes stay among the action units, so a save that does not touch them keeps them."""
        return {
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "emotion": self.emotion,
            "action_units": self.au_entries,
            "notes": self.notes,
        }

    def mark_problems(self) -> dict[str, list[str]]:
        """Marks outside the clip or out of order: stored in a draft, refused at submit."""
        errors: dict[str, list[str]] = {}
        self._check_marks(errors)
        return errors

    def clean(self) -> None:
        errors: dict[str, list[str]] = (
            {} if self.status == self.Status.DRAFT else self.mark_problems()
        )
        self._check_action_units(errors)
        if self.emotion_id is not None and self.emotion.dataset_id != self.clip.subject.dataset_id:
            errors.setdefault("emotion", []).append(
                f"{self.emotion.name!r} is not in the vocabulary of {self.clip.subject.dataset}."
            )
        if self.status != self.Status.DRAFT:
            for field in ("onset", "offset", "emotion"):
                if getattr(self, field if field != "emotion" else "emotion_id") is None:
                    errors.setdefault(field, []).append("Required before submitting.")
        if errors:
            raise ValidationError(errors)

    def _check_marks(self, errors: dict[str, list[str]]) -> None:
        frames = set(self.clip.frame_indices)
        first, last = self.clip.first_frame, self.clip.last_frame
        for field in ("onset", "apex", "offset"):
            frame = getattr(self, field)
            if frame is None:
                continue
            if first is None:
                errors.setdefault(field, []).append("The clip has no frames yet.")
            elif frame not in frames:
                errors.setdefault(field, []).append(
                    f"Frame {frame} is not in this clip (frames {first}..{last})."
                )
        onset, apex, offset = self.onset, self.apex, self.offset
        if onset is not None and offset is not None and onset > offset:
            errors.setdefault("offset", []).append(
                f"Offset ({offset}) must not come before onset ({onset})."
            )
        if apex is not None and onset is not None and apex < onset:
            errors.setdefault("apex", []).append(
                f"Apex ({apex}) must not come before onset ({onset})."
            )
        if apex is not None and offset is not None and apex > offset:
            errors.setdefault("apex", []).append(
                f"Apex ({apex}) must not come after offset ({offset})."
            )

    def _check_action_units(self, errors: dict[str, list[str]]) -> None:
        if not isinstance(self.action_units, list):
            errors.setdefault("action_units", []).append("Action units must be a list.")
            return
        seen: set[tuple[int, str]] = set()
        for item in self.action_units:
            if isinstance(item, dict) and "verbatim" in item:
                if not isinstance(item["verbatim"], str) or not item["verbatim"].strip():
                    errors.setdefault("action_units", []).append(f"Malformed: {item!r}")
                continue
            try:
                code = AUCode.from_dict(item)
            except (AUCodeError, KeyError, TypeError, ValueError) as error:
                message = str(error) if isinstance(error, AUCodeError) else f"Malformed: {item!r}"
                errors.setdefault("action_units", []).append(message)
                continue
            if (code.number, code.laterality) in seen:
                errors.setdefault("action_units", []).append(f"AU{code.number} is listed twice.")
            seen.add((code.number, code.laterality))


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
    def latest_job_run(self) -> "JobRun | None":
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


class CoderPreferences(models.Model):
    """How one coder sets up the workbench. Kept on the server, so coding blind follows the coder
    across clips, reloads, browsers and logins: a proposal once seen cannot be unseen."""

    coder = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coder_preferences"
    )
    hide_proposals = models.BooleanField(
        default=False, help_text="Code blind: show nothing of the model's proposals."
    )
    key_overrides = models.JSONField(
        default=dict,
        blank=True,
        help_text="The coder's own workbench keys, by action (annotator.keymap).",
    )

    class Meta:
        verbose_name_plural = "coder preferences"

    def __str__(self) -> str:
        return f"Preferences of {self.coder}"
