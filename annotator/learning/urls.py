from django.urls import path

from annotator.learning import views

urlpatterns = [
    path("training/", views.training_dashboard, name="training"),
    path("training/queue/", views.queue_settings_save, name="training-queue-settings"),
    path("training/preview/", views.training_preview, name="training-preview"),
    path(
        "training/<int:training_run_id>/",
        views.training_run_detail,
        name="training-run-detail",
    ),
    path(
        "training/<int:training_run_id>/status/",
        views.training_run_status,
        name="training-run-status",
    ),
    path(
        "training/<int:training_run_id>/cancel/",
        views.training_run_cancel,
        name="training-run-cancel",
    ),
    path(
        "training/<int:training_run_id>/retry/",
        views.training_run_retry,
        name="training-run-retry",
    ),
    path(
        "training/<int:training_run_id>/plots/<slug:name>.png",
        views.training_run_plot,
        name="training-run-plot",
    ),
    path("training/versions/", views.model_versions, name="model-versions"),
    path(
        "training/versions/<int:version_id>/activate/",
        views.model_version_activate,
        name="model-version-activate",
    ),
    path(
        "training/versions/plots/<slug:name>.png",
        views.model_version_plot,
        name="model-version-plot",
    ),
]
