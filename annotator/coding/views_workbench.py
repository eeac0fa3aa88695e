"""The coder's pages: the queue and the workbench over a clip's frames (its autosave, submit and
release are in views_drafts.py)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotator import keymap
from annotator.accounts import selectors as accounts_selectors
from annotator.accounts import services as accounts
from annotator.coding import queue as coding_queue
from annotator.coding import review as coding_review
from annotator.coding import selectors as coding_selectors
from annotator.coding import services as coding_services
from annotator.corpus import selectors as corpus_selectors
from annotator.corpus.views import clip_or_404
from annotator.errors import ClaimError
from annotator.models import Annotation, Clip, Dataset, DatasetEmotion
from annotator.roles import role_required
from mlcore.facs import AU_NAMES


@role_required("annotator.change_annotation")
@require_GET
def coder_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "annotator/coding/queue.html",
        {
            "next_clips": coding_selectors.clip_queue_ranked(coder=request.user, limit=50),
            "clips": coding_selectors.clip_queue_for_coder(coder=request.user),
            "queue_settings": coding_selectors.queue_settings(),
            "model_version": coding_selectors.model_version_active(),
        },
    )


@role_required("annotator.change_annotation")
@require_GET
def coder_queue_next(request: HttpRequest) -> HttpResponse:
    draft = coding_queue.coder_next_draft_claim(coder=request.user)
    if draft is None:
        return redirect(f"{reverse('coder-queue')}?done=1")
    return redirect("clip-code", clip_id=draft.clip_id)


def _only_looks(user) -> bool:
    """Reviewers and admins open clips to look at them: the page claims nothing for them until
    they choose "Code this clip"."""
    return user.has_perm("annotator.adjudicate_annotation")


def _workbench_annotation(*, clip: Clip, user, claim: bool) -> tuple[Annotation, str | None]:
    """What the workbench shows and why it may not be coded: the user's own annotation
    (submitted: read only); on an adjudicated clip they never started, the final annotation,
    read only; else, with `claim`, the draft `coding_services.clip_claim` gives them. Without
    `claim`, or when the claim is refused, an unsaved annotation for a read-only preview, with
    the refusal's reason when there is one."""
    own = coding_selectors.annotation_of_coder(clip=clip, coder=user)
    if own is not None:
        return own, None
    final = coding_review.annotation_adjudicated(clip=clip)
    if final is not None:
        return final, None
    preview = Annotation(clip=clip, coder=user)
    if not claim:
        return preview, None
    try:
        return coding_services.clip_claim(clip=clip, coder=user), None
    except ClaimError as refusal:
        return preview, refusal.message


# A proposed AU is offered to the coder as a chip from this probability of the AU head on.
PROPOSED_AU_THRESHOLD = 0.5


def _proposed_aus(proposal) -> list[dict]:
    """The AUs the proposal's AU head gives at least PROPOSED_AU_THRESHOLD, likeliest first."""
    chosen = []
    for key, probability in proposal.action_units.items():
        number = int(key.removeprefix("AU"))
        if probability >= PROPOSED_AU_THRESHOLD and number in AU_NAMES:
            chosen.append(
                {
                    "code": str(number),
                    "name": AU_NAMES[number],
                    "probability": probability,
                    "percent": round(100 * probability),
                }
            )
    return sorted(chosen, key=lambda au: -au["probability"])


def _proposal_panel(*, clip: Clip, annotation: Annotation, coder) -> dict:
    """What the workbench shows of the active model version's proposal for the clip. A preview
    shows nothing of it; a draft of a blind-coded dataset shows only that one exists (it appears
    once the coder submits); a coder who chose to code blind gets nothing of it. Showing it to a
    draft makes the draft model-assisted."""
    if annotation.pk is None:
        return {"proposal_available": False, "proposal_keys": False}
    proposal = coding_selectors.proposal_for_clip(clip=clip)
    if proposal is None:
        return {"proposal_available": False, "proposal_keys": False}
    is_draft = annotation.status == Annotation.Status.DRAFT
    if is_draft and clip.subject.dataset.coding_mode == Dataset.CodingMode.BLIND:
        return {"proposal_available": True, "proposal_keys": False, "proposal_blind": True}
    if accounts_selectors.coder_preferences(coder=coder).hide_proposals:
        return {"proposal_available": True, "proposal_keys": True}
    if is_draft:
        coding_services.annotation_mark_model_assisted(annotation=annotation, proposal=proposal)
    version = proposal.model_version
    proposed_aus = _proposed_aus(proposal)
    return {
        "proposal_available": True,
        "proposal_keys": True,
        "proposal": proposal,
        "proposal_version": version,
        "apex_confidence_percent": round(100 * proposal.apex_confidence),
        "proposed_aus": proposed_aus,
        "proposed_au_threshold_percent": round(100 * PROPOSED_AU_THRESHOLD),
        "class_probabilities": [
            {
                "name": name,
                "label": label,
                "probability": proposal.probabilities.get(name, 0.0),
                "percent": round(100 * proposal.probabilities.get(name, 0.0)),
                "predicted": name == proposal.predicted_class,
            }
            for name, label in DatasetEmotion.CompositeClass.choices
            if name != DatasetEmotion.CompositeClass.EXCLUDED
        ],
        "proposal_config": {
            # A proposal scored before intervals has no offset; its onset (the clip's first
            # frame) was never proposed, so neither is drawn.
            "onset": proposal.onset if proposal.offset is not None else None,
            "apex": proposal.apex,
            "offset": proposal.offset,
            "confidence": proposal.apex_confidence,
            "version": f"v{version.pk}",
            # The chips' AUs, likeliest first: the key adds the first one not coded yet.
            "aus": [au["code"] for au in proposed_aus],
        },
    }


