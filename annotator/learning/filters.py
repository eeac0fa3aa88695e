"""Query-string filters of the training runs, model versions and proposals (django-filter)."""

import django_filters

from annotator.models import Dataset, ModelVersion, Proposal, TrainingRun


class TrainingRunFilter(django_filters.FilterSet):
    dataset = django_filters.ModelChoiceFilter(
        field_name="datasets", queryset=Dataset.objects.all(), help_text="Runs that train on it"
    )

    class Meta:
        model = TrainingRun
        fields = ["dataset", "model_name", "protocol"]


class ModelVersionFilter(django_filters.FilterSet):
    class Meta:
        model = ModelVersion
        fields = ["is_active", "model_name"]


class ProposalFilter(django_filters.FilterSet):
    model_version = django_filters.ModelChoiceFilter(
        queryset=ModelVersion.objects.all(), help_text="Default: the active version"
    )
    dataset = django_filters.ModelChoiceFilter(
        field_name="clip__subject__dataset", queryset=Dataset.objects.all()
    )

    class Meta:
        model = Proposal
        fields = ["clip", "model_version", "dataset", "predicted_class"]
