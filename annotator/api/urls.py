"""/api/v1/: one router entry per resource; unknown URLs below /api/ answer JSON 404s."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from annotator.api import views
from annotator.api.errors import api_not_found

router = SimpleRouter()
router.register("datasets", views.DatasetViewSet, basename="api-dataset")
router.register("subjects", views.SubjectViewSet, basename="api-subject")
router.register("clips", views.ClipViewSet, basename="api-clip")
router.register("annotations", views.AnnotationViewSet, basename="api-annotation")
router.register("queue", views.QueueViewSet, basename="api-queue")
router.register("reviews", views.ReviewViewSet, basename="api-review")
router.register("jobs", views.JobRunViewSet, basename="api-job")
router.register("training-runs", views.TrainingRunViewSet, basename="api-training-run")
router.register("model-versions", views.ModelVersionViewSet, basename="api-model-version")
router.register("proposals", views.ProposalViewSet, basename="api-proposal")
router.register("imports", views.DatasetImportViewSet, basename="api-import")
router.register("exports", views.CompositeExportViewSet, basename="api-export")

urlpatterns = [
    *router.urls,
    path(
        "clips/<int:clip_id>/media/v<int:version>/<slug:layer>/<int:frame>.jpg",
        views.ClipMediaView.as_view(),
        name="api-clip-media",
    ),
    path("tokens/", views.TokenView.as_view(), name="api-tokens"),
    path("auth/token/", views.LoginTokenView.as_view(), name="api-login-token"),
    re_path(r"^.*$", api_not_found),
]
