"""Reads of job status rows: who sees which job (a coder their own, admins all)."""

from django.db.models import (
    QuerySet,
)

from annotator.models import (
    JobRun,
)


def job_runs_visible_to(*, user) -> QuerySet[JobRun]:
    """The one rule for seeing jobs, their progress and their error text, on every door:
    reviewers and admins see every job, everyone else only the jobs they started."""
    if user.has_perm("annotator.view_jobrun"):
        return JobRun.objects.all()
    return JobRun.objects.filter(created_by=user)


def job_run_list_recent(*, user, limit: int = 10) -> QuerySet[JobRun]:
    return (
        job_runs_visible_to(user=user).select_related("created_by").order_by("-created_at")[:limit]
    )


def job_run_get(*, job_run_id: int, user) -> JobRun:
    return job_runs_visible_to(user=user).get(pk=job_run_id)
