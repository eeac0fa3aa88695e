from django.urls import include, path

from annotator import views, views_review, views_workbench

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/<int:job_run_id>/", views.job_run_detail, name="job-run-detail"),
    path("workers/check/", views.worker_check, name="worker-check"),
    path("clips/upload/", views.clip_upload, name="clip-upload"),
    path("queue/", views_workbench.coder_queue, name="coder-queue"),
    path("review/", views_review.review_list, name="review-list"),
    path("review/<int:clip_id>/", views_review.clip_review, name="clip-review"),
    path(
        "datasets/<int:dataset_id>/agreement/",
        views_review.dataset_agreement,
        name="dataset-agreement",
    ),
    path("queue/next/", views_workbench.coder_queue_next, name="coder-queue-next"),
    path("clips/<int:clip_id>/code/", views_workbench.clip_code, name="clip-code"),
    path(
        "clips/<int:clip_id>/code/proposals/",
        views_workbench.clip_code_proposals,
        name="clip-code-proposals",
    ),
    path(
        "clips/<int:clip_id>/code/start/", views_workbench.clip_code_start, name="clip-code-start"
    ),
    path(
        "annotations/<int:annotation_id>/save/",
        views_workbench.annotation_save,
        name="annotation-save",
    ),
    path(
        "annotations/<int:annotation_id>/release/",
        views_workbench.annotation_release,
        name="annotation-release",
    ),
    path(
        "annotations/<int:annotation_id>/submit/",
        views_workbench.annotation_submit,
        name="annotation-submit",
    ),
    path("clips/<int:clip_id>/", views.clip_detail, name="clip-detail"),
    path(
        "clips/<int:clip_id>/media/v<int:version>/<slug:layer>/<int:frame>.jpg",
        views.clip_media,
        name="clip-media",
    ),
    path("", include("annotator.urls_datasets")),
    path("", include("annotator.urls_training")),
]
