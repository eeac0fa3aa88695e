"""The pages' one URL map: each domain's urls.py names its own pages, gathered here."""

from django.urls import include, path

urlpatterns = [
    path("", include("annotator.corpus.urls")),
    path("", include("annotator.jobs.urls")),
    path("", include("annotator.accounts.urls")),
    path("", include("annotator.coding.urls")),
    path("", include("annotator.exchange.urls")),
    path("", include("annotator.learning.urls")),
]
