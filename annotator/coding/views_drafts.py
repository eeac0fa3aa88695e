"""What the workbench sends about the coder's draft: autosave, submit and release."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from annotator.coding import selectors as coding_selectors
from annotator.coding import services as coding_services
from annotator.coding.forms import AnnotationInputForm
from annotator.errors import ClaimError, StaleRevisionError
from annotator.models import Annotation, Coding
from annotator.roles import role_required

ANNOTATION_FIELDS = ("onset", "apex", "offset", "emotion", "action_units", "notes", "__all__")


def _save_status(
    request, *, state: str, message: str, revision: int, errors=None, conflict=None, status=200
):
    """The autosave answer: a status line, the new revision and an error slot per field, each
    swapped into the workbench out of band so the coder's unsaved edits stay in the page."""
    errors = errors or {}
    context = {
        "state": state,
        "message": message,
        "revision": revision,
        "conflict": conflict,
        "field_errors": [(field, errors.get(field, [])) for field in ANNOTATION_FIELDS],
    }
    return render(request, "annotator/coding/partials/save_status.html", context, status=status)


def _content_shown(coding: Coding) -> dict:
    """The editable fields as the coder reads them, for comparing two versions."""
    return {
        **coding.as_dict(),
        "emotion": coding.emotion.name if coding.emotion else None,
        "action_units": "+".join(map(str, coding.action_units)),
    }


def _draft_content(form: AnnotationInputForm, annotation: Annotation) -> tuple[Coding, dict]:
    """What the coder sent, field by field; a field that cannot be stored at all (a negative
    frame, an unknown AU) keeps its stored value, so one bad field never blocks the others."""
    stored = annotation.coding().as_dict()
    unsaved = {
        field: [f"Not saved, kept the stored value: {message}" for message in messages]
        for field, messages in form.errors.items()
    }
    content = {field: form.cleaned_data.get(field, stored[field]) for field in stored}
    for field in unsaved:
        content[field] = stored[field]
    return Coding(**content), unsaved


def _stale_save_status(
    request: HttpRequest, *, annotation_id: int, mine: Coding, revision: int
) -> HttpResponse:
    """A save refused because the draft moved on: who saved it and when, the fields where the
    two versions differ, and the saved version for the page to take if the coder chooses it.
    The page keeps the revision it edits from, so no later autosave overwrites the saved version
    before the coder has chosen."""
    theirs = coding_selectors.annotation_get_own(annotation_id=annotation_id, coder=request.user)
    when = timezone.localtime(theirs.updated_at).strftime("%H:%M:%S")
    if theirs.updated_by_id == request.user.pk:
        who = f"You saved this draft at {when} in another tab or window"
    elif theirs.updated_by_id is not None:
        who = f"{theirs.updated_by.username} saved this draft at {when}"
    else:
        who = f"This draft was changed at {when} (who saved it was not recorded)"
    saved, yours = _content_shown(theirs.coding()), _content_shown(mine)
    differences = [
        {"field": field, "theirs": saved[field], "yours": yours[field]}
        for field in saved
        if saved[field] != yours[field]
    ]
    conflict = {
        "differences": differences,
        "saved": {
            "revision": theirs.revision,
            "onset": theirs.onset,
            "apex": theirs.apex,
            "offset": theirs.offset,
            "emotion": theirs.emotion_id,
            "actionUnits": [str(entry) for entry in theirs.au_entries],
            "notes": theirs.notes,
            "when": when,
        },
    }
    if not differences:
        return _save_status(
            request,
            state="saved",
            message=f"Saved (revision {theirs.revision}): the same edits as another tab's",
            revision=theirs.revision,
        )
    return _save_status(
        request,
        state="stale",
        message=f"Not saved: {who} (now revision {theirs.revision}). Choose which version to keep.",
        revision=revision,
        conflict=conflict,
        status=409,
    )


def _annotation_save(request: HttpRequest, annotation_id: int, *, submit: bool) -> HttpResponse:
    try:
        annotation = coding_selectors.annotation_get_own(
            annotation_id=annotation_id, coder=request.user
        )
    except Annotation.DoesNotExist:
        raise Http404("No such annotation.") from None
    if annotation.status != Annotation.Status.DRAFT:
        return _save_status(
            request,
            state="refused",
            message="Already submitted; it can no longer change.",
            revision=annotation.revision,
            status=409,
        )
    form = AnnotationInputForm(
        request.POST, dataset=annotation.clip.subject.dataset, as_written=annotation.au_as_written
    )
    form.is_valid()
    if "revision" in form.errors:
        return _save_status(
            request,
            state="invalid",
            message="Not saved: the page did not say which revision it edits. Reload it.",
            revision=annotation.revision,
            status=422,
        )
    content, unsaved = _draft_content(form, annotation)
    revision = form.cleaned_data["revision"]
    try:
        saved = coding_services.annotation_update(
            annotation=annotation, revision=revision, coding=content, saved_by=request.user
        )
    except StaleRevisionError:
        return _stale_save_status(
            request, annotation_id=annotation_id, mine=content, revision=revision
        )
    problems = {**saved.mark_problems(), **unsaved}
    if submit and not unsaved:
        try:
            coding_services.annotation_update(
                annotation=saved,
                revision=saved.revision,
                saved_by=request.user,
                submit=True,
                coding=content,
            )
        except ValidationError as error:
            problems = error.message_dict
        else:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("coder-queue-next")
            return response
    if submit:
        return _save_status(
            request,
            state="invalid",
            message=f"Your draft is saved (revision {saved.revision}) but cannot be submitted "
            "yet: fix the marked fields.",
            revision=saved.revision,
            errors=problems,
            status=422,
        )
    if unsaved:
        message = (
            f"Saved (revision {saved.revision}) except {', '.join(unsaved)}: see the marked fields."
        )
    elif problems:
        message = f"Saved (revision {saved.revision}); fix the marked fields before submitting."
    else:
        message = f"Saved (revision {saved.revision})"
    return _save_status(
        request,
        state="partial" if unsaved else "saved",
        message=message,
        revision=saved.revision,
        errors=problems,
    )


@role_required("annotator.change_annotation")
@require_POST
def annotation_save(request: HttpRequest, annotation_id: int) -> HttpResponse:
    return _annotation_save(request, annotation_id, submit=False)


@role_required("annotator.change_annotation")
@require_POST
def annotation_submit(request: HttpRequest, annotation_id: int) -> HttpResponse:
    return _annotation_save(request, annotation_id, submit=True)


@role_required("annotator.change_annotation")
@require_POST
def annotation_release(request: HttpRequest, annotation_id: int) -> HttpResponse:
    """Give the clip back to the queue (`coding_services.annotation_release`): a draft with saved
    edits only with `discard=1`, which the page sends once the coder confirmed it."""
    try:
        annotation = coding_selectors.annotation_get_own(
            annotation_id=annotation_id, coder=request.user
        )
    except Annotation.DoesNotExist:
        raise Http404("No such annotation.") from None
    try:
        coding_services.annotation_release(
            annotation=annotation, discard_edits=request.POST.get("discard") == "1"
        )
    except ClaimError as refusal:  # back at the workbench, which says why
        messages.error(request, refusal.message)
        return _navigate(request, reverse("clip-code", args=[annotation.clip_id]))
    messages.success(request, f"Released {annotation.clip.name}: it is back in the queue.")
    return _navigate(request, reverse("coder-queue"))


def _navigate(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect; for htmx (the queue page's release buttons) one the browser follows as a
    whole page, so the message shows there."""
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


# --- Review ---------------------------------------------------------------------------------------
