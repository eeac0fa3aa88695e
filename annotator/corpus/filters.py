"""Query-string filters of the corpus's list endpoints (django-filter); ordering is DRF's
`ordering`."""

import django_filters

from annotator.models import Clip, Dataset, Subject


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
