"""/api/v1/jobs/, and the base of every resource whose items are jobs of one kind (imports,
exports)."""

from django.urls import reverse
from rest_framework.response import Response

from annotator.api.viewsets import ReadViewSet, accepted
from annotator.jobs import selectors as jobs_selectors
from annotator.jobs.filters import JobRunFilter, JobStatusFilter
from annotator.jobs.serializers import JobRunOutputSerializer
from annotator.models import JobRun


class JobRunViewSet(ReadViewSet):
    """Progress of long jobs. Reviewers and admins see every job; others the jobs they started."""

    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = JobRun.objects.none()
    serializer_class = JobRunOutputSerializer
    filterset_class = JobRunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return jobs_selectors.job_runs_visible_to(user=self.request.user)


class JobKindViewSet(ReadViewSet):
    """The jobs of one kind, started with POST and followed like any job: status, progress,
    message, and the result (the import's report, the export's summary) once it succeeded."""

    job_kind: str
    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = JobRun.objects.none()
    read_perms = ["annotator.add_dataset"]
    required_perms = {"create": ["annotator.add_dataset"]}
    serializer_class = JobRunOutputSerializer
    filterset_class = JobStatusFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return jobs_selectors.job_runs_visible_to(user=self.request.user).filter(kind=self.job_kind)

    def _started(self, job_run: JobRun) -> Response:
        return accepted(
            JobRunOutputSerializer(job_run).data,
            location=reverse(f"{self.basename}-detail", args=[job_run.pk]),
            request=self.request,
        )
