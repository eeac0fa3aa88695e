"""Reads for coders: the queue (plain and ranked by the active model), the coding plan's places,
the coder's own annotations and the proposal shown beside them."""

from datetime import timedelta

from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.utils import timezone

from annotator.models import (
    Annotation,
    Clip,
    ClipRelease,
    Dataset,
    ModelVersion,
    Proposal,
    QueueSettings,
)
from mlcore.ranking import (
    RankingCandidate,
    rank_for_labelling,
    rank_top_for_labelling,
    score_terms,
)


def clip_queue_for_coder(*, coder) -> QuerySet[Clip]:
    """Ready clips with the coder's own annotation state (`my_status`: None, draft, submitted;
    `my_annotation_id` and `my_revision` of that annotation), oldest first. Other coders' work
    is never joined in: coding is blind."""
    latest = (
        Annotation.objects.filter(clip=OuterRef("pk"), coder=coder)
        .exclude(status=Annotation.Status.ADJUDICATED)
        .order_by("-updated_at")
    )
    return (
        Clip.objects.filter(ingest_status=Clip.IngestStatus.READY)
        .select_related("subject__dataset")
        .annotate(
            my_status=Subquery(latest.values("status")[:1]),
            my_updated_at=Subquery(latest.values("updated_at")[:1]),
            my_annotation_id=Subquery(latest.values("pk")[:1]),
            my_revision=Subquery(latest.values("revision")[:1]),
        )
        .order_by("created_at", "pk")
    )


def plan_places_taken(*, coder, claim_minutes: int) -> QuerySet[Annotation]:
    """The annotations of coders other than `coder` that take a place in their clip's coding
    plan: submitted ones, and drafts saved (or opened) within the last `claim_minutes`. An
    older draft stays its coder's, but no longer keeps the clip from others."""
    return Annotation.objects.filter(
        Q(status=Annotation.Status.SUBMITTED)
        | Q(
            status=Annotation.Status.DRAFT,
            updated_at__gte=timezone.now() - timedelta(minutes=claim_minutes),
        )
    ).exclude(coder=coder)


def clip_plan_places_taken(*, clip: Clip, coder) -> int:
    """How many of the clip's places in its coding plan coders other than `coder` hold."""
    return (
        plan_places_taken(coder=coder, claim_minutes=queue_settings().claim_minutes)
        .filter(clip=clip)
        .count()
    )


def annotation_open_draft(*, coder) -> Annotation | None:
    """The coder's most recently edited draft on a ready clip, unless the clip was adjudicated
    meanwhile: "next clip" gives it back before anything new. Its clip, subject, dataset and
    coder come loaded."""
    draft = (
        Annotation.objects.filter(
            coder=coder, status=Annotation.Status.DRAFT, clip__ingest_status=Clip.IngestStatus.READY
        )
        .exclude(
            Exists(
                Annotation.objects.filter(
                    clip=OuterRef("clip"), status=Annotation.Status.ADJUDICATED
                )
            )
        )
        .select_related("clip__subject__dataset", "emotion")
        .order_by("-updated_at")
        .first()
    )
    if draft is not None:
        draft.coder = coder  # the filter made it so: no join needed to load it
    return draft


