"""A job's status page (polled by htmx while it runs) and the admins' worker check."""

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotator.jobs import selectors as jobs_selectors
from annotator.jobs import services as jobs
from annotator.models import JobRun


@login_required
@require_GET
def job_run_detail(request: HttpRequest, job_run_id: int) -> HttpResponse:
    try:
        job_run = jobs_selectors.job_run_get(job_run_id=job_run_id, user=request.user)
    except JobRun.DoesNotExist:
        raise Http404("No such job.") from None
    template = (
        "annotator/jobs/partials/job_run.html" if request.htmx else "annotator/jobs/job_run.html"
    )
    return render(request, template, {"job_run": job_run})


@staff_member_required
@require_POST
def worker_check(request: HttpRequest) -> HttpResponse:
    queue = request.POST.get("queue", "")
    if queue not in jobs.QUEUES:
        return HttpResponse(f"Unknown queue {queue!r}.", status=400)
    job_run = jobs.worker_check_start(queue=queue, created_by=request.user)
    if request.htmx:
        return render(request, "annotator/jobs/partials/job_run.html", {"job_run": job_run})
    return redirect("job-run-detail", job_run_id=job_run.pk)
