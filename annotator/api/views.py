"""Thin API views: parse with an input serializer, call a selector or service, answer with an
output serializer. Errors raised by services (ValidationError, StaleRevisionError) become error
bodies in annotator.api.errors, so views do not catch them.

Each resource is one viewset registered in annotator.api.urls, with the permissions each of its
actions needs.
"""

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Q
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

from annotator import media
from annotator.api import filters, logins, tokens
from annotator.api import serializers as s
from annotator.api.errors import Conflict, Invalid, PayloadTooLarge
from annotator.api.permissions import ActionPermissions, is_reviewer
from annotator.coding import queue as coding_queue
from annotator.coding import review as coding_review
from annotator.coding import selectors as coding_selectors
from annotator.coding import services as coding_services
from annotator.corpus import selectors as corpus_selectors
from annotator.corpus import services as corpus
from annotator.exchange import services as exchange
from annotator.jobs import selectors as jobs_selectors
from annotator.learning import services as learning
from annotator.models import Annotation, Clip, JobRun, ModelVersion, Proposal, Subject, TrainingRun


class RoleViewSet(viewsets.GenericViewSet):
    """A viewset whose actions each name the permissions they need (see permissions.py)."""

    permission_classes = [ActionPermissions]
    required_perms: dict[str, list[str]] = {}
    output_serializers: dict[str, type] = {}

    def get_serializer_class(self):
        return self.output_serializers.get(self.action, self.serializer_class)


# List and retrieve, both open to `read_perms`; further actions name theirs in `required_perms`.
# (Not a docstring: the schema would show it as the description of every resource without one.)
class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoleViewSet):
    read_perms: list[str] = []

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.required_perms = {
            **cls.required_perms,
            "list": cls.read_perms,
            "retrieve": cls.read_perms,
        }


def _accepted(body: dict, *, location: str, request: Request) -> Response:
    """202: the work is queued; Location is where to follow it."""
    return Response(
        body,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": request.build_absolute_uri(location)},
    )


