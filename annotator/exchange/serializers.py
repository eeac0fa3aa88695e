"""What starts a dataset import or a composite export."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from annotator.exchange.forms import DatasetImportForm
from annotator.exchange.jobs import IMPORT_FORMATS
from annotator.models import Dataset, TrainingRun


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
