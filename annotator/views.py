"""Thin views: parse the request, call a selector or service, render a page or an htmx partial."""

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotator import selectors, services
from annotator.models import JobRun


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "annotator/home.html",
        {
            "datasets": selectors.dataset_list_with_counts(),
            "job_runs": selectors.job_run_list_recent(),
            "queues": services.QUEUES,
        },
    )


@login_required
@require_GET
def job_run_detail(request: HttpRequest, job_run_id: int) -> HttpResponse:
    try:
        job_run = selectors.job_run_get(job_run_id=job_run_id)
    except JobRun.DoesNotExist:
        raise Http404("No such job.") from None
    template = "annotator/partials/job_run.html" if request.htmx else "annotator/job_run.html"
    return render(request, template, {"job_run": job_run})


@staff_member_required
@require_POST
def worker_check(request: HttpRequest) -> HttpResponse:
    queue = request.POST.get("queue", "")
    if queue not in services.QUEUES:
        return HttpResponse(f"Unknown queue {queue!r}.", status=400)
    job_run = services.worker_check_start(queue=queue, created_by=request.user)
    if request.htmx:
        return render(request, "annotator/partials/job_run.html", {"job_run": job_run})
    return redirect("job-run-detail", job_run_id=job_run.pk)
