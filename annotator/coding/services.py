"""Writes of coding: a dataset's coding plan, claiming a clip, editing, releasing and submitting
an annotation, and adjudication."""

import copy

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotator.coding import selectors as coding_selectors
from annotator.errors import (
    ClaimError,
    StaleRevisionError,
)
from annotator.models import (
    Annotation,
    Clip,
    ClipRelease,
    Coding,
    Dataset,
    Proposal,
)

_EDITABLE_FIELDS = ("onset", "apex", "offset", "emotion", "action_units", "notes")


_UNCHANGED_REFERENCES = ["clip", "coder", "based_on", "proposal_version"]


_CODING_PLAN_FIELDS = ["coding_mode", "coders_per_clip"]


def dataset_coding_plan_update(
    *, dataset: Dataset, coding_mode: str, coders_per_clip: int
) -> Dataset:
    """Change how the dataset's clips are coded. Drafts and submissions made under the old plan
    stay as they are; from now on the queue fills clips to the new count."""
    dataset.coding_mode, dataset.coders_per_clip = coding_mode, coders_per_clip
    dataset.full_clean(
        exclude=[f.name for f in Dataset._meta.fields if f.name not in _CODING_PLAN_FIELDS]
    )
    dataset.save(update_fields=_CODING_PLAN_FIELDS)
    return dataset


def clip_claim(*, clip: Clip, coder: AbstractBaseUser) -> Annotation:
    """The coder's draft of the clip, created if the dataset's coding plan has a place left: the
    one door through which coding starts (the workbench, "next clip", the API, an ELAN upload).

    The coder's own draft always comes back. A new draft, on a ready clip, takes a place when
    fewer than `coders_per_clip` other coders submitted the clip or hold a draft of it saved
    within the queue's `claim_minutes`; an older draft no longer holds its place. A coder who
    submitted the clip gets no second draft (the review would pair them with themselves), and
    nobody starts on an adjudicated clip. The clip's row stays locked from the count to the new
    draft, so claims racing for its last place are decided one at a time."""
    with transaction.atomic():
        locked = (
            Clip.objects.select_for_update(of=("self",))
            .select_related("subject__dataset")
            .get(pk=clip.pk)
        )
        own = Annotation.objects.filter(
            clip=locked, coder=coder, status=Annotation.Status.DRAFT
        ).first()
        if own is not None:
            return own
        if locked.ingest_status != Clip.IngestStatus.READY:
            raise ClaimError(
                f"{locked.name} is {locked.get_ingest_status_display().lower()}, not ready for "
                "coding.",
                code="not_ready",
            )
        states = set(
            Annotation.objects.filter(clip=locked)
            .filter(Q(coder=coder) | Q(status=Annotation.Status.ADJUDICATED))
            .values_list("status", flat=True)
        )
        if Annotation.Status.ADJUDICATED in states:
            raise ClaimError(
                f"{locked.name} is adjudicated: there is nothing left to code.", code="adjudicated"
            )
        if Annotation.Status.SUBMITTED in states:
            raise ClaimError(
                f"You already submitted an annotation of {locked.name}; it can no longer change.",
                code="already_submitted",
            )
        plan = locked.subject.dataset.coders_per_clip
        taken = coding_selectors.clip_plan_places_taken(clip=locked, coder=coder)
        if taken >= plan:
            coders = f"{plan} coder{'s' if plan > 1 else ''}"
            raise ClaimError(
                f"{locked.name} already has the {coders} its dataset's coding plan asks for; "
                "take the next clip in your queue.",
                code="plan_full",
            )
        ClipRelease.objects.filter(clip=locked, coder=coder).delete()
        return Annotation.objects.create(clip=locked, coder=coder)


def annotation_release(*, annotation: Annotation, discard_edits: bool) -> None:
    """Give the draft's clip back to the queue by deleting the draft. A draft nobody has saved
    (revision 1) holds nothing of the coder's; one with saved edits is deleted only when the
    coder said to discard them, so no marks go without a choice. The release is recorded, so
    the coder's "next clip" offers the clip again only after everything else."""
    if annotation.status != Annotation.Status.DRAFT:
        raise ClaimError(
            f"Annotation {annotation.pk} is {annotation.status}; only a draft can be released.",
            code="not_a_draft",
        )
    with transaction.atomic():
        deleted, _ = Annotation.objects.filter(
            pk=annotation.pk,
            status=Annotation.Status.DRAFT,
            **({} if discard_edits else {"revision": 1}),
        ).delete()
        if deleted:
            ClipRelease.objects.update_or_create(
                clip_id=annotation.clip_id, coder_id=annotation.coder_id
            )
            return
    if discard_edits:  # the row was submitted or released in another tab meanwhile
        raise ClaimError(
            f"Annotation {annotation.pk} is no longer a draft to release.", code="not_a_draft"
        )
    raise ClaimError(
        "This draft has saved edits: releasing the clip discards them. Confirm that you want "
        "them discarded, or submit the draft.",
        code="has_edits",
    )


