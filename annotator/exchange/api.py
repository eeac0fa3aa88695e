"""/api/v1/imports/ and exports/ (admins): datasets in and out, each a job."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from annotator import media
from annotator.api.errors import Conflict
from annotator.api.viewsets import JSONErrorsOnly, parse_input
from annotator.exchange import services as exchange
from annotator.exchange.serializers import (
    CompositeExportInputSerializer,
    DatasetImportInputSerializer,
)
from annotator.jobs.api import JobKindViewSet
from annotator.jobs.serializers import JobRunOutputSerializer
from annotator.models import JobRun


class DatasetImportViewSet(JobKindViewSet):
    job_kind = JobRun.Kind.IMPORT

    @extend_schema(
        request=DatasetImportInputSerializer,
        responses={202: JobRunOutputSerializer},
        summary="Import a dataset from folders on the server (its report is the job's result)",
    )
    def create(self, request: Request) -> Response:
        data = parse_input(DatasetImportInputSerializer, request.data)
        job_run = exchange.dataset_import_start(created_by=request.user, **data)
        return self._started(job_run)


class CompositeExportViewSet(JobKindViewSet):
    job_kind = JobRun.Kind.EXPORT
    read_perms = ["annotator.export_dataset"]
    required_perms = {
        "create": ["annotator.export_dataset"],
        "download": ["annotator.export_dataset"],
    }

    @extend_schema(
        request=CompositeExportInputSerializer,
        responses={202: JobRunOutputSerializer},
        summary="Export the composite set (MEGC2019 ground truth, LOSO folds, crops) as a zip",
    )
    def create(self, request: Request) -> Response:
        data = parse_input(CompositeExportInputSerializer, request.data)
        chosen = data.get("datasets")
        job_run = exchange.composite_export_start(
            created_by=request.user,
            dataset_ids=sorted({dataset.pk for dataset in chosen}) if chosen else None,
            min_status=data["min_status"],
            flows=data["flows"],
            megc2019=data["megc2019"],
        )
        return self._started(job_run)

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such export, or its file was removed."),
            409: OpenApiResponse(description="The export has not succeeded (yet)."),
        },
        summary="Download the finished export's zip",
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        content_negotiation_class=JSONErrorsOnly,
    )
    def download(self, request: Request, pk=None) -> FileResponse:
        job_run = self.get_object()
        if job_run.status != JobRun.Status.SUCCEEDED:
            raise Conflict(
                f"Export {job_run.pk} is {job_run.status}; only a succeeded export has a file.",
                code="not_finished" if not job_run.is_finished else "not_succeeded",
            )
        path = media.export_zip_path(job_run=job_run)
        if not path.is_file():
            raise exceptions.NotFound(f"The file of export {job_run.pk} was removed.")
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"composite-export-{job_run.pk}.zip",
            content_type="application/zip",
        )
