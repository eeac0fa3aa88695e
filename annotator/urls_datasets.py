from django.urls import path

from annotator import views_datasets

urlpatterns = [
    path("datasets/import/", views_datasets.dataset_import, name="dataset-import"),
    path(
        "datasets/import/<int:job_run_id>/",
        views_datasets.dataset_import_report,
        name="dataset-import-report",
    ),
    path(
        "datasets/import/<int:job_run_id>/report.json",
        views_datasets.dataset_import_report_json,
        name="dataset-import-report-json",
    ),
    path("datasets/export/", views_datasets.composite_export, name="composite-export"),
    path(
        "datasets/export/<int:job_run_id>/",
        views_datasets.composite_export_detail,
        name="composite-export-detail",
    ),
    path(
        "datasets/export/<int:job_run_id>/composite.zip",
        views_datasets.composite_export_download,
        name="composite-export-download",
    ),
    path("clips/<int:clip_id>/eaf/", views_datasets.clip_eaf, name="clip-eaf"),
    path(
        "clips/<int:clip_id>/eaf/<int:annotation_id>.eaf",
        views_datasets.clip_eaf_download,
        name="clip-eaf-download",
    ),
    path("clips/<int:clip_id>/eaf/upload/", views_datasets.clip_eaf_upload, name="clip-eaf-upload"),
]
