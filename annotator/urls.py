from django.urls import path

from annotator import views

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/<int:job_run_id>/", views.job_run_detail, name="job-run-detail"),
    path("workers/check/", views.worker_check, name="worker-check"),
]
