"""Service errors that pages share, mapped once for every HTML view (the API maps its own)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from annotator.services import JobQueueUnreachableError


class JobQueueUnreachableMiddleware:
    """A job refused by the broker answers 503 with the reason and the failed job, whichever
    page started it (upload, worker check, import, export, training, the admin's actions)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, JobQueueUnreachableError):
            return None
        response = render(
            request,
            "503.html",
            {"exception": exception, "job_run": exception.job_run},
            status=503,
        )
        response["Retry-After"] = "30"
        if getattr(request, "htmx", False):
            # htmx swaps no error response into the page; it follows HX-Redirect whatever the
            # status, to the failed job's page, which says why.
            response["HX-Redirect"] = reverse("job-run-detail", args=[exception.job_run.pk])
        return response
