"""/api/v1/annotations/, queue/ and reviews/, and the datasets' coding plan and agreement: coding
a clip, claiming the next one, reviewing and adjudicating."""

from dataclasses import replace

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.errors import Conflict, Invalid
from annotator.api.viewsets import ReadViewSet, RoleViewSet, parse_input
from annotator.coding import queue as coding_queue
from annotator.coding import review as coding_review
from annotator.coding import selectors as coding_selectors
from annotator.coding import services as coding_services
from annotator.coding.filters import AnnotationFilter, ReviewFilter
from annotator.coding.serializers import (
    AdjudicationInputSerializer,
    AgreementQueryInputSerializer,
    AgreementReportOutputSerializer,
    AnnotationCreateInputSerializer,
    AnnotationOutputSerializer,
    AnnotationReleaseInputSerializer,
    AnnotationSubmitInputSerializer,
    AnnotationUpdateInputSerializer,
    DatasetCodingPlanInputSerializer,
    QueueClaimOutputSerializer,
    QueueClipOutputSerializer,
    ReviewListOutputSerializer,
    ReviewOutputSerializer,
)
from annotator.corpus import api as corpus_api
from annotator.corpus import selectors as corpus_selectors
from annotator.corpus.filters import ClipFilter
from annotator.corpus.serializers import DatasetOutputSerializer
from annotator.models import Annotation, Clip, Coding

# --- Datasets: coding plan and agreement ----------------------------------------------------------


