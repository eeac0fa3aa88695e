"""Service refusals that reach a page, mapped once for every HTML view (the API maps its own in
`annotator.api.errors`)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from annotator.errors import ApplicationError, JobQueueUnreachableError


class ApplicationErrorMiddleware:
    """An `annotator.errors` refusal that a page view did not show in place answers with its
    status and message. A job refused by the broker answers 503 with the reason and the failed
    job, whichever page started it (upload, worker check, import, export, training, the admin's
    actions)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, JobQueueUnreachableError):
            return self._queue_unreachable(request, exception)
        if not isinstance(exception, ApplicationError):
            return None
        back = request.headers.get("referer", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = ""
        return render(
            request,
            "refused.html",
            {"message": exception.message, "back": back},
            status=exception.status_code,
        )

    def _queue_unreachable(
        self, request: HttpRequest, exception: JobQueueUnreachableError
    ) -> HttpResponse:
        response = render(
            request,
            "503.html",
            {"exception": exception, "job_run": exception.job_run},
            status=503,
        )
        response["Retry-After"] = str(exception.retry_after_seconds)
        if getattr(request, "htmx", False):
            # htmx swaps no error response into the page; it follows HX-Redirect whatever the
            # status, to the failed job's page, which says why.
            response["HX-Redirect"] = reverse("job-run-detail", args=[exception.job_run.pk])
        return response
