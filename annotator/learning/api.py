"""/api/v1/training-runs/, model-versions/ and proposals/ (admins; researchers read): the model
in the loop."""

from django.db.models import Count, Prefetch
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.errors import Conflict
from annotator.api.viewsets import ReadViewSet, accepted, parse_input
from annotator.jobs.serializers import JobRunOutputSerializer
from annotator.learning import services as learning
from annotator.learning.filters import ModelVersionFilter, ProposalFilter, TrainingRunFilter
from annotator.learning.serializers import (
    ModelVersionOutputSerializer,
    ProposalDetailOutputSerializer,
    ProposalOutputSerializer,
    TrainingRunOutputSerializer,
    TrainingRunStartInputSerializer,
)
from annotator.models import JobRun, ModelVersion, Proposal, TrainingRun


class TrainingRunViewSet(ReadViewSet):
    """Retraining on a frozen snapshot of the chosen datasets' annotations. Each attempt is a job;
    `latest_job` is the current one, and a retry resumes after the folds already finished."""

    read_perms = ["annotator.view_trainingrun"]
    required_perms = {
        "create": ["annotator.add_trainingrun"],
        "cancel": ["annotator.change_trainingrun"],
        "retry": ["annotator.change_trainingrun"],
    }
    serializer_class = TrainingRunOutputSerializer
    filterset_class = TrainingRunFilter
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
        return TrainingRunOutputSerializer(self.get_queryset().get(pk=training_run.pk)).data

    @extend_schema(
        request=TrainingRunStartInputSerializer,
        responses={
            202: TrainingRunOutputSerializer,
            409: OpenApiResponse(description="A run on these datasets is queued or running."),
        },
        summary="Start a training run (queued on the train queue)",
    )
    def create(self, request: Request) -> Response:
        data = parse_input(TrainingRunStartInputSerializer, request.data)
        training_run = learning.training_run_start(created_by=request.user, **data)
        return accepted(
            self._body(training_run),
            location=reverse("api-training-run-detail", args=[training_run.pk]),
            request=request,
        )

    @extend_schema(
        request=None,
        responses={
            200: TrainingRunOutputSerializer,
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
            202: TrainingRunOutputSerializer,
            409: OpenApiResponse(description="Still queued or running, or already finished."),
        },
        summary="Try a failed or cancelled run again, resuming after its finished folds",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk=None) -> Response:
        training_run = self.get_object()
        learning.training_run_retry(training_run=training_run, created_by=request.user)
        return accepted(
            self._body(training_run),
            location=reverse("api-training-run-detail", args=[training_run.pk]),
            request=request,
        )


class ModelVersionViewSet(ReadViewSet):
    """The model each successful training run produced; the active one orders the queue."""

    read_perms = ["annotator.view_modelversion"]
    required_perms = {"activate": ["annotator.change_modelversion"]}
    serializer_class = ModelVersionOutputSerializer
    filterset_class = ModelVersionFilter
    ordering_fields = ["created_at", "labelled_clips", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return ModelVersion.objects.annotate(proposal_count=Count("proposals"))

    @extend_schema(
        request=None,
        responses={202: JobRunOutputSerializer},
        summary="Make this the active version and score the unlabelled clips with it",
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk=None) -> Response:
        job_run = learning.model_version_activate(
            version=self.get_object(), activated_by=request.user
        )
        return accepted(
            JobRunOutputSerializer(job_run).data,
            location=reverse("api-job-detail", args=[job_run.pk]),
            request=request,
        )


class ProposalViewSet(ReadViewSet):
    """What a model version says about each clip nobody adjudicated: apex, class, uncertainty.
    The most uncertain first (`ordering=-entropy`); also `margin` (small: uncertain), `-bald`.

    Coders do not read these here: the workbench shows a coder the proposal of the clip being
    coded, unless they code blind, and records that their draft became model-assisted."""

    read_perms = ["annotator.view_proposal"]
    serializer_class = ProposalOutputSerializer
    # The embedding is hundreds of numbers per clip: only a single proposal carries it.
    output_serializers = {"retrieve": ProposalDetailOutputSerializer}
    filterset_class = ProposalFilter
    ordering_fields = ["entropy", "margin", "bald", "novelty", "created_at", "id"]
    ordering = ["-entropy"]

    def get_queryset(self):
        if self.action != "list":
            return Proposal.objects.all()
        proposals = Proposal.objects.defer("embedding")
        if not self.request.query_params.get("model_version"):
            proposals = proposals.filter(model_version__is_active=True)
        return proposals
