"""Input serializers parse and check requests; output serializers shape responses. They are
separate because what a client may send (a revision, a clip id) differs from what it reads back
(counts, URLs, the coder's name), and one serializer doing both grows read_only flags everywhere.
"""

import math

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.coding import review as coding_review
from annotator.corpus import selectors as corpus_selectors
from annotator.exchange.forms import DatasetImportForm
from annotator.exchange.jobs import IMPORT_FORMATS
from annotator.models import (
    Annotation,
    Clip,
    Dataset,
    DatasetEmotion,
    JobRun,
    TrainingRun,
    clip_name_validator,
    subject_code_validator,
)
from mlcore.facs import INTENSITIES, LATERALITIES, AUCode, AUCodeError
from mlcore.models import list_models

MAX_FRAME = 2**31 - 1


class FiniteFloatField(serializers.FloatField):
    """Agreement statistics are NaN when undefined (one coder, no pairs); JSON has no NaN."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return None if math.isnan(value) else value


def _nullable_float(**kwargs) -> FiniteFloatField:
    return FiniteFloatField(allow_null=True, **kwargs)


# --- Output ----------------------------------------------------------------------------------


class EmotionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    composite_class = serializers.ChoiceField(choices=DatasetEmotion.CompositeClass.choices)


class DatasetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source_format = serializers.ChoiceField(choices=Dataset.SourceFormat.choices)
    default_fps = serializers.FloatField()
    coding_mode = serializers.ChoiceField(
        choices=Dataset.CodingMode.choices,
        help_text="Blind: coders see no model proposal until they submit. Model-assisted: they do.",
    )
    coders_per_clip = serializers.IntegerField(
        help_text="How many coders the queue gives each clip to."
    )
    created_at = serializers.DateTimeField()
    subject_count = serializers.IntegerField()
    clip_count = serializers.IntegerField()
    ready_clip_count = serializers.IntegerField()
    emotions = EmotionOutputSerializer(many=True)


class SubjectOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="dataset_id")
    code = serializers.CharField()
    clip_count = serializers.IntegerField()


class JobRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=JobRun.Kind.choices)
    queue = serializers.CharField()
    status = serializers.ChoiceField(choices=JobRun.Status.choices)
    progress = serializers.FloatField(help_text="0..1")
    message = serializers.CharField()
    error = serializers.CharField()
    result = serializers.JSONField()
    clip = serializers.IntegerField(source="clip_id", allow_null=True)
    training_run = serializers.IntegerField(source="training_run_id", allow_null=True)
    model_version = serializers.IntegerField(source="model_version_id", allow_null=True)
    is_finished = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ClipOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.IntegerField(source="subject.dataset_id")
    subject = serializers.IntegerField(source="subject_id")
    subject_code = serializers.CharField(source="subject.code")
    name = serializers.CharField()
    fps = serializers.FloatField()
    frame_count = serializers.IntegerField()
    frame_indices = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The source's own frame numbers (CASME II starts at img46: 46, 47, ...); "
        "onset, apex and offset use these numbers.",
    )
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    media_version = serializers.IntegerField()
    aligned_sizes = serializers.ListField(child=serializers.IntegerField())
    ingest_status = serializers.ChoiceField(choices=Clip.IngestStatus.choices)
    ingest_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ClipDetailOutputSerializer(ClipOutputSerializer):
    latest_job = serializers.SerializerMethodField()

    @extend_schema_field(JobRunOutputSerializer(allow_null=True))
    def get_latest_job(self, clip: Clip) -> dict | None:
        job_run = corpus_selectors.clip_job_run_latest(clip=clip)
        return JobRunOutputSerializer(job_run).data if job_run else None


class ClipUploadOutputSerializer(serializers.Serializer):
    clip = ClipOutputSerializer()
    job = JobRunOutputSerializer()


class QueueClipOutputSerializer(ClipOutputSerializer):
    my_status = serializers.ChoiceField(
        choices=Annotation.Status.choices,
        allow_null=True,
        help_text="Your own annotation's state; other coders' work is never shown.",
    )


class FrameLayerOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="frame, aligned-<size> or motion")
    urls = serializers.ListField(
        child=serializers.URLField(), help_text="One JPEG URL per frame, in frame_indices order."
    )


class ClipFramesOutputSerializer(serializers.Serializer):
    clip = serializers.IntegerField()
    media_version = serializers.IntegerField()
    frame_indices = serializers.ListField(child=serializers.IntegerField())
    layers = FrameLayerOutputSerializer(many=True)

    @staticmethod
    def build(*, clip: Clip, layers: list[str], request) -> dict:
        def url(layer: str, frame: int) -> str:
            path = reverse("api-clip-media", args=[clip.pk, clip.media_version, layer, frame])
            return request.build_absolute_uri(path)

        return {
            "clip": clip.pk,
            "media_version": clip.media_version,
            "frame_indices": clip.frame_indices,
            "layers": [
                {"name": layer, "urls": [url(layer, frame) for frame in clip.frame_indices]}
                for layer in layers
            ],
        }


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


class TrainingRunOutputSerializer(serializers.Serializer):
    """A run read with its attempts prefetched newest first as `attempts` (the views' queryset
    and selectors.training_run_get do so): the first is the attempt the run's state is."""

    id = serializers.IntegerField()
    datasets = serializers.SerializerMethodField()
    model_name = serializers.CharField()
    model_options = serializers.JSONField()
    protocol = serializers.ChoiceField(choices=TrainingRun.Protocol.choices)
    preset = serializers.ChoiceField(
        choices=TrainingRun._meta.get_field("preset").choices,
        help_text="As requested; the one the worker used is metrics.preset",
    )
    warm_start_from = serializers.IntegerField(
        source="warm_start_from_id",
        allow_null=True,
        help_text="Model version whose weights the run started from; null: from scratch",
    )
    epochs = serializers.IntegerField()
    seed = serializers.IntegerField()
    min_status = serializers.ChoiceField(choices=TrainingRun.MinStatus.choices)
    snapshot_at = serializers.DateTimeField(
        allow_null=True, help_text="When the annotations were frozen (the first attempt)."
    )
    snapshot = serializers.JSONField(help_text="Counts of the frozen labels")
    metrics = serializers.JSONField(
        help_text="LOSO scores once the run finished; {} before. A run that trained the AU head "
        "has au: per_au gives each AU's F1 (null: neither coded nor proposed), support (test "
        "clips coded with it) and predicted, over its units; mean_f1 their mean"
    )
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    model_version = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()

    def get_datasets(self, training_run: TrainingRun) -> list[int]:
        return [dataset.pk for dataset in training_run.datasets.all()]

    def get_model_version(self, training_run: TrainingRun) -> int | None:
        version = getattr(training_run, "model_version", None)
        return version.pk if version else None

    @extend_schema_field(JobRunOutputSerializer(allow_null=True))
    def get_latest_job(self, training_run: TrainingRun) -> dict | None:
        attempts = training_run.attempts
        return JobRunOutputSerializer(attempts[0]).data if attempts else None


class ModelVersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    training_run = serializers.IntegerField(source="training_run_id")
    model_name = serializers.CharField()
    config = serializers.JSONField()
    metrics = serializers.JSONField()
    labelled_clips = serializers.IntegerField()
    checkpoint_sha256 = serializers.CharField()
    is_active = serializers.BooleanField(
        help_text="The version whose proposals order the coding queue"
    )
    activated_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    proposal_count = serializers.IntegerField()


class ProposalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    clip = serializers.IntegerField(source="clip_id")
    model_version = serializers.IntegerField(source="model_version_id")
    onset = serializers.IntegerField(help_text="The proposed onset, a frame number")
    apex = serializers.IntegerField(help_text="The proposed apex, a frame number")
    offset = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The proposed offset, a frame number (onset <= apex <= offset); null on a proposal"
            " scored before intervals were proposed, whose onset is then the clip's first frame"
        ),
    )
    apex_confidence = serializers.FloatField(help_text="0..1: how sharp and alone the apex is")
    probabilities = serializers.DictField(
        child=serializers.FloatField(),
        help_text="Per composite class: negative, positive, surprise",
    )
    predicted_class = serializers.CharField()
    action_units = serializers.DictField(
        child=serializers.FloatField(),
        help_text=(
            'The AU head\'s probability per AU, keyed "AU<n>" (AU4, AU12, ...); empty when the'
            " model version has no AU head"
        ),
    )
    entropy = serializers.FloatField(help_text="Higher: more uncertain")
    margin = serializers.FloatField(help_text="Top two probabilities apart; lower: more uncertain")
    bald = serializers.FloatField(help_text="MC-dropout disagreement; higher: more uncertain")
    novelty = serializers.FloatField(help_text="0..1, distance from the scored pool's centre")
    created_at = serializers.DateTimeField()


class ProposalDetailOutputSerializer(ProposalOutputSerializer):
    embedding = serializers.ListField(
        child=serializers.FloatField(), help_text="The model's feature vector of the clip"
    )


class TokenOutputSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="Send as `Authorization: Token <key>`. Shown only now: the server keeps a hash."
    )
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(help_text="The key stops working at this time.")


class TokenInfoOutputSerializer(serializers.Serializer):
    key_prefix = serializers.SerializerMethodField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()
    live_tokens = serializers.SerializerMethodField(
        help_text="How many of your tokens work now (one per script log-in)."
    )

    def get_key_prefix(self, token) -> str:
        return token.token_key[:6]

    def get_live_tokens(self, token) -> int:
        return self.context["live_tokens"]


