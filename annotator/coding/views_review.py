"""The reviewer's pages: clips to review, adjudication over the frames, and a dataset's
agreement report."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from annotator.coding import reports
from annotator.coding import review as coding_review
from annotator.coding import services as coding_services
from annotator.coding.forms import AdjudicationForm
from annotator.coding.views_workbench import coding_config, frame_player
from annotator.corpus import selectors as corpus_selectors
from annotator.corpus.views import clip_or_404
from annotator.errors import StaleRevisionError
from annotator.models import Annotation, Clip, Coding, Dataset
from annotator.roles import role_required
from mlcore.facs import format_au_string


@role_required("annotator.adjudicate_annotation")
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "annotator/coding/review_list.html",
        {
            "clips": coding_review.clip_list_for_review(),
            "datasets": Dataset.objects.order_by("name"),
        },
    )


def _adjudication_initial(clip: Clip, review: dict, start_id: str | None) -> dict:
    source = review["adjudicated"]
    if source is None:
        candidates = {str(a.pk): a for a in review["submitted"]}
        source = candidates.get(start_id) or (review["submitted"] or [None])[0]
    if source is None:
        return {}
    return {
        "revision": review["adjudicated"].revision if review["adjudicated"] else None,
        "based_on": source.based_on_id
        if source.status == Annotation.Status.ADJUDICATED
        else source.pk,
        "onset": source.onset,
        "apex": source.apex,
        "offset": source.offset,
        "emotion": source.emotion_id,
        "action_units": format_au_string(source.au_entries),
        "notes": source.notes if source.status == Annotation.Status.ADJUDICATED else "",
    }


@role_required("annotator.adjudicate_annotation")
@require_http_methods(["GET", "POST"])
def clip_review(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = clip_or_404(clip_id)
    review = coding_review.clip_review(clip=clip)
    status = 200
    if request.method == "POST":
        form = AdjudicationForm(request.POST, clip=clip)
        if form.is_valid():
            data = form.cleaned_data
            try:
                coding_services.annotation_adjudicate(
                    clip=clip,
                    reviewer=request.user,
                    based_on=data["based_on"],
                    revision=data["revision"],
                    coding=Coding(
                        onset=data["onset"],
                        apex=data["apex"],
                        offset=data["offset"],
                        emotion=data["emotion"],
                        action_units=data["action_units"],
                        notes=data["notes"],
                    ),
                )
            except StaleRevisionError as error:
                form.add_error(None, str(error))
                status = 409
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
                status = 422
            else:
                return redirect("clip-review", clip_id=clip.pk)
        else:
            status = 422
    else:
        form = AdjudicationForm(
            initial=_adjudication_initial(clip, review, request.GET.get("start")), clip=clip
        )
    labelled = [("final", review["adjudicated"])] if review["adjudicated"] else []
    labelled += [(a.coder.username, a) for a in review["submitted"]]
    rows = [
        {
            "label": label,
            "annotation": annotation,
            "band_width": (
                annotation.offset - annotation.onset + 1
                if annotation.onset is not None and annotation.offset is not None
                else None
            ),
        }
        for label, annotation in labelled
    ]
    context = {
        "clip": clip,
        "review": review,
        "form": form,
        "timeline_rows": rows,
        "frame_span": (clip.first_frame or 0, (clip.last_frame or 0) + 1),
    }
    if clip.ingest_status == Clip.IngestStatus.READY:
        context.update(_review_player(request, clip=clip, form=form, rows=rows))
    return render(request, "annotator/coding/review.html", context, status=status)


def _review_player(request, *, clip: Clip, form: AdjudicationForm, rows: list[dict]) -> dict:
    """The review page's frame player: read only but for the adjudication, which the
    workbench's keys edit; every coder's marks (and the final's) as labelled lanes."""
    emotions = list(corpus_selectors.dataset_emotions(dataset=clip.subject.dataset))
    lanes = [
        {
            "label": row["label"],
            "final": row["label"] == "final",
            **{mark: getattr(row["annotation"], mark) for mark in ("onset", "apex", "offset")},
        }
        for row in rows
    ]
    player = frame_player(
        clip=clip, user=request.user, emotions=emotions, proposal_available=False, lanes=lanes
    )
    coding, action_units = _adjudication_coding(form)
    player["workbench_config"].update(
        coding_config(
            coding=coding,
            action_units=action_units,
            as_written=[entry.text for entry in form.as_written],
            read_only=False,
            save_url=None,
        )
    )
    problems = {field: list(errors) for field, errors in form.errors.items()}
    problems["whole"] = problems.pop("__all__", [])
    return {
        **player,
        "emotions": emotions,
        "coding": coding,
        "problems": problems,
        "lanes": lanes,
        # Room for one row per lane above the ticks (see workbench.js, LANE_HEIGHT).
        "timeline_height": 46 + 12 * len(lanes),
        "player_heading": "Review: ",
    }


def _adjudication_coding(form: AdjudicationForm) -> tuple[dict, list[str]]:
    """The adjudication as the reviewer last sent it (a refused one keeps what was typed), or
    as the form starts: marks, emotion, notes, and the AU codes as a list."""
    if form.is_bound:

        def number(name: str) -> int | None:
            try:
                return int(form.data.get(name, ""))
            except ValueError:
                return None

        coding = {mark: number(mark) for mark in ("onset", "apex", "offset")}
        coding["emotion_id"] = number("emotion")
        coding["notes"] = form.data.get("notes", "")
        written = form.data.get("action_units", "")
    else:
        initial = form.initial
        coding = {mark: initial.get(mark) for mark in ("onset", "apex", "offset")}
        coding["emotion_id"] = initial.get("emotion")
        coding["notes"] = initial.get("notes", "")
        written = initial.get("action_units", "")
    coding["action_units_text"] = written
    return coding, [code.strip() for code in written.split("+") if code.strip()]


@role_required("annotator.adjudicate_annotation")
@require_GET
def dataset_agreement(request: HttpRequest, dataset_id: int) -> HttpResponse:
    try:
        dataset = Dataset.objects.get(pk=dataset_id)
    except Dataset.DoesNotExist:
        raise Http404("No such dataset.") from None
    tolerance_ms = _tolerance_ms(request)
    report = coding_review.dataset_agreement_report(dataset=dataset, tolerance_ms=tolerance_ms)
    export = request.GET.get("format")
    if export == "csv":
        return reports.agreement_csv_response(report=report)
    if export == "png":
        return HttpResponse(reports.agreement_plot_png(report=report), content_type="image/png")
    mark_rows = [
        {
            "mark": mark,
            "frames": report["frame_distances"][mark],
            "ms": report["ms_distances"][mark],
            "within": report["within_tolerance"][mark],
        }
        for mark in coding_review.MARKS
    ]
    return render(
        request, "annotator/coding/agreement.html", {"report": report, "mark_rows": mark_rows}
    )


def _tolerance_ms(request: HttpRequest) -> float:
    try:
        value = float(request.GET.get("tolerance_ms", coding_review.DEFAULT_TOLERANCE_MS))
    except ValueError:
        return coding_review.DEFAULT_TOLERANCE_MS
    return min(max(value, 0.0), 1000.0)
