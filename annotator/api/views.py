"""Thin API views: parse with an input serializer, call a selector or service, answer with an
output serializer. Errors raised by services (ValidationError, StaleRevisionError) become error
bodies in annotator.api.errors, so views do not catch them.

Each resource is one viewset registered in annotator.api.urls; a new resource (training runs,
model versions, proposals, imports, exports) is one more viewset with its `required_perms`.
"""

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from annotator import active_learning, selectors, services
from annotator.api import filters, tokens
from annotator.api import serializers as s
from annotator.api.errors import Conflict, PayloadTooLarge
from annotator.api.permissions import ActionPermissions, is_reviewer
from annotator.models import Annotation, Clip, JobRun, Subject
from annotator.views import FRAME_CACHE_CONTROL


class RoleViewSet(viewsets.GenericViewSet):
    """A viewset whose actions each name the permissions they need (see permissions.py)."""

    permission_classes = [ActionPermissions]
    required_perms: dict[str, list[str]] = {}
    output_serializers: dict[str, type] = {}

    def get_serializer_class(self):
        return self.output_serializers.get(self.action, self.serializer_class)


def _parse(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Datasets and subjects ------------------------------------------------------------------------


class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    required_perms = {
        "list": ["annotator.view_dataset"],
        "retrieve": ["annotator.view_dataset"],
        "agreement": ["annotator.adjudicate_annotation"],
    }
    serializer_class = s.DatasetOutputSerializer
    filterset_class = filters.DatasetFilter
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.dataset_list_with_counts().prefetch_related("emotions")

    @extend_schema(
        parameters=[s.AgreementQueryInputSerializer],
        responses=s.AgreementReportOutputSerializer,
        summary="Inter-coder agreement over the dataset's submitted annotations",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def agreement(self, request: Request, pk=None) -> Response:
        dataset = self.get_object()
        query = _parse(s.AgreementQueryInputSerializer, request.query_params)
        report = selectors.dataset_agreement_report(
            dataset=dataset, tolerance_ms=query["tolerance_ms"]
        )
        return Response(s.AgreementReportOutputSerializer(report).data)


class SubjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    required_perms = {
        "list": ["annotator.view_subject"],
        "retrieve": ["annotator.view_subject"],
    }
    serializer_class = s.SubjectOutputSerializer
    filterset_class = filters.SubjectFilter
    ordering_fields = ["code", "id"]
    ordering = ["id"]

    def get_queryset(self):
        return Subject.objects.annotate(clip_count=Count("clips"))


# --- Clips ----------------------------------------------------------------------------------------


class ClipViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    required_perms = {
        "list": ["annotator.view_clip"],
        "retrieve": ["annotator.view_clip"],
        "frames": ["annotator.view_clip"],
        "create": ["annotator.add_clip"],
        "reprocess": ["annotator.change_clip"],
    }
    serializer_class = s.ClipOutputSerializer
    output_serializers = {"retrieve": s.ClipDetailOutputSerializer}
    filterset_class = filters.ClipFilter
    ordering_fields = ["created_at", "name", "id"]
    ordering = ["-created_at"]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return Clip.objects.select_related("subject__dataset")

    @extend_schema(
        request={"multipart/form-data": s.ClipUploadInputSerializer},
        responses={
            202: s.ClipUploadOutputSerializer,
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
        data = _parse(s.ClipUploadInputSerializer, request.data)
        upload = data["source"]
        try:
            services.clip_upload_validate(upload=upload)
        except DjangoValidationError as error:
            if error.code == "too_large":
                raise PayloadTooLarge(error.messages[0]) from None
            raise exceptions.ValidationError(
                {"source": [exceptions.ErrorDetail(error.messages[0], code=error.code)]}
            ) from None
        dataset, code = data["dataset"], data["subject_code"]
        name = data.get("name") or upload.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if Clip.objects.filter(subject__dataset=dataset, subject__code=code, name=name).exists():
            raise exceptions.ValidationError(
                {
                    "name": [
                        exceptions.ErrorDetail(
                            f"{dataset} already has a clip {name!r} for subject {code}.",
                            code="unique",
                        )
                    ]
                }
            )
        subject, _ = Subject.objects.get_or_create(dataset=dataset, code=code)
        clip = Clip(subject=subject, name=name, fps=data.get("fps") or dataset.default_fps)
        job_run = services.clip_upload(clip=clip, upload=upload, created_by=request.user)
        body = s.ClipUploadOutputSerializer({"clip": clip, "job": job_run}).data
        location = request.build_absolute_uri(reverse("api-clip-detail", args=[clip.pk]))
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    @extend_schema(
        request=None,
        responses={
            202: s.JobRunOutputSerializer,
            409: OpenApiResponse(description="No source to read, or already being processed."),
        },
        summary="Preprocess the clip again (admins)",
    )
    @action(detail=True, methods=["post"])
    def reprocess(self, request: Request, pk=None) -> Response:
        clip = self.get_object()
        if clip.source_location is None:
            raise Conflict(f"{clip} has no upload or frame folder.", code="no_source")
        latest = selectors.clip_job_run_latest(clip=clip)
        if latest is not None and not latest.is_finished:
            raise Conflict(
                f"{clip} is already being processed (job {latest.pk}).", code="already_processing"
            )
        job_run = services.clip_preprocess_start(clip=clip, created_by=request.user)
        return Response(s.JobRunOutputSerializer(job_run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[s.FramesQueryInputSerializer],
        responses={
            200: s.ClipFramesOutputSerializer,
            409: OpenApiResponse(description="The clip is not preprocessed (yet)."),
        },
        summary="JPEG URLs of every frame, per layer (raw, aligned crops, motion)",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def frames(self, request: Request, pk=None) -> Response:
        clip = self.get_object()
        if clip.ingest_status != Clip.IngestStatus.READY:
            raise Conflict(f"Clip {clip.pk} is {clip.ingest_status}.", code="not_ready")
        query = _parse(s.FramesQueryInputSerializer, request.query_params)
        layers = selectors.clip_media_layers(clip=clip)
        if "layer" in query:
            if query["layer"] not in layers:
                raise exceptions.ValidationError(
                    {
                        "layer": [
                            exceptions.ErrorDetail(
                                f"{query['layer']!r} is not one of {', '.join(layers)}.",
                                code="invalid_choice",
                            )
                        ]
                    }
                )
            layers = [query["layer"]]
        body = s.ClipFramesOutputSerializer.build(clip=clip, layers=layers, request=request)
        return Response(s.ClipFramesOutputSerializer(body).data)


class JSONErrorsOnly(BaseContentNegotiation):
    """The frame endpoint answers JPEG bytes whatever the Accept header says; its errors are
    JSON bodies like everywhere else."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


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
            clip = selectors.clip_get(clip_id=clip_id)
        except Clip.DoesNotExist:
            raise exceptions.NotFound("No such clip.") from None
        path = selectors.clip_media_file(clip=clip, version=version, layer=layer, frame=frame)
        if path is None:
            raise exceptions.NotFound(f"Frame {frame} ({layer}, v{version}) is not in this clip.")
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = FRAME_CACHE_CONTROL
        return response


# --- Annotations ----------------------------------------------------------------------------------


class AnnotationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    """Coders see and edit only their own annotations (coding is blind); reviewers also see every
    submitted and adjudicated one. Another coder's draft is never visible: it answers 404."""

    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = Annotation.objects.none()
    required_perms = {
        "list": ["annotator.view_annotation"],
        "retrieve": ["annotator.view_annotation"],
        "create": ["annotator.change_annotation"],
        "partial_update": ["annotator.change_annotation"],
        "submit": ["annotator.change_annotation"],
    }
    serializer_class = s.AnnotationOutputSerializer
    filterset_class = filters.AnnotationFilter
    ordering_fields = ["updated_at", "created_at", "id"]
    ordering = ["-updated_at"]

    def get_queryset(self):
        user = self.request.user
        visible = Q(coder=user)
        if is_reviewer(user):
            visible |= Q(status__in=[Annotation.Status.SUBMITTED, Annotation.Status.ADJUDICATED])
        return Annotation.objects.filter(visible).select_related("coder", "emotion")

    @extend_schema(
        request=s.AnnotationCreateInputSerializer,
        responses={
            201: s.AnnotationOutputSerializer,
            200: OpenApiResponse(
                s.AnnotationOutputSerializer, description="Your existing draft for the clip"
            ),
            409: OpenApiResponse(description="You already submitted an annotation for the clip."),
        },
        summary="Start (or resume) your draft for a clip",
    )
    def create(self, request: Request) -> Response:
        clip = _parse(s.AnnotationCreateInputSerializer, request.data)["clip"]
        if selectors.annotation_submitted_for_coder(clip=clip, coder=request.user) is not None:
            raise Conflict(
                f"You already submitted an annotation for clip {clip.pk}.",
                code="already_submitted",
                field="clip",
            )
        existed = Annotation.objects.filter(
            clip=clip, coder=request.user, status=Annotation.Status.DRAFT
        ).exists()
        draft = services.annotation_create_draft(clip=clip, coder=request.user)
        return Response(
            s.AnnotationOutputSerializer(draft).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=s.AnnotationUpdateInputSerializer,
        responses={
            200: s.AnnotationOutputSerializer,
            409: OpenApiResponse(
                description="Stale revision (someone saved meanwhile) or not a draft any more."
            ),
        },
        summary="Save edits to your draft from the revision you read",
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        return self._save(request, pk, s.AnnotationUpdateInputSerializer, submit=False)

    @extend_schema(
        request=s.AnnotationSubmitInputSerializer,
        responses={
            200: s.AnnotationOutputSerializer,
            409: OpenApiResponse(description="Stale revision or already submitted."),
        },
        summary="Submit your draft (onset, offset and emotion required)",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        return self._save(request, pk, s.AnnotationSubmitInputSerializer, submit=True)

    def _save(self, request: Request, pk, input_serializer, *, submit: bool) -> Response:
        try:
            annotation = selectors.annotation_get_own(annotation_id=int(pk), coder=request.user)
        except (Annotation.DoesNotExist, ValueError, OverflowError):
            raise exceptions.NotFound("No such annotation of yours.") from None
        if annotation.status != Annotation.Status.DRAFT:
            raise Conflict(
                f"Annotation {annotation.pk} is {annotation.status}; it can no longer change.",
                code="not_editable",
            )
        data = _parse(input_serializer, request.data)
        saved = services.annotation_update(
            annotation=annotation,
            revision=data["revision"],
            onset=data.get("onset", annotation.onset),
            apex=data.get("apex", annotation.apex),
            offset=data.get("offset", annotation.offset),
            emotion=data.get("emotion", annotation.emotion),
            action_units=data.get("action_units", annotation.au_codes),
            notes=data.get("notes", annotation.notes),
            submit=submit,
        )
        return Response(s.AnnotationOutputSerializer(saved).data)


# --- Coding queue ---------------------------------------------------------------------------------


class QueueViewSet(mixins.ListModelMixin, RoleViewSet):
    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = Clip.objects.none()
    required_perms = {
        "list": ["annotator.change_annotation"],
        "next": ["annotator.change_annotation"],
    }
    serializer_class = s.QueueClipOutputSerializer
    filterset_class = filters.ClipFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at"]

    def get_queryset(self):
        return selectors.clip_queue_for_coder(coder=self.request.user)

    @extend_schema(
        request=None,
        responses={
            200: s.QueueClaimOutputSerializer,
            204: OpenApiResponse(description="Nothing left to code."),
        },
        summary="Claim the next clip to code (ranked by the queue's strategy) and get your draft",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def next(self, request: Request) -> Response:
        clip = active_learning.coder_next_clip_claim(coder=request.user)
        if clip is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        draft = Annotation.objects.select_related("coder", "emotion").get(
            clip=clip, coder=request.user, status=Annotation.Status.DRAFT
        )
        clip = selectors.clip_get(clip_id=clip.pk)
        return Response(s.QueueClaimOutputSerializer({"clip": clip, "annotation": draft}).data)


# --- Review ---------------------------------------------------------------------------------------


class ReviewViewSet(mixins.ListModelMixin, RoleViewSet):
    """Per clip: the submitted annotations side by side, pairwise agreement, and the final
    (adjudicated) annotation, which reviewers record with POST .../adjudication/."""

    required_perms = {
        "list": ["annotator.adjudicate_annotation"],
        "retrieve": ["annotator.adjudicate_annotation"],
        "adjudication": ["annotator.adjudicate_annotation"],
    }
    serializer_class = s.ReviewListOutputSerializer
    filterset_class = filters.ReviewFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at"]

    def get_queryset(self):
        return selectors.clip_list_for_review()

    def _clip(self, pk) -> Clip:
        try:
            return selectors.clip_get(clip_id=int(pk))
        except (Clip.DoesNotExist, ValueError, OverflowError):
            raise exceptions.NotFound("No such clip.") from None

    @extend_schema(responses=s.ReviewOutputSerializer)
    def retrieve(self, request: Request, pk=None) -> Response:
        clip = self._clip(pk)
        review = selectors.clip_review(clip=clip)
        return Response(s.ReviewOutputSerializer({"clip": clip, **review}).data)

    @extend_schema(
        request=s.AdjudicationInputSerializer,
        responses={
            201: s.AnnotationOutputSerializer,
            200: OpenApiResponse(
                s.AnnotationOutputSerializer, description="The existing adjudication, changed"
            ),
            409: OpenApiResponse(description="Someone adjudicated or changed it meanwhile."),
        },
        summary="Record (or change) the clip's final annotation",
    )
    @action(detail=True, methods=["post"])
    def adjudication(self, request: Request, pk=None) -> Response:
        clip = self._clip(pk)
        data = _parse(s.AdjudicationInputSerializer, request.data)
        based_on = data.get("based_on")
        if based_on is not None and based_on.clip_id != clip.pk:
            raise exceptions.ValidationError(
                {
                    "based_on": [
                        exceptions.ErrorDetail(
                            f"Annotation {based_on.pk} is not of clip {clip.pk}.",
                            code="wrong_clip",
                        )
                    ]
                }
            )
        existed = selectors.annotation_adjudicated(clip=clip) is not None
        final = services.annotation_adjudicate(
            clip=clip,
            reviewer=request.user,
            based_on=based_on,
            revision=data.get("revision"),
            onset=data.get("onset"),
            apex=data.get("apex"),
            offset=data.get("offset"),
            emotion=data.get("emotion"),
            action_units=data.get("action_units", []),
            comment=data.get("comment", ""),
        )
        return Response(
            s.AnnotationOutputSerializer(final).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


# --- Jobs -----------------------------------------------------------------------------------------


class JobRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    """Progress of long jobs. Reviewers and admins see every job; others the jobs they started."""

    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = JobRun.objects.none()
    required_perms = {"list": [], "retrieve": []}
    serializer_class = s.JobRunOutputSerializer
    filterset_class = filters.JobRunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        user = self.request.user
        if user.has_perm("annotator.view_jobrun"):
            return JobRun.objects.all()
        return JobRun.objects.filter(created_by=user)


# --- Tokens ---------------------------------------------------------------------------------------


class TokenView(APIView):
    """Your API token: one per user; creating a new one revokes the old key."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "tokens"

    @extend_schema(
        responses={
            200: s.TokenInfoOutputSerializer,
            404: OpenApiResponse(description="You have no token."),
        },
        summary="Whether you have a token (its first characters and creation time)",
    )
    def get(self, request: Request) -> Response:
        token = tokens.token_get(user=request.user)
        if token is None:
            raise exceptions.NotFound("You have no API token.")
        return Response(s.TokenInfoOutputSerializer(token).data)

    @extend_schema(
        request=None,
        responses={201: s.TokenOutputSerializer},
        summary="Create a new token (the old one stops working)",
    )
    def post(self, request: Request) -> Response:
        token = tokens.token_create(user=request.user)
        return Response(s.TokenOutputSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked"),
            404: OpenApiResponse(description="You have no token."),
        },
        summary="Revoke your token",
    )
    def delete(self, request: Request) -> Response:
        if not tokens.token_revoke(user=request.user):
            raise exceptions.NotFound("You have no API token.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginTokenView(APIView):
    """For scripts: trade a username and password for the user's token (throttled)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=s.LoginInputSerializer,
        responses={200: s.TokenOutputSerializer},
        auth=[],
        summary="Get your token with your username and password",
    )
    def post(self, request: Request) -> Response:
        data = _parse(s.LoginInputSerializer, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            raise exceptions.ValidationError(
                exceptions.ErrorDetail(
                    "Unknown username or wrong password.", code="invalid_credentials"
                )
            )
        token = tokens.token_get(user=user) or tokens.token_create(user=user)
        return Response(s.TokenOutputSerializer(token).data)
