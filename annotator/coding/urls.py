from django.urls import path

from annotator.coding import views_drafts, views_review, views_workbench

urlpatterns = [
    path("queue/", views_workbench.coder_queue, name="coder-queue"),
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
        views_drafts.annotation_save,
        name="annotation-save",
    ),
    path(
        "annotations/<int:annotation_id>/release/",
        views_drafts.annotation_release,
        name="annotation-release",
    ),
    path(
        "annotations/<int:annotation_id>/submit/",
        views_drafts.annotation_submit,
        name="annotation-submit",
    ),
    path("review/", views_review.review_list, name="review-list"),
    path("review/<int:clip_id>/", views_review.clip_review, name="clip-review"),
    path(
        "datasets/<int:dataset_id>/agreement/",
        views_review.dataset_agreement,
        name="dataset-agreement",
    ),
]
