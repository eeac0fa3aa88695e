"""Coders' annotations of clips, the clips each coder gave back, and each coder's workbench
preferences."""

import dataclasses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q

from annotator.models.corpus import Clip, DatasetEmotion
from mlcore.facs import AUCode, AUCodeError, AUEntry, UnparsedAU, au_entry_from_dict


@dataclasses.dataclass(frozen=True)
class Coding:
    """What a coder marks on a clip: the six fields every door reads and writes together. Action
    units are FACS entries (`mlcore.facs`); imported non-codes stay among them."""

    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    emotion: DatasetEmotion | None = None
    action_units: list[AUEntry] = dataclasses.field(default_factory=list)
    notes: str = ""

    def as_dict(self) -> dict[str, object]:
        return {name.name: getattr(self, name.name) for name in dataclasses.fields(self)}


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

    def coding(self) -> Coding:
        """The coder's marks as `coding_services.annotation_update` takes them; imported
        non-codes stay among the action units, so a save that does not touch them keeps them."""
        return Coding(
            onset=self.onset,
            apex=self.apex,
            offset=self.offset,
            emotion=self.emotion,
            action_units=self.au_entries,
            notes=self.notes,
        )

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


class ClipRelease(models.Model):
    """A coder gave the clip back to the queue (released their draft): their "next clip" offers
    it again only after every other clip it can offer, as Label Studio's skip does, so a clip
    a coder passed on does not come straight back. Claiming the clip again ends the release."""

    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="releases")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="clip_releases"
    )
    released_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clip", "coder"], name="one_release_per_coder_and_clip")
        ]

    def __str__(self) -> str:
        return f"{self.clip} released by {self.coder}"


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
