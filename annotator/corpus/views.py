"""The home page (datasets, recent clips, the user's jobs) and a clip's pages: upload, detail
and its frames."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotator import media
from annotator.corpus import selectors as corpus_selectors
from annotator.corpus import services as corpus
from annotator.corpus.forms import ClipUploadForm
from annotator.jobs import selectors as jobs_selectors
from annotator.jobs import services as jobs
from annotator.models import Clip
from annotator.roles import role_required


def clip_or_404(clip_id: int) -> Clip:
    try:
        return corpus_selectors.clip_get(clip_id=clip_id)
    except Clip.DoesNotExist:
        raise Http404("No such clip.") from None


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # A user without a role may log in but sees no corpus, as the API shows them none.
    sees_corpus = request.user.has_perm("annotator.view_clip")
    return render(
        request,
        "annotator/corpus/home.html",
        {
            "datasets": corpus_selectors.dataset_list_with_counts() if sees_corpus else [],
            "clips": corpus_selectors.clip_list_recent() if sees_corpus else [],
            "job_runs": jobs_selectors.job_run_list_recent(user=request.user),
            "queues": jobs.QUEUES,
        },
    )


@role_required("annotator.add_clip")
@require_http_methods(["GET", "POST"])
def clip_upload(request: HttpRequest) -> HttpResponse:
    status, refusal = 200, None
    if request.method == "POST":
        # Refuse oversize bodies before Django reads them to disk (so the form stays unbound).
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.MAX_UPLOAD_BYTES + 64 * 1024:
            form = ClipUploadForm()
            refusal = f"The upload is larger than {settings.MAX_UPLOAD_BYTES // 1024**2} MiB."
            status = 413
        else:
            form = ClipUploadForm(request.POST, request.FILES)
            if form.is_valid():
                clip = form.unsaved_clip()
                try:
                    corpus.clip_upload(
                        clip=clip, upload=form.cleaned_data["source"], created_by=request.user
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    return redirect("clip-detail", clip_id=clip.pk)
            status = 400
    else:
        form = ClipUploadForm()
    context = {"form": form, "refusal": refusal}
    return render(request, "annotator/corpus/clip_upload.html", context, status=status)


@role_required("annotator.view_clip")
@require_GET
def clip_detail(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = clip_or_404(clip_id)
    context = {
        "clip": clip,
        "job_run": corpus_selectors.clip_job_run_latest(clip=clip),
        "layers": corpus_selectors.clip_media_layers(clip=clip),
        "preview_frames": clip.frame_indices[:: max(1, len(clip.frame_indices) // 8)][:8],
    }
    template = (
        "annotator/corpus/partials/clip_status.html"
        if request.htmx
        else "annotator/corpus/clip_detail.html"
    )
    return render(request, template, context)


@role_required("annotator.view_clip")
@require_GET
def clip_media(request: HttpRequest, clip_id: int, version: int, layer: str, frame: int):
    clip = clip_or_404(clip_id)
    path = corpus_selectors.clip_media_file(clip=clip, version=version, layer=layer, frame=frame)
    if path is None:
        raise Http404(f"Frame {frame} ({layer}) is not part of this clip.")
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = media.FRAME_CACHE_CONTROL
    return response
