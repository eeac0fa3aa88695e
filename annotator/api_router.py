"""/api/v1/: every domain's resources, one router entry each; unknown URLs below /api/ answer
JSON 404s."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from annotator.accounts import api as accounts_api
from annotator.api.errors import api_not_found
from annotator.coding import api as coding_api
from annotator.corpus import api as corpus_api
from annotator.exchange import api as exchange_api
from annotator.jobs import api as jobs_api
from annotator.learning import api as learning_api

router = SimpleRouter()
router.register("datasets", coding_api.DatasetCodingViewSet, basename="api-dataset")
router.register("subjects", corpus_api.SubjectViewSet, basename="api-subject")
router.register("clips", corpus_api.ClipViewSet, basename="api-clip")
router.register("annotations", coding_api.AnnotationViewSet, basename="api-annotation")
router.register("queue", coding_api.QueueViewSet, basename="api-queue")
router.register("reviews", coding_api.ReviewViewSet, basename="api-review")
router.register("jobs", jobs_api.JobRunViewSet, basename="api-job")
router.register("training-runs", learning_api.TrainingRunViewSet, basename="api-training-run")
router.register("model-versions", learning_api.ModelVersionViewSet, basename="api-model-version")
router.register("proposals", learning_api.ProposalViewSet, basename="api-proposal")
router.register("imports", exchange_api.DatasetImportViewSet, basename="api-import")
router.register("exports", exchange_api.CompositeExportViewSet, basename="api-export")

urlpatterns = [
    *router.urls,
    path(
        "clips/<int:clip_id>/media/v<int:version>/<slug:layer>/<int:frame>.jpg",
        corpus_api.ClipMediaView.as_view(),
        name="api-clip-media",
    ),
    path("tokens/", accounts_api.TokenView.as_view(), name="api-tokens"),
    path("auth/token/", accounts_api.LoginTokenView.as_view(), name="api-login-token"),
    re_path(r"^.*$", api_not_found),
]
