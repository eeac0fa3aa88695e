"""Query-string filters of the list endpoints (django-filter); ordering is DRF's `ordering`."""

import django_filters

from annotator.models import (
    Annotation,
    Clip,
    Dataset,
    JobRun,
    ModelVersion,
    Proposal,
    Subject,
    TrainingRun,
)


class DatasetFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Dataset
        fields = ["name", "source_format"]


class SubjectFilter(django_filters.FilterSet):
    class Meta:
        model = Subject
        fields = ["dataset", "code"]


class ClipFilter(django_filters.FilterSet):
    dataset = django_filters.ModelChoiceFilter(
        field_name="subject__dataset", queryset=Dataset.objects.all()
    )
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Clip
        fields = ["dataset", "subject", "ingest_status", "name"]


class AnnotationFilter(django_filters.FilterSet):
    dataset = django_filters.ModelChoiceFilter(
        field_name="clip__subject__dataset", queryset=Dataset.objects.all()
    )
    coder = django_filters.CharFilter(field_name="coder__username")

    class Meta:
        model = Annotation
        fields = ["clip", "dataset", "status", "coder", "provenance"]


class ReviewFilter(django_filters.FilterSet):
    dataset = django_filters.ModelChoiceFilter(
        field_name="subject__dataset", queryset=Dataset.objects.all()
    )

    class Meta:
        model = Clip
        fields = ["dataset"]


class JobRunFilter(django_filters.FilterSet):
    class Meta:
        model = JobRun
        fields = ["kind", "status", "clip"]


class JobStatusFilter(django_filters.FilterSet):
    """Imports and exports: jobs of one kind already."""

    class Meta:
        model = JobRun
        fields = ["status"]


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
