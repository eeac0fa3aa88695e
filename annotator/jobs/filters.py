"""Query-string filters of the jobs' list endpoints (django-filter)."""

import django_filters

from annotator.models import JobRun


class JobRunFilter(django_filters.FilterSet):
    class Meta:
        model = JobRun
        fields = ["kind", "status", "clip"]


class JobStatusFilter(django_filters.FilterSet):
    """Imports and exports: jobs of one kind already."""

    class Meta:
        model = JobRun
        fields = ["status"]