# The datasets with what coding adds to them: the coding plan and the agreement report.
# (Not a docstring: the schema would show it as the description of the datasets.)
class DatasetCodingViewSet(corpus_api.DatasetViewSet):
    required_perms = {
        "agreement": ["annotator.adjudicate_annotation"],
        "partial_update": ["annotator.change_dataset"],
    }

    @extend_schema(
        request=DatasetCodingPlanInputSerializer,
        responses=DatasetOutputSerializer,
        summary="Change the dataset's coding plan (blind or model-assisted, coders per clip)",
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        dataset = self.get_object()
        data = parse_input(DatasetCodingPlanInputSerializer, request.data)
        coding_services.dataset_coding_plan_update(
            dataset=dataset,
            coding_mode=data.get("coding_mode", dataset.coding_mode),
            coders_per_clip=data.get("coders_per_clip", dataset.coders_per_clip),
        )
        return Response(DatasetOutputSerializer(self.get_object()).data)

    @extend_schema(
        parameters=[AgreementQueryInputSerializer],
        responses=AgreementReportOutputSerializer,
        summary="Inter-coder agreement over the dataset's submitted annotations",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def agreement(self, request: Request, pk=None) -> Response:
        dataset = self.get_object()
        query = parse_input(AgreementQueryInputSerializer, request.query_params)
        report = coding_review.dataset_agreement_report(
            dataset=dataset, tolerance_ms=query["tolerance_ms"]
        )
        return Response(AgreementReportOutputSerializer(report).data)


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
    serializer_class = AnnotationOutputSerializer
    filterset_class = AnnotationFilter
    ordering_fields = ["updated_at", "created_at", "id"]
    ordering = ["-updated_at"]

    def get_queryset(self):
        return coding_selectors.annotations_visible_to(user=self.request.user).select_related(
            "coder", "emotion"
        )

    @extend_schema(
        request=AnnotationCreateInputSerializer,
        responses={
            201: AnnotationOutputSerializer,
            200: OpenApiResponse(
                AnnotationOutputSerializer, description="Your existing draft for the clip"
            ),
            409: OpenApiResponse(
                description="You already submitted the clip, it is adjudicated, or its "
                "dataset's coding plan has all the coders it asks for."
            ),
        },
        summary="Claim a clip: start (or resume) your draft for it",
    )
    def create(self, request: Request) -> Response:
        clip = parse_input(AnnotationCreateInputSerializer, request.data)["clip"]
        existed = coding_selectors.annotation_of_coder(clip=clip, coder=request.user) is not None
        draft = coding_services.clip_claim(clip=clip, coder=request.user)
        return Response(
            AnnotationOutputSerializer(draft).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=AnnotationUpdateInputSerializer,
        responses={
            200: AnnotationOutputSerializer,
            409: OpenApiResponse(
                description="Stale revision (someone saved meanwhile) or not a draft any more."
            ),
        },
        summary="Save edits to your draft from the revision you read",
    )
    def partial_update(self, request: Request, pk=None) -> Response:
        return self._save(request, pk, AnnotationUpdateInputSerializer, submit=False)

    @extend_schema(
        request=AnnotationSubmitInputSerializer,
        responses={
            200: AnnotationOutputSerializer,
            409: OpenApiResponse(description="Stale revision or already submitted."),
        },
        summary="Submit your draft (onset, offset and emotion required)",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        return self._save(request, pk, AnnotationSubmitInputSerializer, submit=True)

    @extend_schema(
        request=AnnotationReleaseInputSerializer,
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
        data = parse_input(AnnotationReleaseInputSerializer, request.data)
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
        data = parse_input(input_serializer, request.data)
        # A field the request leaves out keeps its stored value.
        stored = annotation.coding()
        coding = replace(stored, **{f: data[f] for f in stored.as_dict() if f in data})
        saved = coding_services.annotation_update(
            annotation=annotation,
            revision=data["revision"],
            coding=coding,
            submit=submit,
            saved_by=request.user,
        )
        return Response(AnnotationOutputSerializer(saved).data)


# --- Coding queue ---------------------------------------------------------------------------------


class QueueViewSet(mixins.ListModelMixin, RoleViewSet):
    # The rows depend on the user (get_queryset); this names the model for the schema.
    queryset = Clip.objects.none()
    required_perms = {
        "list": ["annotator.change_annotation"],
        "next": ["annotator.change_annotation"],
    }
    serializer_class = QueueClipOutputSerializer
    filterset_class = ClipFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at"]

    def get_queryset(self):
        return coding_selectors.clip_queue_for_coder(coder=self.request.user)

    @extend_schema(
        request=None,
        responses={
            200: QueueClaimOutputSerializer,
            204: OpenApiResponse(description="Nothing left to code."),
        },
        summary="Claim the next clip to code (ranked by the queue's strategy) and get your draft",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def next(self, request: Request) -> Response:
        draft = coding_queue.coder_next_draft_claim(coder=request.user)
        if draft is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(QueueClaimOutputSerializer({"clip": draft.clip, "annotation": draft}).data)


# --- Review ---------------------------------------------------------------------------------------


class ReviewViewSet(ReadViewSet):
    """Per clip: the submitted annotations side by side, pairwise agreement, and the final
    (adjudicated) annotation, which reviewers record with POST .../adjudication/."""

    read_perms = ["annotator.adjudicate_annotation"]
    required_perms = {"adjudication": ["annotator.adjudicate_annotation"]}
    serializer_class = ReviewListOutputSerializer
    filterset_class = ReviewFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at"]

    def get_queryset(self):
        return coding_review.clip_list_for_review()

    def _clip(self, pk) -> Clip:
        try:
            return corpus_selectors.clip_get(clip_id=int(pk))
        except (Clip.DoesNotExist, ValueError, OverflowError):
            raise exceptions.NotFound("No such clip.") from None

    @extend_schema(responses=ReviewOutputSerializer)
    def retrieve(self, request: Request, pk=None) -> Response:
        clip = self._clip(pk)
        review = coding_review.clip_review(clip=clip)
        return Response(ReviewOutputSerializer({"clip": clip, **review}).data)

    @extend_schema(
        request=AdjudicationInputSerializer,
        responses={
            201: AnnotationOutputSerializer,
            200: OpenApiResponse(
                AnnotationOutputSerializer, description="The existing adjudication, changed"
            ),
            409: OpenApiResponse(description="Someone adjudicated or changed it meanwhile."),
        },
        summary="Record (or change) the clip's final annotation",
    )
    @action(detail=True, methods=["post"])
    def adjudication(self, request: Request, pk=None) -> Response:
        clip = self._clip(pk)
        data = parse_input(AdjudicationInputSerializer, request.data)
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
            coding=Coding(
                onset=data.get("onset"),
                apex=data.get("apex"),
                offset=data.get("offset"),
                emotion=data.get("emotion"),
                action_units=data.get("action_units", []),
                notes=data.get("comment", ""),
            ),
        )
        return Response(
            AnnotationOutputSerializer(final).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )
