"""Reads. Views and the API get their querysets here, never by building queries themselves."""

from django.db.models import Count, Q, QuerySet

from annotator.models import Clip, Dataset, JobRun


def dataset_list_with_counts() -> QuerySet[Dataset]:
    return Dataset.objects.annotate(
        subject_count=Count("subjects", distinct=True),
        clip_count=Count("subjects__clips", distinct=True),
        ready_clip_count=Count(
            "subjects__clips",
            filter=Q(subjects__clips__ingest_status=Clip.IngestStatus.READY),
            distinct=True,
        ),
    ).order_by("name")


def job_run_list_recent(*, limit: int = 10) -> QuerySet[JobRun]:
    return JobRun.objects.select_related("created_by").order_by("-created_at")[:limit]


def job_run_get(*, job_run_id: int) -> JobRun:
    return JobRun.objects.get(pk=job_run_id)