def _parse(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Datasets and subjects ------------------------------------------------------------------------


class DatasetViewSet(ReadViewSet):
    read_perms = ["annotator.view_dataset"]
    required_perms = {
        "agreement": ["annotator.adjudicate_annotation"],
        "partial_update": ["annotator.change_dataset"],
    }
    serializer_class = s.DatasetOutputSerializer
    filterset_class = filters.DatasetFilter
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]

    def get_queryset(self):
        return corpus_selectors.dataset_list_with_counts().prefetch_related("emotions")

    @extend_schema(
        request=s.DatasetCodingPlanInputSerializer,
        responses=s.DatasetOutputSerializer,
        summary="Change the dataset's coding plan (blind or model-assisted, coders per clip)",
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        dataset = self.get_object()
        data = _parse(s.DatasetCodingPlanInputSerializer, request.data)
        coding_services.dataset_coding_plan_update(
            dataset=dataset,
            coding_mode=data.get("coding_mode", dataset.coding_mode),
            coders_per_clip=data.get("coders_per_clip", dataset.coders_per_clip),
        )
        return Response(s.DatasetOutputSerializer(self.get_object()).data)

    @extend_schema(
        parameters=[s.AgreementQueryInputSerializer],
        responses=s.AgreementReportOutputSerializer,
        summary="Inter-coder agreement over the dataset's submitted annotations",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def agreement(self, request: Request, pk=None) -> Response:
        dataset = self.get_object()
        query = _parse(s.AgreementQueryInputSerializer, request.query_params)
        report = coding_review.dataset_agreement_report(
            dataset=dataset, tolerance_ms=query["tolerance_ms"]
        )
        return Response(s.AgreementReportOutputSerializer(report).data)


class SubjectViewSet(ReadViewSet):
    read_perms = ["annotator.view_subject"]
    serializer_class = s.SubjectOutputSerializer
    filterset_class = filters.SubjectFilter
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
        return _accepted(
            s.ClipUploadOutputSerializer({"clip": clip, "job": job_run}).data,
            location=reverse("api-clip-detail", args=[clip.pk]),
            request=request,
        )

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
        latest = corpus_selectors.clip_job_run_latest(clip=clip)
        if latest is not None and not latest.is_finished:
            raise Conflict(
                f"{clip} is already being processed (job {latest.pk}).", code="already_processing"
            )
        job_run = corpus.clip_preprocess_start(clip=clip, created_by=request.user)
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
        layers = corpus_selectors.clip_media_layers(clip=clip)
        if "layer" in query:
            if query["layer"] not in layers:
                raise Invalid(
                    f"{query['layer']!r} is not one of {', '.join(layers)}.",
                    code="invalid_choice",
                    field="layer",
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


# --- Annotations ----------------------------------------------------------------------------------


class AnnotationViewSet(ReadViewSet):
    """Coders see and edit only their own annotations (coding is blind); reviewers also see every
    submitted and adjudicated one. Another coder's draft is never visible: it answers 404."""

    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = Annotation.objects.none()
    read_perms = ["annotator.view_annotation"]
    required_perms = {
        "create": ["annotator.change_annotation"],
        "partial_update": ["annotator.change_annotation"],
        "submit": ["annotator.change_annotation"],
        "release": ["annotator.change_annotation"],
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
            409: OpenApiResponse(
                description="You already submitted the clip, it is adjudicated, or its "
                "dataset's coding plan has all the coders it asks for."
            ),
        },
        summary="Claim a clip: start (or resume) your draft for it",
    )
    def create(self, request: Request) -> Response:
        clip = _parse(s.AnnotationCreateInputSerializer, request.data)["clip"]
        existed = coding_selectors.annotation_of_coder(clip=clip, coder=request.user) is not None
        draft = coding_services.clip_claim(clip=clip, coder=request.user)
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

    @extend_schema(
        request=s.AnnotationReleaseInputSerializer,
        responses={
            204: OpenApiResponse(
                description="Released: the draft is gone, the clip is back in the queue."
            ),
            409: OpenApiResponse(
                description="Not a draft, or a draft with saved edits and `discard` not true."
            ),
        },
        summary="Release your draft's clip back to the queue (deletes the draft)",
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk=None) -> Response:
        annotation = self._own(pk)
        data = _parse(s.AnnotationReleaseInputSerializer, request.data)
        coding_services.annotation_release(annotation=annotation, discard_edits=data["discard"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _own(self, pk) -> Annotation:
        try:
            return coding_selectors.annotation_get_own(
                annotation_id=int(pk), coder=self.request.user
            )
        except (Annotation.DoesNotExist, ValueError, OverflowError):
            raise exceptions.NotFound("No such annotation of yours.") from None

    def _save(self, request: Request, pk, input_serializer, *, submit: bool) -> Response:
        annotation = self._own(pk)
        if annotation.status != Annotation.Status.DRAFT:
            raise Conflict(
                f"Annotation {annotation.pk} is {annotation.status}; it can no longer change.",
                code="not_editable",
            )
        data = _parse(input_serializer, request.data)
        # A field the request leaves out keeps its stored value.
        coding = {field: data.get(field, value) for field, value in annotation.coding().items()}
        saved = coding_services.annotation_update(
            annotation=annotation,
            revision=data["revision"],
            submit=submit,
            saved_by=request.user,
            **coding,
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
        return coding_selectors.clip_queue_for_coder(coder=self.request.user)

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
        draft = coding_queue.coder_next_draft_claim(coder=request.user)
        if draft is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(
            s.QueueClaimOutputSerializer({"clip": draft.clip, "annotation": draft}).data
        )


# --- Review ---------------------------------------------------------------------------------------


class ReviewViewSet(ReadViewSet):
    """Per clip: the submitted annotations side by side, pairwise agreement, and the final
    (adjudicated) annotation, which reviewers record with POST .../adjudication/."""

    read_perms = ["annotator.adjudicate_annotation"]
    required_perms = {"adjudication": ["annotator.adjudicate_annotation"]}
    serializer_class = s.ReviewListOutputSerializer
    filterset_class = filters.ReviewFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at"]

    def get_queryset(self):
        return coding_review.clip_list_for_review()

    def _clip(self, pk) -> Clip:
        try:
            return corpus_selectors.clip_get(clip_id=int(pk))
        except (Clip.DoesNotExist, ValueError, OverflowError):
            raise exceptions.NotFound("No such clip.") from None

    @extend_schema(responses=s.ReviewOutputSerializer)
    def retrieve(self, request: Request, pk=None) -> Response:
        clip = self._clip(pk)
        review = coding_review.clip_review(clip=clip)
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
            raise Invalid(
                f"Annotation {based_on.pk} is not of clip {clip.pk}.",
                code="wrong_clip",
                field="based_on",
            )
        existed = coding_review.annotation_adjudicated(clip=clip) is not None
        final = coding_services.annotation_adjudicate(
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


class JobRunViewSet(ReadViewSet):
    """Progress of long jobs. Reviewers and admins see every job; others the jobs they started."""

    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = JobRun.objects.none()
    serializer_class = s.JobRunOutputSerializer
    filterset_class = filters.JobRunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return jobs_selectors.job_runs_visible_to(user=self.request.user)


# --- Training and model versions (admins) ---------------------------------------------------------


class TrainingRunViewSet(ReadViewSet):
    """Retraining on a frozen snapshot of the chosen datasets' annotations. Each attempt is a job;
    `latest_job` is the current one, and a retry resumes after the folds already finished."""

    read_perms = ["annotator.view_trainingrun"]
    required_perms = {
        "create": ["annotator.add_trainingrun"],
        "cancel": ["annotator.change_trainingrun"],
        "retry": ["annotator.change_trainingrun"],
    }
    serializer_class = s.TrainingRunOutputSerializer
    filterset_class = filters.TrainingRunFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        attempts = Prefetch(
            "job_runs", queryset=JobRun.objects.order_by("-created_at"), to_attr="attempts"
        )
        return TrainingRun.objects.select_related("created_by", "model_version").prefetch_related(
            "datasets", attempts
        )

    def _body(self, training_run: TrainingRun) -> dict:
        return s.TrainingRunOutputSerializer(self.get_queryset().get(pk=training_run.pk)).data

    @extend_schema(
        request=s.TrainingRunStartInputSerializer,
        responses={
            202: s.TrainingRunOutputSerializer,
            409: OpenApiResponse(description="A run on these datasets is queued or running."),
        },
        summary="Start a training run (queued on the train queue)",
    )
    def create(self, request: Request) -> Response:
        data = _parse(s.TrainingRunStartInputSerializer, request.data)
        training_run = learning.training_run_start(created_by=request.user, **data)
        return _accepted(
            self._body(training_run),
            location=reverse("api-training-run-detail", args=[training_run.pk]),
            request=request,
        )

    @extend_schema(
        request=None,
        responses={
            200: s.TrainingRunOutputSerializer,
            409: OpenApiResponse(description="The run is not queued or running."),
        },
        summary="Cancel the run's current attempt (the worker stops at its next epoch)",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        training_run = self.get_object()
        if not learning.training_run_cancel(training_run=training_run):
            raise Conflict(
                f"Training run {training_run.pk} is not queued or running.", code="not_running"
            )
        return Response(self._body(training_run))

    @extend_schema(
        request=None,
        responses={
            202: s.TrainingRunOutputSerializer,
            409: OpenApiResponse(description="Still queued or running, or already finished."),
        },
        summary="Try a failed or cancelled run again, resuming after its finished folds",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk=None) -> Response:
        training_run = self.get_object()
        learning.training_run_retry(training_run=training_run, created_by=request.user)
        return _accepted(
            self._body(training_run),
            location=reverse("api-training-run-detail", args=[training_run.pk]),
            request=request,
        )


class ModelVersionViewSet(ReadViewSet):
    """The model each successful training run produced; the active one orders the queue."""

    read_perms = ["annotator.view_modelversion"]
    required_perms = {"activate": ["annotator.change_modelversion"]}
    serializer_class = s.ModelVersionOutputSerializer
    filterset_class = filters.ModelVersionFilter
    ordering_fields = ["created_at", "labelled_clips", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return ModelVersion.objects.annotate(proposal_count=Count("proposals"))

    @extend_schema(
        request=None,
        responses={202: s.JobRunOutputSerializer},
        summary="Make this the active version and score the unlabelled clips with it",
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk=None) -> Response:
        job_run = learning.model_version_activate(
            version=self.get_object(), activated_by=request.user
        )
        return _accepted(
            s.JobRunOutputSerializer(job_run).data,
            location=reverse("api-job-detail", args=[job_run.pk]),
            request=request,
        )


class ProposalViewSet(ReadViewSet):
    """What a model version says about each clip nobody adjudicated: apex, class, uncertainty.
    The most uncertain first (`ordering=-entropy`); also `margin` (small: uncertain), `-bald`.

    Coders do not read these here: the workbench shows a coder the proposal of the clip being
    coded, unless they code blind, and records that their draft became model-assisted."""

    read_perms = ["annotator.view_proposal"]
    serializer_class = s.ProposalOutputSerializer
    # The embedding is hundreds of numbers per clip: only a single proposal carries it.
    output_serializers = {"retrieve": s.ProposalDetailOutputSerializer}
    filterset_class = filters.ProposalFilter
    ordering_fields = ["entropy", "margin", "bald", "novelty", "created_at", "id"]
    ordering = ["-entropy"]

    def get_queryset(self):
        if self.action != "list":
            return Proposal.objects.all()
        proposals = Proposal.objects.defer("embedding")
        if not self.request.query_params.get("model_version"):
            proposals = proposals.filter(model_version__is_active=True)
        return proposals


# --- Dataset imports and exports (admins) ---------------------------------------------------------


class JobKindViewSet(ReadViewSet):
    """The jobs of one kind, started with POST and followed like any job: status, progress,
    message, and the result (the import's report, the export's summary) once it succeeded."""

    job_kind: str
    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = JobRun.objects.none()
    read_perms = ["annotator.add_dataset"]
    required_perms = {"create": ["annotator.add_dataset"]}
    serializer_class = s.JobRunOutputSerializer
    filterset_class = filters.JobStatusFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return jobs_selectors.job_runs_visible_to(user=self.request.user).filter(kind=self.job_kind)

    def _started(self, job_run: JobRun) -> Response:
        return _accepted(
            s.JobRunOutputSerializer(job_run).data,
            location=reverse(f"{self.basename}-detail", args=[job_run.pk]),
            request=self.request,
        )


class DatasetImportViewSet(JobKindViewSet):
    job_kind = JobRun.Kind.IMPORT

    @extend_schema(
        request=s.DatasetImportInputSerializer,
        responses={202: s.JobRunOutputSerializer},
        summary="Import a dataset from folders on the server (its report is the job's result)",
    )
    def create(self, request: Request) -> Response:
        data = _parse(s.DatasetImportInputSerializer, request.data)
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
        request=s.CompositeExportInputSerializer,
        responses={202: s.JobRunOutputSerializer},
        summary="Export the composite set (MEGC2019 ground truth, LOSO folds, crops) as a zip",
    )
    def create(self, request: Request) -> Response:
        data = _parse(s.CompositeExportInputSerializer, request.data)
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


# --- Tokens ---------------------------------------------------------------------------------------


class TokenView(APIView):
    """Your API tokens (annotator.api.tokens): creating one revokes all earlier keys."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "tokens"

    @extend_schema(
        responses={
            200: s.TokenInfoOutputSerializer,
            404: OpenApiResponse(description="You have no token."),
        },
        summary="Your newest live token (its first characters, creation and expiry times)",
    )
    def get(self, request: Request) -> Response:
        token = tokens.token_get(user=request.user)
        if token is None:
            raise exceptions.NotFound("You have no API token.")
        context = {"live_tokens": tokens.token_count(user=request.user)}
        return Response(s.TokenInfoOutputSerializer(token, context=context).data)

    @extend_schema(
        request=None,
        responses={201: s.TokenOutputSerializer},
        summary="Create a new token (all earlier ones stop working)",
    )
    def post(self, request: Request) -> Response:
        token = tokens.token_replace(user=request.user)
        return Response(s.TokenOutputSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked"),
            404: OpenApiResponse(description="You have no token."),
        },
        summary="Revoke all your tokens",
    )
    def delete(self, request: Request) -> Response:
        if not tokens.token_revoke(user=request.user):
            raise exceptions.NotFound("You have no API token.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginTokenView(APIView):
    """For scripts: trade a username and password for a new token of the user's own (earlier
    ones keep working until they expire or are revoked). Throttled per client,
    and failed passwords count with the log-in page's (annotator.api.logins)."""

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
        username = data["username"]
        # The Django request: django-axes marks a locked-out attempt on it, and its middleware
        # answers 429 in place of this view's response.
        user = authenticate(request._request, username=username, password=data["password"])
        if user is None:
            raise Invalid("Unknown username or wrong password.", code="invalid_credentials")
        logins.login_failures_forget(username=username)
        token = tokens.token_create(user=user)
        return Response(s.TokenOutputSerializer(token).data)