# --- Input -----------------------------------------------------------------------------------


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
        max_value=MAX_FRAME,
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
        min_value=1, max_value=MAX_FRAME, help_text="The revision your edits start from"
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
        max_value=MAX_FRAME,
        allow_null=True,
        required=False,
        help_text="Required when changing an existing adjudication: its revision",
    )
    comment = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    notes = None  # the reviewer's text is the comment


class ClipUploadInputSerializer(serializers.Serializer):
    dataset = serializers.PrimaryKeyRelatedField(queryset=Dataset.objects.all())
    subject_code = serializers.CharField(
        max_length=50,
        validators=[subject_code_validator],
        help_text="e.g. 01, 006, s1 (created when new)",
    )
    name = serializers.CharField(
        max_length=200,
        required=False,
        validators=[clip_name_validator],
        help_text="Defaults to the file name without extension.",
    )
    fps = serializers.FloatField(
        min_value=1.0,
        max_value=100_000.0,
        required=False,
        help_text="Videos carry their own; frame zips default to the dataset's.",
    )
    source = serializers.FileField(
        help_text="mp4, mov or avi, or a zip holding one folder of jpg/png/bmp frames"
    )


class AgreementQueryInputSerializer(serializers.Serializer):
    tolerance_ms = serializers.FloatField(
        min_value=0.0, max_value=1000.0, default=coding_review.DEFAULT_TOLERANCE_MS
    )


class FramesQueryInputSerializer(serializers.Serializer):
    layer = serializers.CharField(
        required=False, max_length=50, help_text="Only this layer (frame, aligned-224, motion)"
    )


class TrainingRunStartInputSerializer(serializers.Serializer):
    datasets = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Dataset.objects.all(), help_text="Dataset ids to train on"
    )
    model_name = serializers.ChoiceField(choices=list_models())
    protocol = serializers.ChoiceField(
        choices=TrainingRun.Protocol.choices, default=TrainingRun.Protocol.LOSO
    )
    preset = serializers.ChoiceField(
        choices=TrainingRun._meta.get_field("preset").choices,
        default=TrainingRun._meta.get_field("preset").default,
        help_text="mlcore training preset; auto is resolved by the worker (cpu without CUDA)",
    )
    warm_start = serializers.BooleanField(
        default=False, help_text="Start from the active model version's weights"
    )
    epochs = serializers.IntegerField(
        min_value=1, max_value=1000, default=30, help_text="per fold (at most, with early stopping)"
    )
    min_status = serializers.ChoiceField(
        choices=TrainingRun.MinStatus.choices,
        default=TrainingRun.MinStatus.ADJUDICATED,
        help_text="Which annotations the snapshot takes",
    )
    seed = serializers.IntegerField(min_value=0, max_value=MAX_FRAME, default=0)

    def validate_datasets(self, datasets: list[Dataset]) -> list[Dataset]:
        # A repeated id would make another selection, slipping past "one run per selection".
        return list({dataset.pk: dataset for dataset in datasets}.values())


class DatasetImportInputSerializer(serializers.Serializer):
    """The import page's fields. Its form also checks the server paths (they exist, and lie
    inside MESTUDIO_IMPORT_ROOTS when set), so both ways in check them alike."""

    import_format = serializers.ChoiceField(choices=list(IMPORT_FORMATS))
    frames = serializers.CharField(
        max_length=1000,
        help_text="Frames folder on the server: CASME2_RAW, SAMM, SMIC/HS or a generic layout",
    )
    annotations = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Coding sheet (.xlsx) or generic CSV on the server; SMIC-HS has none",
    )
    dataset_name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Default: CASME II, SAMM, SMIC-HS; a generic CSV's file name",
    )
    default_fps = serializers.FloatField(
        min_value=1.0,
        max_value=100_000.0,
        required=False,
        allow_null=True,
        help_text="Required for generic CSV",
    )
    preprocess = serializers.BooleanField(default=True, help_text="Queue preprocessing")

    def validate(self, attrs: dict) -> dict:
        form = DatasetImportForm(data=attrs)
        if not form.is_valid():
            raise DjangoValidationError(form.errors.as_data())
        return form.cleaned_data


class CompositeExportInputSerializer(serializers.Serializer):
    datasets = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Dataset.objects.all(),
        required=False,
        help_text="Dataset ids; empty or left out: every dataset",
    )
    # The same choice as a training run's: its snapshot is this export.
    min_status = serializers.ChoiceField(
        choices=TrainingRun.MinStatus.choices, default=TrainingRun.MinStatus.ADJUDICATED
    )
    flows = serializers.BooleanField(default=False, help_text="Add STSTNet optical-flow folders")
    megc2019 = serializers.BooleanField(
        default=False, help_text="MEGC2019's official composite list instead of the mappings"
    )


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})
