"""Annotations, the coder's queue, review, adjudication and agreement, in and out."""

import math

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.api.fields import MAX_INTEGER
from annotator.coding import review as coding_review
from annotator.corpus.serializers import ClipOutputSerializer
from annotator.models import Annotation, Clip, Dataset, DatasetEmotion
from mlcore.facs import INTENSITIES, LATERALITIES, AUCode, AUCodeError


class FiniteFloatField(serializers.FloatField):
    """Agreement statistics are NaN when undefined (one coder, no pairs); JSON has no NaN."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return None if math.isnan(value) else value


def _nullable_float(**kwargs) -> FiniteFloatField:
    return FiniteFloatField(allow_null=True, **kwargs)


# --- Output ---------------------------------------------------------------------------------------


class QueueClipOutputSerializer(ClipOutputSerializer):
    my_status = serializers.ChoiceField(
        choices=Annotation.Status.choices,
        allow_null=True,
        help_text="Your own annotation's state; other coders' work is never shown.",
    )


class ActionUnitOutputSerializer(serializers.Serializer):
    au = serializers.IntegerField(source="number")
    laterality = serializers.CharField(help_text="L, R, T, B, A, U or empty")
    intensity = serializers.CharField(help_text="A..E or empty")


class AnnotationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    clip = serializers.IntegerField(source="clip_id")
    coder = serializers.CharField(source="coder.username")
    status = serializers.ChoiceField(choices=Annotation.Status.choices)
    provenance = serializers.ChoiceField(choices=Annotation.Provenance.choices)
    onset = serializers.IntegerField(allow_null=True)
    apex = serializers.IntegerField(allow_null=True)
    offset = serializers.IntegerField(allow_null=True)
    emotion = serializers.IntegerField(source="emotion_id", allow_null=True)
    emotion_name = serializers.CharField(source="emotion.name", allow_null=True, default=None)
    action_units = ActionUnitOutputSerializer(source="au_codes", many=True)
    action_units_as_written = serializers.ListField(
        child=serializers.CharField(),
        source="au_as_written",
        help_text="Entries of an imported sheet's AU column that are not FACS codes (`?`, "
        "`ref(7B)`), kept exactly as written.",
    )
    notes = serializers.CharField()
    based_on = serializers.IntegerField(source="based_on_id", allow_null=True)
    revision = serializers.IntegerField(
        help_text="Send it back with your next change; a stale one is refused with 409."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class QueueClaimOutputSerializer(serializers.Serializer):
    clip = ClipOutputSerializer()
    annotation = AnnotationOutputSerializer(help_text="Your draft, which holds the clip for you")


class MarkDifferenceOutputSerializer(serializers.Serializer):
    frames = serializers.IntegerField(help_text="second minus first")
    ms = serializers.FloatField()
    within_tolerance = serializers.BooleanField()


class PairMarksOutputSerializer(serializers.Serializer):
    onset = MarkDifferenceOutputSerializer(allow_null=True)
    apex = MarkDifferenceOutputSerializer(allow_null=True)
    offset = MarkDifferenceOutputSerializer(allow_null=True)


class PairAgreementOutputSerializer(serializers.Serializer):
    first = serializers.IntegerField(source="first.pk")
    second = serializers.IntegerField(source="second.pk")
    first_coder = serializers.CharField(source="first.coder.username")
    second_coder = serializers.CharField(source="second.coder.username")
    emotion_match = serializers.BooleanField()
    au_agreement = _nullable_float(
        help_text="Ekman-Friesen ratio of the AU numbers (R12B and 12B agree on the number)"
    )
    au_laterality_agreement = _nullable_float(
        help_text="Of the AU numbers both coded, the share with the same sides; null if none"
    )
    au_intensity_agreement = _nullable_float(
        help_text="Of the AU numbers both coded with an intensity, the share with the same "
        "intensity; null if none"
    )
    aus_only_first = serializers.ListField(child=serializers.CharField())
    aus_only_second = serializers.ListField(child=serializers.CharField())
    marks = PairMarksOutputSerializer()
    tolerance_frames = serializers.IntegerField()


class ReviewListOutputSerializer(ClipOutputSerializer):
    submitted_count = serializers.IntegerField()
    adjudicated_count = serializers.IntegerField()


class ReviewOutputSerializer(serializers.Serializer):
    clip = ClipOutputSerializer()
    submitted = AnnotationOutputSerializer(many=True)
    adjudicated = AnnotationOutputSerializer(allow_null=True)
    pairs = PairAgreementOutputSerializer(many=True)
    tolerance_ms = serializers.FloatField()


class FrameDistanceOutputSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    median = _nullable_float()
    p90 = _nullable_float()


class FrameDistancesOutputSerializer(serializers.Serializer):
    onset = FrameDistanceOutputSerializer()
    apex = FrameDistanceOutputSerializer()
    offset = FrameDistanceOutputSerializer()


class MarksWithinToleranceOutputSerializer(serializers.Serializer):
    onset = serializers.IntegerField()
    apex = serializers.IntegerField()
    offset = serializers.IntegerField()


class AUBaseRateOutputSerializer(serializers.Serializer):
    au = serializers.IntegerField()
    rate = serializers.FloatField(help_text="Share of submitted annotations coding this AU")


class AgreementReportOutputSerializer(serializers.Serializer):
    dataset = serializers.IntegerField(source="dataset.pk")
    clips_with_two_or_more = serializers.IntegerField()
    annotations = serializers.IntegerField()
    pair_count = serializers.SerializerMethodField()
    emotion_kappa = _nullable_float()
    emotion_alpha = _nullable_float()
    au_presence_alpha = _nullable_float()
    au_agreement_mean = _nullable_float()
    au_laterality_agreement_mean = _nullable_float()
    au_intensity_agreement_mean = _nullable_float()
    intensity_weighted_kappa = _nullable_float()
    intensity_pairs = serializers.IntegerField()
    frame_distances = FrameDistancesOutputSerializer()
    ms_distances = FrameDistancesOutputSerializer(help_text="The same distances in milliseconds")
    within_tolerance = MarksWithinToleranceOutputSerializer(
        help_text="Pairs whose marks lie within tolerance_ms of each other"
    )
    au_base_rates = serializers.SerializerMethodField()
    tolerance_ms = serializers.FloatField()

    def get_pair_count(self, report: dict) -> int:
        return len(report["pairs"])

    @extend_schema_field(AUBaseRateOutputSerializer(many=True))
    def get_au_base_rates(self, report: dict) -> list[dict]:
        return [{"au": number, "rate": rate} for number, rate in report["au_base_rates"]]


# --- Input ----------------------------------------------------------------------------------------


class ActionUnitInputSerializer(serializers.Serializer):
    au = serializers.IntegerField(min_value=0, max_value=99, help_text="FACS AU number")
    laterality = serializers.ChoiceField(choices=["", *LATERALITIES], default="")
    intensity = serializers.ChoiceField(choices=["", *INTENSITIES], default="")

    def validate(self, attrs: dict) -> AUCode:
        try:
            return AUCode(
                number=attrs["au"], laterality=attrs["laterality"], intensity=attrs["intensity"]
            )
        except AUCodeError as error:
            raise serializers.ValidationError({"au": [str(error)]}, code="unknown_au") from None


def _frame_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0,
        max_value=MAX_INTEGER,
        allow_null=True,
        required=False,
        help_text="A frame number from the clip's frame_indices",
    )


class AnnotationContentInputSerializer(serializers.Serializer):
    """The editable content of an annotation. Fields left out keep their stored value."""

    onset = _frame_field()
    apex = _frame_field()
    offset = _frame_field()
    emotion = serializers.PrimaryKeyRelatedField(
        queryset=DatasetEmotion.objects.all(),
        allow_null=True,
        required=False,
        help_text="An emotion id from the clip's dataset vocabulary",
    )
    action_units = ActionUnitInputSerializer(many=True, required=False, max_length=64)
    notes = serializers.CharField(allow_blank=True, required=False, max_length=5000)


class AnnotationUpdateInputSerializer(AnnotationContentInputSerializer):
    revision = serializers.IntegerField(
        min_value=1, max_value=MAX_INTEGER, help_text="The revision your edits start from"
    )


class AnnotationSubmitInputSerializer(AnnotationUpdateInputSerializer):
    """Submitting may carry last edits; onset, offset and emotion are then required."""


class AnnotationCreateInputSerializer(serializers.Serializer):
    clip = serializers.PrimaryKeyRelatedField(queryset=Clip.objects.select_related("subject"))

    def validate_clip(self, clip: Clip) -> Clip:
        if clip.ingest_status != Clip.IngestStatus.READY:
            raise serializers.ValidationError(
                f"Clip {clip.pk} is {clip.ingest_status}, not ready for coding.", code="not_ready"
            )
        return clip


class DatasetCodingPlanInputSerializer(serializers.Serializer):
    coding_mode = serializers.ChoiceField(
        choices=Dataset.CodingMode.choices,
        required=False,
        help_text="Blind: coders see no model proposal until they submit. Model-assisted: they do.",
    )
    coders_per_clip = serializers.IntegerField(
        min_value=1,
        max_value=10,
        required=False,
        help_text="How many coders the queue gives each clip to.",
    )


class AnnotationReleaseInputSerializer(serializers.Serializer):
    discard = serializers.BooleanField(
        default=False,
        help_text="Required (true) to release a draft with saved edits: they are discarded.",
    )


class AdjudicationInputSerializer(AnnotationContentInputSerializer):
    based_on = serializers.PrimaryKeyRelatedField(
        queryset=Annotation.objects.filter(status=Annotation.Status.SUBMITTED),
        allow_null=True,
        required=False,
        help_text="The submitted annotation the final one starts from",
    )
    revision = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INTEGER,
        allow_null=True,
        required=False,
        help_text="Required when changing an existing adjudication: its revision",
    )
    comment = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    notes = None  # the reviewer's text is the comment


class AgreementQueryInputSerializer(serializers.Serializer):
    tolerance_ms = serializers.FloatField(
        min_value=0.0, max_value=1000.0, default=coding_review.DEFAULT_TOLERANCE_MS
    )
