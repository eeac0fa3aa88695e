"""Datasets of subjects' clips and each dataset's emotion vocabulary."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from mlcore.labels import COMPOSITE_CHOICES


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
        # The ranked queue reads ready clips from this index alone
        # (coding_selectors.clip_queue_ranked).
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
