"""Dataset import and export pages (admins) and a clip's ELAN files (coders and reviewers)."""

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotator import media
from annotator.coding import selectors as coding_selectors
from annotator.corpus.views import clip_or_404
from annotator.errors import ClaimError
from annotator.exchange import services as exchange
from annotator.exchange.forms import CompositeExportForm, DatasetImportForm
from annotator.jobs import selectors as jobs_selectors
from annotator.models import Annotation, Clip, JobRun
from annotator.roles import role_required

EAF_MAX_BYTES = 5 * 1024**2


def _job_of_kind(request: HttpRequest, job_run_id: int, kind: str) -> JobRun:
    try:
        job_run = jobs_selectors.job_run_get(job_run_id=job_run_id, user=request.user)
    except JobRun.DoesNotExist:
        raise Http404("No such job.") from None
    if job_run.kind != kind:
        raise Http404("No such job.")
    return job_run


@role_required("annotator.add_dataset")
@require_http_methods(["GET", "POST"])
def dataset_import(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = DatasetImportForm(request.POST)
        if form.is_valid():
            job_run = exchange.dataset_import_start(created_by=request.user, **form.cleaned_data)
            return redirect("dataset-import-report", job_run_id=job_run.pk)
        status = 400
    else:
        form = DatasetImportForm()
    return render(request, "annotator/exchange/import.html", {"form": form}, status=status)


@role_required("annotator.add_dataset")
@require_GET
def dataset_import_report(request: HttpRequest, job_run_id: int) -> HttpResponse:
    job_run = _job_of_kind(request, job_run_id, JobRun.Kind.IMPORT)
    report = job_run.result if job_run.status == JobRun.Status.SUCCEEDED else None
    return render(
        request, "annotator/exchange/import_report.html", {"job_run": job_run, "report": report}
    )


@role_required("annotator.add_dataset")
@require_GET
def dataset_import_report_json(request: HttpRequest, job_run_id: int) -> HttpResponse:
    job_run = _job_of_kind(request, job_run_id, JobRun.Kind.IMPORT)
    if job_run.status != JobRun.Status.SUCCEEDED:
        raise Http404("The import has not finished.")
    response = JsonResponse(job_run.result, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = content_disposition_header(
        True, f"import-{job_run.pk}-report.json"
    )
    return response


@role_required("annotator.export_dataset")
@require_http_methods(["GET", "POST"])
def composite_export(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = CompositeExportForm(request.POST)
        if form.is_valid():
            chosen = form.cleaned_data["datasets"]
            job_run = exchange.composite_export_start(
                created_by=request.user,
                dataset_ids=sorted(d.pk for d in chosen) if chosen else None,
                min_status=form.cleaned_data["min_status"],
                flows=form.cleaned_data["flows"],
                megc2019=form.cleaned_data["megc2019"],
            )
            return redirect("composite-export-detail", job_run_id=job_run.pk)
        status = 400
    else:
        form = CompositeExportForm()
    return render(request, "annotator/exchange/export.html", {"form": form}, status=status)


@role_required("annotator.export_dataset")
@require_GET
def composite_export_detail(request: HttpRequest, job_run_id: int) -> HttpResponse:
    job_run = _job_of_kind(request, job_run_id, JobRun.Kind.EXPORT)
    ready = (
        job_run.status == JobRun.Status.SUCCEEDED
        and media.export_zip_path(job_run=job_run).is_file()
    )
    return render(
        request,
        "annotator/exchange/export_detail.html",
        {"job_run": job_run, "summary": job_run.result if ready else None, "ready": ready},
    )


@role_required("annotator.export_dataset")
@require_GET
def composite_export_download(request: HttpRequest, job_run_id: int) -> FileResponse:
    job_run = _job_of_kind(request, job_run_id, JobRun.Kind.EXPORT)
    path = media.export_zip_path(job_run=job_run)
    if job_run.status != JobRun.Status.SUCCEEDED or not path.is_file():
        raise Http404("The export has not finished or its file was removed.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"composite-export-{job_run.pk}.zip",
        content_type="application/zip",
    )


# --- ELAN ---------------------------------------------------------------------------------------


def _eaf_annotations(*, clip: Clip, user) -> list[Annotation]:
    """The clip's annotations the user may see (`coding_selectors.annotations_visible_to`)."""
    return list(
        coding_selectors.annotations_visible_to(user=user)
        .filter(clip=clip)
        .select_related("coder", "emotion")
        .order_by("status", "pk")
    )


@role_required("annotator.change_annotation")
@require_GET
def clip_eaf(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = clip_or_404(clip_id)
    return render(
        request,
        "annotator/exchange/clip_eaf.html",
        {"clip": clip, "annotations": _eaf_annotations(clip=clip, user=request.user)},
    )


@role_required("annotator.change_annotation")
@require_GET
def clip_eaf_download(request: HttpRequest, clip_id: int, annotation_id: int) -> HttpResponse:
    clip = clip_or_404(clip_id)
    annotation = next(
        (a for a in _eaf_annotations(clip=clip, user=request.user) if a.pk == annotation_id), None
    )
    if annotation is None:
        raise Http404("No such annotation of this clip.")
    name, data = exchange.clip_eaf_export(annotation=annotation)
    response = HttpResponse(data, content_type="application/xml")
    # Names from before clip names were validated may hold anything (a newline broke the header).
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@role_required("annotator.change_annotation")
@require_POST
def clip_eaf_upload(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = clip_or_404(clip_id)
    upload = request.FILES.get("eaf")
    error, status = None, 400
    if upload is None:
        error = "Choose an .eaf file."
    elif upload.size > EAF_MAX_BYTES:
        error = f"{upload.name} is larger than {EAF_MAX_BYTES // 1024**2} MiB."
    else:
        try:
            exchange.clip_eaf_import(clip=clip, coder=request.user, data=upload.read())
        except ValidationError as invalid:
            error = "; ".join(invalid.messages)
        except ClaimError as refusal:  # shown on the page, beside the other EAFs
            error, status = refusal.message, refusal.status_code
        else:
            return redirect("clip-code", clip_id=clip.pk)
    context = {
        "clip": clip,
        "annotations": _eaf_annotations(clip=clip, user=request.user),
        "error": error,
    }
    return render(request, "annotator/exchange/clip_eaf.html", context, status=status)