def annotation_update(
    *,
    annotation: Annotation,
    revision: int,
    coding: Coding,
    saved_by: AbstractBaseUser | None,
    submit: bool = False,
) -> Annotation:
    """Save the coder's edits made from `revision`; refuse them if the row moved on meanwhile.
    `saved_by` (None only for scripts) is recorded for whoever's later save from an older
    revision is refused, so every door must name who saves.

    `annotation` is the row as loaded for this request; the update below only applies while the
    stored revision is still `revision`, so a save that raced this one is refused, not lost.
    Validation runs before anything is written, so a refused save leaves the stored row as it was,
    and `annotation` keeps its values unless the save succeeds.
    """
    if annotation.revision != revision:
        raise StaleRevisionError(current_revision=annotation.revision)
    candidate = copy.copy(annotation)
    candidate.onset, candidate.apex, candidate.offset = coding.onset, coding.apex, coding.offset
    candidate.emotion = coding.emotion
    candidate.action_units = [code.as_dict() for code in coding.action_units]
    candidate.notes = coding.notes
    if submit:
        candidate.status = Annotation.Status.SUBMITTED
    # The row's own references do not change here: checking that they still exist would cost a
    # query each on every autosave.
    candidate.full_clean(exclude=_UNCHANGED_REFERENCES, validate_constraints=False)

    changes = {field: getattr(candidate, field) for field in _EDITABLE_FIELDS}
    now = timezone.now()
    with transaction.atomic():
        updated = Annotation.objects.filter(pk=annotation.pk, revision=revision).update(
            **changes,
            status=candidate.status,
            revision=F("revision") + 1,
            updated_at=now,
            updated_by=saved_by,
        )
        if updated == 0:
            current = Annotation.objects.values_list("revision", flat=True).get(pk=annotation.pk)
            raise StaleRevisionError(current_revision=current)
    # The revision matched, so nobody else wrote the row: it now holds exactly these values.
    for field, value in changes.items():
        setattr(annotation, field, value)
    annotation.status = candidate.status
    annotation.revision = revision + 1
    annotation.updated_at = now
    annotation.updated_by = saved_by
    return annotation


def annotation_mark_model_assisted(*, annotation: Annotation, proposal: Proposal) -> None:
    """Record that the coder had the model's proposal on screen while coding this draft.

    Called when the workbench renders a proposal, so the mark follows what the coder saw, not
    what the browser claims. It is never taken back, and it changes neither the coder's marks nor
    the revision: an open workbench's next save is not refused because of it.
    """
    Annotation.objects.filter(
        pk=annotation.pk,
        clip=proposal.clip_id,
        status=Annotation.Status.DRAFT,
        provenance=Annotation.Provenance.MANUAL,
    ).update(
        provenance=Annotation.Provenance.MODEL_ASSISTED,
        proposal_version=proposal.model_version_id,
    )


def annotation_adjudicate(
    *,
    clip: Clip,
    reviewer: AbstractBaseUser,
    based_on: Annotation | None,
    revision: int | None,
    coding: Coding,
) -> Annotation:
    """Record the clip's final annotation (its notes are the reviewer's comment). A second
    adjudication edits the first, from the revision the reviewer read, so two reviewers never
    silently overwrite each other."""
    existing = Annotation.objects.filter(clip=clip, status=Annotation.Status.ADJUDICATED).first()
    if existing is not None:
        if revision is None:
            raise StaleRevisionError(current_revision=existing.revision)
        final = annotation_update(
            annotation=existing,
            revision=revision,
            coding=coding,
            saved_by=reviewer,
        )
        Annotation.objects.filter(pk=final.pk).update(based_on=based_on, coder=reviewer)
        final.refresh_from_db()
        return final
    final = Annotation(
        clip=clip,
        coder=reviewer,
        based_on=based_on,
        status=Annotation.Status.ADJUDICATED,
        onset=coding.onset,
        apex=coding.apex,
        offset=coding.offset,
        emotion=coding.emotion,
        action_units=[code.as_dict() for code in coding.action_units],
        notes=coding.notes,
    )
    final.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            final.save()
    except IntegrityError:
        current = Annotation.objects.get(clip=clip, status=Annotation.Status.ADJUDICATED)
        raise StaleRevisionError(current_revision=current.revision) from None
    return final
