"""/api/v1/datasets/, subjects/ and clips/: the corpus, a clip's upload, preprocessing and
frames."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator import media
from annotator.api.errors import Conflict, Invalid, PayloadTooLarge
from annotator.api.permissions import ActionPermissions
from annotator.api.viewsets import JSONErrorsOnly, ReadViewSet, accepted, parse_input
from annotator.corpus import selectors as corpus_selectors
from annotator.corpus import services as corpus
from annotator.corpus.filters import ClipFilter, DatasetFilter, SubjectFilter
from annotator.corpus.serializers import (
    ClipDetailOutputSerializer,
    ClipFramesOutputSerializer,
    ClipOutputSerializer,
    ClipUploadInputSerializer,
    ClipUploadOutputSerializer,
    DatasetOutputSerializer,
    FramesQueryInputSerializer,
    SubjectOutputSerializer,
)
from annotator.jobs.serializers import JobRunOutputSerializer
from annotator.models import Clip, Subject

# --- Datasets and subjects ------------------------------------------------------------------------


# Coding adds the dataset's coding plan and agreement report (annotator.coding.api).
# (Not a docstring: the schema would show it as the description of the datasets.)
class DatasetViewSet(ReadViewSet):
    read_perms = ["annotator.view_dataset"]
    serializer_class = DatasetOutputSerializer
    filterset_class = DatasetFilter
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]

    def get_queryset(self):
        return corpus_selectors.dataset_list_with_counts().prefetch_related("emotions")


class SubjectViewSet(ReadViewSet):
    read_perms = ["annotator.view_subject"]
    serializer_class = SubjectOutputSerializer
    filterset_class = SubjectFilter
    ordering_fields = ["code", "id"]
    ordering = ["id"]

    def get_queryset(self):
        return Subject.objects.annotate(clip_count=Count("clips"))


# --- Clips ----------------------------------------------------------------------------------------


class ClipViewSet(ReadViewSet):
    read_perms = ["annotator.view_clip"]
    required_perms = {
        "frames": ["annotator.view_clip"],
        "create": ["annotator.add_clip"],
        "reprocess": ["annotator.change_clip"],
    }
    serializer_class = ClipOutputSerializer
    output_serializers = {"retrieve": ClipDetailOutputSerializer}
    filterset_class = ClipFilter
    ordering_fields = ["created_at", "name", "id"]
    ordering = ["-created_at"]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return Clip.objects.select_related("subject__dataset")

    @extend_schema(
        request={"multipart/form-data": ClipUploadInputSerializer},
        responses={
            202: ClipUploadOutputSerializer,
            413: OpenApiResponse(description="The upload is larger than the server accepts."),
        },
        summary="Upload a video or a zip of frames; preprocessing is queued",
    )
    def create(self, request: Request) -> Response:
        # Refuse oversize bodies before they are read to disk.
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.MAX_UPLOAD_BYTES + 64 * 1024:
            raise PayloadTooLarge(
                f"The upload is larger than {settings.MAX_UPLOAD_BYTES // 1024**2} MiB."
            )
        data = parse_input(ClipUploadInputSerializer, request.data)
        upload = data["source"]
        try:
            corpus.clip_upload_validate(upload=upload)
        except DjangoValidationError as error:
            if error.code == "too_large":
                raise PayloadTooLarge(error.messages[0]) from None
            raise Invalid(error.messages[0], code=error.code, field="source") from None
        dataset, code = data["dataset"], data["subject_code"]
        name = data.get("name") or upload.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        subject, _ = Subject.objects.get_or_create(dataset=dataset, code=code)
        clip = Clip(subject=subject, name=name, fps=data.get("fps") or dataset.default_fps)
        job_run = corpus.clip_upload(clip=clip, upload=upload, created_by=request.user)
        return accepted(
            ClipUploadOutputSerializer({"clip": clip, "job": job_run}).data,
            location=reverse("api-clip-detail", args=[clip.pk]),
            request=request,
        )

    @extend_schema(
        request=None,
        responses={
            202: JobRunOutputSerializer,
            409: OpenApiResponse(description="No source to read, or already being processed."),
        },
        summary="Preprocess the clip again (admins)",
    )
    @action(detail=True, methods=["post"])
    def reprocess(self, request: Request, pk=None) -> Response:
        clip = self.get_object()
        if clip.source_location is None:
            raise Conflict(f"{clip} has no upload or frame folder.", code="no_source")
        latest = corpus_selectors.clip_job_run_latest(clip=clip)
        if latest is not None and not latest.is_finished:
            raise Conflict(
                f"{clip} is already being processed (job {latest.pk}).", code="already_processing"
            )
        job_run = corpus.clip_preprocess_start(clip=clip, created_by=request.user)
        return Response(JobRunOutputSerializer(job_run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[FramesQueryInputSerializer],
        responses={
            200: ClipFramesOutputSerializer,
            409: OpenApiResponse(description="The clip is not preprocessed (yet)."),
        },
        summary="JPEG URLs of every frame, per layer (raw, aligned crops, motion)",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def frames(self, request: Request, pk=None) -> Response:
        clip = self.get_object()
        if clip.ingest_status != Clip.IngestStatus.READY:
            raise Conflict(f"Clip {clip.pk} is {clip.ingest_status}.", code="not_ready")
        query = parse_input(FramesQueryInputSerializer, request.query_params)
        layers = corpus_selectors.clip_media_layers(clip=clip)
        if "layer" in query:
            if query["layer"] not in layers:
                raise Invalid(
                    f"{query['layer']!r} is not one of {', '.join(layers)}.",
                    code="invalid_choice",
                    field="layer",
                )
            layers = [query["layer"]]
        body = ClipFramesOutputSerializer.build(clip=clip, layers=layers, request=request)
        return Response(ClipFramesOutputSerializer(body).data)


class ClipMediaView(APIView):
    permission_classes = [ActionPermissions]
    required_perms = {"get": ["annotator.view_clip"]}
    content_negotiation_class = JSONErrorsOnly

    @extend_schema(
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY},
        summary="One frame of one layer as JPEG (cacheable forever: the URL names the version)",
    )
    def get(self, request: Request, clip_id: int, version: int, layer: str, frame: int):
        try:
            clip = corpus_selectors.clip_get(clip_id=clip_id)
        except Clip.DoesNotExist:
            raise exceptions.NotFound("No such clip.") from None
        path = corpus_selectors.clip_media_file(
            clip=clip, version=version, layer=layer, frame=frame
        )
        if path is None:
            raise exceptions.NotFound(f"Frame {frame} ({layer}, v{version}) is not in this clip.")
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = media.FRAME_CACHE_CONTROL
        return response
