"""The training page (admins): retrain on a frozen snapshot, follow, cancel and retry runs,
compare and activate model versions, and choose how the coders' queue is ordered."""

from collections import Counter

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotator.coding import selectors as coding_selectors
from annotator.errors import ConflictError, InvalidRequestError
from annotator.learning import plots as training_plots
from annotator.learning import selectors as learning_selectors
from annotator.learning import services as learning
from annotator.learning.au_report import training_run_au_report
from annotator.learning.forms import QueueSettingsForm, TrainingStartForm
from annotator.models import Dataset, ModelVersion, TrainingRun
from annotator.roles import role_check, role_required

TRAINING_PERMISSION = "annotator.add_trainingrun"
# Sent when a run's attempt has finished, so the parts of the page that only change then
# (its scores, the model versions) fetch themselves once instead of polling.
RUN_FINISHED_EVENT = "training-run-finished"


# Researchers read runs and versions; starting, cancelling, retrying, activating and ordering
# the queue stay with admins.
training_reader_required = role_required("annotator.view_trainingrun")
training_admin_required = role_required(TRAINING_PERMISSION)


def _training_run_or_404(training_run_id: int) -> TrainingRun:
    try:
        return learning_selectors.training_run_get(training_run_id=training_run_id)
    except TrainingRun.DoesNotExist:
        raise Http404("No such training run.") from None


def _versions_context() -> dict:
    rows = learning_selectors.model_version_scores()
    active = next((row["label"] for row in rows if row["is_active"]), "")
    simulation = learning_selectors.loop_simulation_curves()
    plots = list(training_plots.VERSION_PLOTS.items())
    if not rows:  # the simulated curves alone, until a version has scores
        plots = [(n, t) for n, t in plots if n == "learning-curve" and _drawable(simulation)]
    return {
        "versions": learning_selectors.model_version_list(),
        "version_plots": plots,
        "simulation": simulation,
        # Part of the figures' URLs: a new or newly active version changes them.
        "plots_key": f"{len(rows)}-{active}",
    }


def _drawable(simulation: dict | None) -> bool:
    return simulation is not None and "curves" in simulation


def _dashboard(
    request, *, start_form=None, queue_form=None, status: int = 200, **extra
) -> HttpResponse:
    context = {
        **extra,
        "start_form": start_form or TrainingStartForm(),
        "queue_form": queue_form or QueueSettingsForm(instance=coding_selectors.queue_settings()),
        "runs": learning_selectors.training_run_list(),
        **_versions_context(),
    }
    return render(request, "annotator/learning/dashboard.html", context, status=status)


@training_reader_required
@require_http_methods(["GET", "POST"])
def training_dashboard(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _dashboard(request)
    role_check(user=request.user, permission=TRAINING_PERMISSION, action="Starting a training run")
    form = TrainingStartForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            training_run = learning.training_run_start(
                datasets=list(data["datasets"]),
                model_name=data["model_name"],
                protocol=data["protocol"],
                preset=data["preset"],
                warm_start=data["warm_start"],
                epochs=data["epochs"],
                min_status=data["min_status"],
                seed=data["seed"],
                created_by=request.user,
            )
        except (InvalidRequestError, ConflictError) as refusal:  # shown in the form
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"{training_run} queued.")
            return redirect("training")
    # A refused start shows what the selection holds, to say why; cleaned_data outlives the
    # service's error, which made the form invalid.
    chosen = getattr(form, "cleaned_data", {})
    preview = (
        _preview_context(datasets=list(chosen["datasets"]), min_status=chosen["min_status"])
        if "datasets" in chosen and "min_status" in chosen
        else {}
    )
    return _dashboard(request, start_form=form, status=400, **preview)


def _preview_context(*, datasets: list[Dataset], min_status: str) -> dict:
    if not datasets:
        return {"preview": None}
    preview = learning.training_selection_preview(datasets=datasets, min_status=min_status)
    reasons = Counter(item["reason"] for item in preview.left_out)
    return {"preview": preview, "left_out_reasons": reasons.most_common()}


@training_admin_required
@require_GET
def training_preview(request: HttpRequest) -> HttpResponse:
    """What the start form's selection would train on, as the form changes (htmx)."""
    min_status = request.GET.get("min_status", TrainingRun.MinStatus.ADJUDICATED)
    if min_status not in TrainingRun.MinStatus.values:
        return HttpResponse(f"Unknown annotation choice {min_status!r}.", status=400)
    chosen = [value for value in request.GET.getlist("datasets") if value.isdigit()]
    datasets = list(Dataset.objects.filter(pk__in=chosen).order_by("name"))
    context = _preview_context(datasets=datasets, min_status=min_status)
    return render(request, "annotator/learning/partials/preview.html", context)