def frame_player(
    *, clip: Clip, user, emotions: list[DatasetEmotion], proposal_available: bool, lanes=()
) -> dict:
    """What the frame player needs on the workbench and the review page alike: the user's keys,
    their help and hints, and the script's config for the clip; `coding_config` adds the
    coding that the keys edit. `lanes` are other coders' marks, drawn on the review page."""
    keys = accounts_selectors.coder_key_map(coder=user)
    keys_of_emotions = keymap.emotion_keys([e.name for e in emotions], keys=keys)
    shown = {"proposal_available": proposal_available, "lanes_available": bool(lanes)}
    return {
        "key_help": keymap.workbench_help(keys=keys, **shown),
        "key_labels": keymap.key_labels(keys=keys),
        "workbench_config": {
            "keys": keymap.workbench_keys(keys=keys, **shown),
            "frames": clip.frame_indices,
            "fps": clip.fps,
            "mediaUrl": reverse("clip-media", args=[clip.pk, clip.media_version, "LAYER", 0]),
            "alignedLayer": f"aligned-{max(clip.aligned_sizes)}",
            "onsetReference": clip.preprocess_meta.get("onset_frame", clip.first_frame),
            "emotions": [
                {"id": e.pk, "name": e.name, "key": keys_of_emotions.get(e.name)} for e in emotions
            ],
            "auNumbers": sorted(AU_NAMES),
            "faceBox": clip.preprocess_meta.get("box"),
            "lanes": list(lanes),
        },
    }


def coding_config(
    *, coding: dict, action_units: list[str], as_written: list[str], read_only: bool, save_url
) -> dict:
    """The coding the frame player's keys edit, and where it is saved (None: a plain form post)."""
    return {
        "saveUrl": save_url,
        "marks": {mark: coding.get(mark) for mark in ("onset", "apex", "offset")},
        "emotion": coding.get("emotion_id"),
        "actionUnits": action_units,
        "auAsWritten": as_written,
        "readOnly": read_only,
    }


@role_required("annotator.change_annotation")
@require_GET
def clip_code(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = clip_or_404(clip_id)
    if clip.ingest_status != Clip.IngestStatus.READY:
        return redirect("clip-detail", clip_id=clip.pk)
    return _workbench(request, clip=clip, claim=not _only_looks(request.user))


@role_required("annotator.change_annotation")
@require_POST
def clip_code_start(request: HttpRequest, clip_id: int) -> HttpResponse:
    """A reviewer's or admin's explicit "Code this clip": claim it as a coder's opening would."""
    clip = clip_or_404(clip_id)
    try:
        coding_services.clip_claim(clip=clip, coder=request.user)
    except ClaimError as refusal:
        messages.error(request, refusal.message)
    return redirect("clip-code", clip_id=clip.pk)


def _workbench(request: HttpRequest, *, clip: Clip, claim: bool) -> HttpResponse:
    annotation, refusal = _workbench_annotation(clip=clip, user=request.user, claim=claim)
    preview = annotation.pk is None
    emotions = list(corpus_selectors.dataset_emotions(dataset=clip.subject.dataset))
    read_only = preview or annotation.status != Annotation.Status.DRAFT
    proposal_panel = _proposal_panel(clip=clip, annotation=annotation, coder=request.user)
    player = frame_player(
        clip=clip,
        user=request.user,
        emotions=emotions,
        proposal_available=proposal_panel["proposal_keys"],
    )
    player["workbench_config"].update(
        coding_config(
            coding={
                "onset": annotation.onset,
                "apex": annotation.apex,
                "offset": annotation.offset,
                "emotion_id": annotation.emotion_id,
            },
            action_units=[str(entry) for entry in annotation.au_entries],
            as_written=[entry.text for entry in annotation.au_as_written],
            read_only=read_only,
            save_url=None if preview else reverse("annotation-save", args=[annotation.pk]),
        )
    )
    return render(
        request,
        "annotator/coding/workbench.html",
        {
            "clip": clip,
            "annotation": annotation,
            "read_only": read_only,
            "preview": preview,
            "claim_refusal": refusal,
            "coding_plan": clip.subject.dataset,
            "emotions": emotions,
            "review_outcome": coding_review.annotation_disagreements_for_coder(
                clip=clip, coder=request.user
            ),
            **proposal_panel,
            "mark_problems": annotation.mark_problems() if not read_only else {},
            **player,
        },
    )


@role_required("annotator.change_annotation")
@require_POST
def clip_code_proposals(request: HttpRequest, clip_id: int) -> HttpResponse:
    """Hide or show the model's proposals; the choice is the coder's, for every clip."""
    clip = clip_or_404(clip_id)
    hide = request.POST.get("hide_proposals")
    if hide not in ("0", "1"):
        return HttpResponse("hide_proposals must be 0 or 1.", status=400)
    accounts.coder_preferences_update(coder=request.user, hide_proposals=hide == "1")
    if not request.htmx:
        return redirect("clip-code", clip_id=clip.pk)
    # Toggling never claims: a preview's panel stays empty until the clip is claimed.
    annotation, _ = _workbench_annotation(clip=clip, user=request.user, claim=False)
    keys = accounts_selectors.coder_key_map(coder=request.user)
    context = {
        "clip": clip,
        "read_only": annotation.pk is None or annotation.status != Annotation.Status.DRAFT,
        "key_labels": keymap.key_labels(keys=keys),
        **_proposal_panel(clip=clip, annotation=annotation, coder=request.user),
    }
    return render(request, "annotator/coding/partials/proposal_panel.html", context)
