from django.urls import path

from annotator.jobs import views

urlpatterns = [
    path("jobs/<int:job_run_id>/", views.job_run_detail, name="job-run-detail"),
    path("workers/check/", views.worker_check, name="worker-check"),
]