@training_admin_required
@require_POST
def queue_settings_save(request: HttpRequest) -> HttpResponse:
    form = QueueSettingsForm(request.POST, instance=coding_selectors.queue_settings())
    if not form.is_valid():
        return _dashboard(request, queue_form=form, status=400)
    saved = learning.queue_settings_update(**form.cleaned_data)
    messages.success(request, f"Queue order saved: {saved.get_strategy_display()}.")
    return redirect(f"{reverse('training')}#queue-settings")


def _run_partial(request: HttpRequest, training_run_id: int, *, action_error: str = ""):
    training_run = _training_run_or_404(training_run_id)
    response = render(
        request,
        "annotator/learning/partials/run.html",
        {"run": training_run, "action_error": action_error},
    )
    attempt = training_run.attempts[0] if training_run.attempts else None
    if attempt is None or attempt.is_finished:
        response["HX-Trigger"] = RUN_FINISHED_EVENT
    return response


@training_reader_required
@require_GET
def training_run_status(request: HttpRequest, training_run_id: int) -> HttpResponse:
    if not request.htmx:
        return redirect("training-run-detail", training_run_id=training_run_id)
    return _run_partial(request, training_run_id)


def _run_action_done(request, training_run_id: int, *, error: str, done: str) -> HttpResponse:
    if request.htmx:
        return _run_partial(request, training_run_id, action_error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("training")


@training_admin_required
@require_POST
def training_run_cancel(request: HttpRequest, training_run_id: int) -> HttpResponse:
    training_run = _training_run_or_404(training_run_id)
    cancelled = learning.training_run_cancel(training_run=training_run)
    return _run_action_done(
        request,
        training_run.pk,
        error="" if cancelled else "Nothing to cancel: this run is not queued or running.",
        done=f"{training_run} cancelled.",
    )


@training_admin_required
@require_POST
def training_run_retry(request: HttpRequest, training_run_id: int) -> HttpResponse:
    training_run = _training_run_or_404(training_run_id)
    try:
        learning.training_run_retry(training_run=training_run, created_by=request.user)
    except ConflictError as refusal:  # still active, or already finished with a model version
        message = refusal.message
    else:
        message = ""
    return _run_action_done(
        request, training_run.pk, error=message, done=f"{training_run} queued again."
    )


@training_reader_required
@require_GET
def training_run_detail(request: HttpRequest, training_run_id: int) -> HttpResponse:
    training_run = _training_run_or_404(training_run_id)
    context = {
        "run": training_run,
        "report": learning_selectors.training_run_report(training_run=training_run),
        "plots": learning_selectors.training_run_plots(training_run=training_run),
        "au_report": training_run_au_report(training_run=training_run),
        "au_plot": training_plots.AU_F1_PLOT,
    }
    template = (
        "annotator/learning/partials/run_report.html"
        if request.htmx
        else "annotator/learning/run_detail.html"
    )
    return render(request, template, context)


@training_reader_required
@require_GET
def training_run_plot(
    request: HttpRequest, training_run_id: int, name: str
) -> FileResponse | HttpResponse:
    training_run = _training_run_or_404(training_run_id)
    if name == training_plots.AU_F1_PLOT[0]:  # drawn here from the metrics; mlcore draws none
        au_report = training_run_au_report(training_run=training_run)
        if au_report is None:
            raise Http404("This run has no AU scores: it trained no AU head.")
        png = training_plots.au_f1_plot_png(au_report=au_report)
        return HttpResponse(png, content_type="image/png")
    path = learning_selectors.training_run_plot_file(training_run=training_run, name=name)
    if path is None:
        raise Http404(f"This run has no {name!r} figure.")
    return FileResponse(path.open("rb"), content_type="image/png")


@training_reader_required
@require_GET
def model_versions(request: HttpRequest) -> HttpResponse:
    if not request.htmx:
        return redirect(f"{reverse('training')}#model-versions")
    return render(request, "annotator/learning/partials/versions.html", _versions_context())


@training_admin_required
@require_POST
def model_version_activate(request: HttpRequest, version_id: int) -> HttpResponse:
    try:
        version = learning_selectors.model_version_get(version_id=version_id)
    except ModelVersion.DoesNotExist:
        raise Http404("No such model version.") from None
    job_run = learning.model_version_activate(version=version, activated_by=request.user)
    if request.htmx:
        return render(request, "annotator/learning/partials/versions.html", _versions_context())
    messages.success(
        request, f"{version} is active; scoring the unlabelled clips (job #{job_run.pk})."
    )
    return redirect(f"{reverse('training')}#model-versions")


@training_reader_required
@require_GET
def model_version_plot(request: HttpRequest, name: str) -> HttpResponse:
    if name not in training_plots.VERSION_PLOTS:
        raise Http404(f"No figure named {name!r}.")
    rows = learning_selectors.model_version_scores()
    simulation = learning_selectors.loop_simulation_curves() if name == "learning-curve" else None
    if not rows and not _drawable(simulation):
        raise Http404("No model version has scores yet.")
    png = training_plots.version_plot_png(name=name, rows=rows, simulation=simulation)
    return HttpResponse(png, content_type="image/png")
