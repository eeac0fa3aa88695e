"""Training runs, model versions and proposals, in and out."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.api.fields import MAX_INTEGER
from annotator.jobs.serializers import JobRunOutputSerializer
from annotator.models import Dataset, TrainingRun
from mlcore.models import list_models


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
    seed = serializers.IntegerField(min_value=0, max_value=MAX_INTEGER, default=0)

    def validate_datasets(self, datasets: list[Dataset]) -> list[Dataset]:
        # A repeated id would make another selection, slipping past "one run per selection".
        return list({dataset.pk: dataset for dataset in datasets}.values())
