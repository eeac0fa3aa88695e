from django.urls import path

from annotator.exchange import views

urlpatterns = [
    path("datasets/import/", views.dataset_import, name="dataset-import"),
    path(
        "datasets/import/<int:job_run_id>/",
        views.dataset_import_report,
        name="dataset-import-report",
    ),
    path(
        "datasets/import/<int:job_run_id>/report.json",
        views.dataset_import_report_json,
        name="dataset-import-report-json",
    ),
    path("datasets/export/", views.composite_export, name="composite-export"),
    path(
        "datasets/export/<int:job_run_id>/",
        views.composite_export_detail,
        name="composite-export-detail",
    ),
    path(
        "datasets/export/<int:job_run_id>/composite.zip",
        views.composite_export_download,
        name="composite-export-download",
    ),
    path("clips/<int:clip_id>/eaf/", views.clip_eaf, name="clip-eaf"),
    path(
        "clips/<int:clip_id>/eaf/<int:annotation_id>.eaf",
        views.clip_eaf_download,
        name="clip-eaf-download",
    ),
    path("clips/<int:clip_id>/eaf/upload/", views.clip_eaf_upload, name="clip-eaf-upload"),
]
