"""Query-string filters of the annotation and review lists (django-filter)."""

import django_filters

from annotator.models import Annotation, Clip, Dataset


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