def queue_settings() -> QueueSettings:
    """The queue's settings row, or the defaults while nobody has saved any."""
    return QueueSettings.objects.filter(pk=1).first() or QueueSettings(pk=1)


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def clip_queue_ranked(*, coder, limit: int = 200) -> list[Clip]:
    """The clips the coder may code next, best first: ready, not submitted by this coder, not
    adjudicated, with a place left in the dataset's coding plan (`plan_places_taken`). Ordered
    by the queue's strategy with the active model version's proposals
    (`mlcore.ranking.rank_for_labelling`, which the active-learning simulation measures); no
    subject gets more than `subject_cap` places ahead of the others. The coder's own drafts in
    progress always come first, and the clips they released (`ClipRelease`) last."""
    options = queue_settings()
    # Each condition is a NOT EXISTS that the database runs as one anti-join over all clips, the
    # proposal is one join, and only ids and scores are read: the clips shown are loaded
    # afterwards. On 10 000 clips the per-clip subqueries this replaced took over 100 ms a call.
    submitted_by_coder = Annotation.objects.filter(
        clip=OuterRef("pk"), coder=coder, status=Annotation.Status.SUBMITTED
    )
    adjudicated = Annotation.objects.filter(
        clip=OuterRef("pk"), status=Annotation.Status.ADJUDICATED
    )
    # Clips whose coding plan is full without this coder, read first like the coder's drafts:
    # one grouped pass over the annotations that hold places on clips not adjudicated (those
    # leave the queue anyway). Only a group with as many places as the smallest plan of any
    # dataset can be full, and only such a group's clip has its own plan looked up. As a
    # subquery inside the big one, PostgreSQL misjudged how many clips it keeps and chose plans
    # up to ten times slower on 10 000 clips.
    smallest_plan = Dataset.objects.order_by("coders_per_clip").values("coders_per_clip")[:1]
    plan_of_clip = (
        Clip.objects.filter(pk=OuterRef("clip_id"))
        .order_by()
        .values("subject__dataset__coders_per_clip")[:1]
    )
    adjudicated_clip = Annotation.objects.filter(
        clip=OuterRef("clip_id"), status=Annotation.Status.ADJUDICATED
    )
    plan_full_ids = set(
        plan_places_taken(coder=coder, claim_minutes=options.claim_minutes)
        .exclude(Exists(adjudicated_clip))
        .order_by()
        .values("clip_id")
        .annotate(places=Count("pk"))
        .filter(places__gte=Subquery(smallest_plan))
        .filter(places__gte=Subquery(plan_of_clip))
        .values_list("clip_id", flat=True)
    )
    # A coder has a draft or two, so their ids are read first and the big query stays one scan.
    own_draft_ids = list(
        Annotation.objects.filter(coder=coder, status=Annotation.Status.DRAFT).values_list(
            "clip_id", flat=True
        )
    )
    candidates = (
        Clip.objects.filter(ingest_status=Clip.IngestStatus.READY)
        .exclude(Exists(submitted_by_coder))
        .exclude(Exists(adjudicated))
        # A full plan keeps others out, never the coder from their own draft.
        .exclude(pk__in=plan_full_ids.difference(own_draft_ids))
    )
    # The id only: the version's metrics can be large and are not needed here.
    active = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    ranking = {
        "strategy": options.strategy,
        "diversity_weight": options.diversity_weight,
        "subject_cap": options.subject_cap,
    }
    terms = score_terms(strategy=options.strategy, diversity_weight=options.diversity_weight)
    # Only the scores the strategy sums are read: the queue's indexes hold those of the
    # default strategies (entropy, novelty), so the database never visits a table row.
    score_fields: tuple[str, ...] = tuple(terms) if active and terms else ()
    # Without an active version nothing is scored, and unscored clips keep the oldest-first order.
    ordering: list = ["created_at", "pk"]
    if score_fields:
        candidates = candidates.annotate(
            active_proposal=FilteredRelation(
                "proposals", condition=Q(proposals__model_version=active)
            ),
            **{name: F(f"active_proposal__{name}") for name in score_fields},
            # The same weighted sum as mlcore.ranking, so the window read is the best-scored one.
            score=sum(
                (F(f"active_proposal__{name}") * Value(weight) for name, weight in terms.items()),
                start=Value(0.0),
            ),
        )
        ordering = [F("score").desc(nulls_last=True), "created_at", "pk"]
    if options.strategy == QueueSettings.Strategy.RANDOM:
        ordering = ["?"]

    def as_candidates(clips: QuerySet[Clip]) -> list[RankingCandidate]:
        rows = list(clips.values_list("pk", *score_fields))
        # The subjects of these clips only: reading them in the big query would visit every row.
        subject_of = dict(
            Clip.objects.filter(pk__in=[row[0] for row in rows]).values_list("pk", "subject_id")
        )
        return [
            RankingCandidate(
                clip_id=row[0],
                subject=subject_of[row[0]],
                **dict(zip(score_fields, row[1:], strict=True)),
            )
            for row in rows
            if row[0] in subject_of  # a clip deleted between the two reads is left out
        ]

    # Clips the coder gave back wait behind every other clip, the longest released first.
    released_ids = list(
        ClipRelease.objects.filter(coder=coder)
        .order_by("released_at", "pk")
        .values_list("clip_id", flat=True)
    )
    # The coder's own drafts neither count towards their subject's cap nor wait behind it.
    own_drafts = rank_for_labelling(
        candidates=as_candidates(candidates.filter(pk__in=own_draft_ids).order_by(*ordering))
        if own_draft_ids
        else [],
        **{**ranking, "subject_cap": None},
    )
    others = candidates.exclude(pk__in=[*own_draft_ids, *released_ids]).order_by(*ordering)
    ranked = [
        *own_drafts,
        *rank_top_for_labelling(
            fetch=lambda window: as_candidates(others[:window]), limit=limit, **ranking
        ),
    ][:limit]
    ranked_ids = [candidate.clip_id for candidate in ranked]
    if len(ranked_ids) < limit and released_ids:
        still_offered = set(candidates.filter(pk__in=released_ids).values_list("pk", flat=True))
        ranked_ids += [
            pk for pk in released_ids if pk in still_offered and pk not in own_draft_ids
        ][: limit - len(ranked_ids)]
    by_id = clip_queue_for_coder(coder=coder).in_bulk(ranked_ids)
    # The queue page shows each clip's uncertainty (the active proposal's entropy), whatever
    # the strategy ranked by.
    entropy_of = dict(
        Proposal.objects.filter(model_version=active, clip_id__in=ranked_ids).values_list(
            "clip_id", "entropy"
        )
        if active
        else []
    )
    for clip in by_id.values():
        clip.uncertainty = entropy_of.get(clip.pk)
    # A clip that stopped being ready between the two queries is simply left out.
    return [by_id[pk] for pk in ranked_ids if pk in by_id]


def proposal_for_clip(*, clip: Clip) -> Proposal | None:
    active = model_version_active()
    if active is None:
        return None
    return Proposal.objects.filter(clip=clip, model_version=active).first()


def annotations_visible_to(*, user) -> QuerySet[Annotation]:
    """The annotations `user` may see, the one rule every door reads through (the API, the ELAN
    pages): their own, drafts included, and for reviewers every coder's submitted and
    adjudicated ones. Coding is blind, so a coder never sees another coder's work."""
    visible = Q(coder=user)
    if user.has_perm("annotator.adjudicate_annotation"):
        visible |= Q(status__in=[Annotation.Status.SUBMITTED, Annotation.Status.ADJUDICATED])
    return Annotation.objects.filter(visible)


def annotation_get_own(*, annotation_id: int, coder) -> Annotation:
    """The coder's own annotation; anyone else's is reported as missing, never shown."""
    annotation = Annotation.objects.select_related("clip__subject__dataset", "emotion").get(
        pk=annotation_id, coder=coder
    )
    annotation.coder = coder  # the filter made it so: no join needed to load it
    return annotation


def annotation_of_coder(*, clip: Clip, coder) -> Annotation | None:
    """The coder's own annotation of the clip, submitted or draft (one coder has one at most:
    `coding.services.clip_claim`), or None while they have not started it."""
    annotation = (
        Annotation.objects.filter(
            clip=clip,
            coder=coder,
            status__in=[Annotation.Status.SUBMITTED, Annotation.Status.DRAFT],
        )
        .select_related("emotion")
        .order_by("-updated_at")
        .first()
    )
    if annotation is not None:
        annotation.clip, annotation.coder = clip, coder
    return annotation


def annotation_submitted_for_coder(*, clip: Clip, coder) -> Annotation | None:
    return (
        Annotation.objects.filter(clip=clip, coder=coder, status=Annotation.Status.SUBMITTED)
        .select_related("emotion")
        .first()
    )
