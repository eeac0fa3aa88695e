"""Reads. Views and the API get their querysets here, never by building queries themselves."""

import json
from collections import Counter
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.utils import timezone

from annotator import keymap, media
from annotator.models import (
    Annotation,
    Clip,
    CoderPreferences,
    Dataset,
    DatasetEmotion,
    JobRun,
    ModelVersion,
    Proposal,
    QueueSettings,
    TrainingRun,
)
from mlcore.agreement import (
    INTENSITY_ORDER,
    au_agreement,
    cohen_kappa,
    frame_distance_summary,
    krippendorff_alpha_nominal,
    tolerance_frames,
)
from mlcore.preprocess_layout import ALIGNED_DIR, FRAMES_DIR, META_NAME, MOTION_DIR, frame_name
from mlcore.ranking import (
    RankingCandidate,
    rank_for_labelling,
    rank_top_for_labelling,
    score_terms,
)


def dataset_list_with_counts() -> QuerySet[Dataset]:
    return Dataset.objects.annotate(
        subject_count=Count("subjects", distinct=True),
        clip_count=Count("subjects__clips", distinct=True),
        ready_clip_count=Count(
            "subjects__clips",
            filter=Q(subjects__clips__ingest_status=Clip.IngestStatus.READY),
            distinct=True,
        ),
    ).order_by("name")


def job_runs_visible_to(*, user) -> QuerySet[JobRun]:
    """The one rule for seeing jobs, their progress and their error text, on every door:
    reviewers and admins see every job, everyone else only the jobs they started."""
    if user.has_perm("annotator.view_jobrun"):
        return JobRun.objects.all()
    return JobRun.objects.filter(created_by=user)


def job_run_list_recent(*, user, limit: int = 10) -> QuerySet[JobRun]:
    return (
        job_runs_visible_to(user=user).select_related("created_by").order_by("-created_at")[:limit]
    )


def job_run_get(*, job_run_id: int, user) -> JobRun:
    return job_runs_visible_to(user=user).get(pk=job_run_id)


# --- Clip media -------------------------------------------------------------------------------


def clip_preprocess_meta(*, path: Path) -> dict:
    return json.loads((path / META_NAME).read_text())


def clip_media_layers(*, clip: Clip) -> list[str]:
    """The picture layers a ready clip offers: raw frames, aligned crops per size, motion."""
    return ["frame", *(f"aligned-{size}" for size in clip.aligned_sizes), "motion"]


def clip_media_file(*, clip: Clip, version: int, layer: str, frame: int) -> Path | None:
    """The file for one frame of one layer, or None when the clip, version, layer or frame is
    not there (the URL then answers 404)."""
    if clip.ingest_status != Clip.IngestStatus.READY or version != clip.media_version:
        return None
    if frame not in set(clip.frame_indices) or layer not in clip_media_layers(clip=clip):
        return None
    folder = media.clip_media_dir(clip=clip) / f"v{version}"
    if layer == "frame":
        folder = folder / FRAMES_DIR
    elif layer == "motion":
        folder = folder / MOTION_DIR
    else:
        folder = folder / ALIGNED_DIR / layer.removeprefix("aligned-")
    path = folder / frame_name(frame)
    return path if path.is_file() else None


def clip_get(*, clip_id: int) -> Clip:
    return Clip.objects.select_related("subject__dataset").get(pk=clip_id)


def clip_job_run_latest(*, clip: Clip) -> JobRun | None:
    return clip.job_runs.order_by("-created_at").first()


def clip_list_recent(*, limit: int = 20) -> QuerySet[Clip]:
    return Clip.objects.select_related("subject__dataset").order_by("-created_at")[:limit]


# --- Coding -----------------------------------------------------------------------------------


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
    progress always come first."""
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

    # The coder's own drafts neither count towards their subject's cap nor wait behind it.
    own_drafts = rank_for_labelling(
        candidates=as_candidates(candidates.filter(pk__in=own_draft_ids).order_by(*ordering))
        if own_draft_ids
        else [],
        **{**ranking, "subject_cap": None},
    )
    others = candidates.exclude(pk__in=own_draft_ids).order_by(*ordering)
    ranked = [
        *own_drafts,
        *rank_top_for_labelling(
            fetch=lambda window: as_candidates(others[:window]), limit=limit, **ranking
        ),
    ][:limit]
    ranked_ids = [candidate.clip_id for candidate in ranked]
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


def annotation_get_own(*, annotation_id: int, coder) -> Annotation:
    """The coder's own annotation; anyone else's is reported as missing, never shown."""
    annotation = Annotation.objects.select_related("clip__subject__dataset", "emotion").get(
        pk=annotation_id, coder=coder
    )
    annotation.coder = coder  # the filter made it so: no join needed to load it
    return annotation


def annotation_of_coder(*, clip: Clip, coder) -> Annotation | None:
    """The coder's own annotation of the clip, submitted or draft (one coder has one at most:
    `services.clip_claim`), or None while they have not started it."""
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


def dataset_emotions(*, dataset: Dataset) -> QuerySet[DatasetEmotion]:
    return dataset.emotions.order_by("name")


# --- Review and agreement -------------------------------------------------------------------------

DEFAULT_TOLERANCE_MS = 10.0
MARKS = ("onset", "apex", "offset")


def clip_list_for_review() -> QuerySet[Clip]:
    return (
        Clip.objects.filter(annotations__status=Annotation.Status.SUBMITTED)
        .select_related("subject__dataset")
        .annotate(
            submitted_count=Count(
                "annotations",
                filter=Q(annotations__status=Annotation.Status.SUBMITTED),
                distinct=True,
            ),
            adjudicated_count=Count(
                "annotations",
                filter=Q(annotations__status=Annotation.Status.ADJUDICATED),
                distinct=True,
            ),
        )
        .order_by("adjudicated_count", "created_at", "pk")
    )


def annotations_submitted(*, clip: Clip) -> list[Annotation]:
    return list(
        clip.annotations.filter(status=Annotation.Status.SUBMITTED)
        .select_related("coder", "emotion")
        .order_by("coder__username")
    )


def annotation_adjudicated(*, clip: Clip) -> Annotation | None:
    return (
        clip.annotations.filter(status=Annotation.Status.ADJUDICATED)
        .select_related("coder", "emotion", "based_on__coder")
        .first()
    )


def annotation_pair_agreement(
    first: Annotation, second: Annotation, *, fps: float, tolerance_ms: float = DEFAULT_TOLERANCE_MS
) -> dict:
    """How two annotations of one clip agree: emotion, AU set, and each frame mark."""
    tolerance = tolerance_frames(tolerance_ms=tolerance_ms, fps=fps)
    marks = {}
    for mark in MARKS:
        a, b = getattr(first, mark), getattr(second, mark)
        if a is None or b is None:
            marks[mark] = None
            continue
        difference = b - a
        marks[mark] = {
            "frames": difference,
            "ms": difference * 1000.0 / fps,
            "within_tolerance": abs(difference) <= tolerance,
        }
    aus = au_agreement(first.au_codes, second.au_codes)
    return {
        "first": first,
        "second": second,
        "emotion_match": first.emotion_id == second.emotion_id,
        "au_agreement": aus.number,
        "au_laterality_agreement": aus.laterality,
        "au_intensity_agreement": aus.intensity,
        "aus_only_first": aus.only_first,
        "aus_only_second": aus.only_second,
        "marks": marks,
        "tolerance_frames": tolerance,
    }


def clip_review(*, clip: Clip, tolerance_ms: float = DEFAULT_TOLERANCE_MS) -> dict:
    submitted = annotations_submitted(clip=clip)
    return {
        "submitted": submitted,
        "adjudicated": annotation_adjudicated(clip=clip),
        "pairs": [
            annotation_pair_agreement(a, b, fps=clip.fps, tolerance_ms=tolerance_ms)
            for i, a in enumerate(submitted)
            for b in submitted[i + 1 :]
        ],
        "tolerance_ms": tolerance_ms,
    }


def annotation_disagreements_for_coder(*, clip: Clip, coder) -> dict | None:
    """After adjudication only (coding is blind until then): how the coder's submitted
    annotation differs from the final one."""
    final = annotation_adjudicated(clip=clip)
    own = annotation_submitted_for_coder(clip=clip, coder=coder)
    if final is None or own is None:
        return None
    return annotation_pair_agreement(own, final, fps=clip.fps)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def dataset_agreement_report(
    *, dataset: Dataset, tolerance_ms: float = DEFAULT_TOLERANCE_MS
) -> dict:
    """Reliability over every clip of the dataset with two or more submitted annotations."""
    by_clip: dict[int, list[Annotation]] = {}
    submitted = (
        Annotation.objects.filter(
            clip__subject__dataset=dataset, status=Annotation.Status.SUBMITTED
        )
        .select_related("clip__subject", "coder", "emotion")
        .order_by("clip_id", "coder__username")
    )
    for annotation in submitted:
        by_clip.setdefault(annotation.clip_id, []).append(annotation)
    multi = {clip_id: items for clip_id, items in by_clip.items() if len(items) >= 2}

    pairs = [
        annotation_pair_agreement(a, b, fps=a.clip.fps, tolerance_ms=tolerance_ms)
        for items in multi.values()
        for i, a in enumerate(items)
        for b in items[i + 1 :]
    ]
    emotion_units = [
        [a.emotion.name if a.emotion else None for a in items] for items in multi.values()
    ]
    au_numbers = sorted(
        {code.number for items in multi.values() for a in items for code in a.au_codes}
    )
    au_units = [
        [int(any(code.number == number for code in a.au_codes)) for a in items]
        for items in multi.values()
        for number in au_numbers
    ]
    intensity_pairs = []
    for pair in pairs:
        first = {c.number: c.intensity for c in pair["first"].au_codes if c.intensity}
        second = {c.number: c.intensity for c in pair["second"].au_codes if c.intensity}
        for number in first.keys() & second.keys():
            intensity_pairs.append(
                (INTENSITY_ORDER.index(first[number]), INTENSITY_ORDER.index(second[number]))
            )
    all_submitted = [a for items in by_clip.values() for a in items]
    base_rates = Counter(number for a in all_submitted for number in {c.number for c in a.au_codes})
    return {
        "dataset": dataset,
        "clips_with_two_or_more": len(multi),
        "annotations": len(all_submitted),
        "pairs": pairs,
        "emotion_kappa": cohen_kappa(
            [p["first"].emotion_id for p in pairs], [p["second"].emotion_id for p in pairs]
        ),
        "emotion_alpha": krippendorff_alpha_nominal(emotion_units),
        "au_presence_alpha": krippendorff_alpha_nominal(au_units),
        "au_agreement_mean": _mean([p["au_agreement"] for p in pairs]),
        "au_laterality_agreement_mean": _mean(
            [
                p["au_laterality_agreement"]
                for p in pairs
                if p["au_laterality_agreement"] is not None
            ]
        ),
        "au_intensity_agreement_mean": _mean(
            [p["au_intensity_agreement"] for p in pairs if p["au_intensity_agreement"] is not None]
        ),
        "intensity_weighted_kappa": cohen_kappa(
            [a for a, _ in intensity_pairs], [b for _, b in intensity_pairs], weights="quadratic"
        ),
        "intensity_pairs": len(intensity_pairs),
        "frame_distances": {
            mark: frame_distance_summary(
                [p["marks"][mark]["frames"] for p in pairs if p["marks"][mark] is not None]
            )
            for mark in MARKS
        },
        "ms_distances": {
            mark: frame_distance_summary(
                [p["marks"][mark]["ms"] for p in pairs if p["marks"][mark] is not None]
            )
            for mark in MARKS
        },
        # What the tolerance decides: how many pairs put each mark within it of each other.
        "within_tolerance": {
            mark: sum(
                1
                for p in pairs
                if p["marks"][mark] is not None and p["marks"][mark]["within_tolerance"]
            )
            for mark in MARKS
        },
        "au_base_rates": [
            (number, count / len(all_submitted)) for number, count in sorted(base_rates.items())
        ],
        "tolerance_ms": tolerance_ms,
    }


def coder_preferences(*, coder) -> CoderPreferences:
    """The coder's workbench preferences, or the defaults while the coder has saved none."""
    return CoderPreferences.objects.filter(coder=coder).first() or CoderPreferences(coder=coder)


def coder_key_map(*, coder) -> keymap.KeyMap:
    """The workbench's keys with the coder's own ones in place of the defaults they changed."""
    return keymap.key_map(overrides=coder_preferences(coder=coder).key_overrides)


# --- Training ---------------------------------------------------------------------------------

# The figures mlcore writes for a run (mlcore.training.run._plots), by the name in their URL.
TRAINING_RUN_PLOTS = {
    "confusion": "Confusion matrix (pooled over the folds)",
    "per_fold": "Per-fold UF1 and accuracy",
    "losses": "Training loss per epoch",
}


def _attempts_prefetch() -> Prefetch:
    return Prefetch("job_runs", queryset=JobRun.objects.order_by("-created_at"), to_attr="attempts")


def training_run_list(*, limit: int = 50) -> list[TrainingRun]:
    """The latest runs, newest first; `run.attempts[0]` is the current attempt's JobRun."""
    return list(
        TrainingRun.objects.select_related("created_by", "model_version", "warm_start_from")
        .prefetch_related("datasets", _attempts_prefetch())
        .order_by("-created_at")[:limit]
    )


def training_run_get(*, training_run_id: int) -> TrainingRun:
    return (
        TrainingRun.objects.select_related("created_by", "model_version", "warm_start_from")
        .prefetch_related("datasets", _attempts_prefetch())
        .get(pk=training_run_id)
    )


def training_run_report(*, training_run: TrainingRun) -> dict | None:
    """The finished run's scores as tables: pooled (full and per dataset part), per fold, and
    the confusion matrix with its class names. None until the run has metrics."""
    metrics = training_run.metrics
    if not metrics:
        return None
    pooled = metrics.get("pooled", {})
    class_names = metrics.get("class_names", [])
    return {
        "full": pooled.get("full"),
        "parts": [(name, scores) for name, scores in sorted(pooled.items()) if name != "full"],
        "per_fold": metrics.get("per_fold", []),
        "class_names": class_names,
        "confusion": list(zip(class_names, metrics.get("confusion_matrix", []), strict=False)),
        "n_clips": metrics.get("n_clips"),
        "n_folds": metrics.get("n_folds"),
        "apex_policy": metrics.get("apex_policy"),
        "skipped": metrics.get("n_clips_skipped_without_apex", 0),
        "proposed_apexes": len(metrics.get("proposed_apexes", [])),
        "device": metrics.get("device"),
        "wall_time_s": metrics.get("wall_time_s"),
    }


def training_run_plot_file(*, training_run: TrainingRun, name: str) -> Path | None:
    """The PNG mlcore wrote for one of TRAINING_RUN_PLOTS, or None (unknown name, no file)."""
    if name not in TRAINING_RUN_PLOTS:
        return None
    path = media.training_root(training_run=training_run) / "run" / "plots" / f"{name}.png"
    return path if path.is_file() else None


def training_run_plots(*, training_run: TrainingRun) -> list[tuple[str, str]]:
    """(name, title) of the run's figures that are on disk."""
    return [
        (name, title)
        for name, title in TRAINING_RUN_PLOTS.items()
        if training_run_plot_file(training_run=training_run, name=name) is not None
    ]


def model_version_list() -> list[ModelVersion]:
    """Every version, newest first; `version.infer_runs[0]` is its latest scoring job."""
    return list(
        ModelVersion.objects.select_related("training_run")
        .prefetch_related(
            "training_run__datasets",
            Prefetch(
                "job_runs",
                queryset=JobRun.objects.filter(kind=JobRun.Kind.INFER).order_by("-created_at"),
                to_attr="infer_runs",
            ),
        )
        .order_by("-created_at")
    )


def model_version_get(*, version_id: int) -> ModelVersion:
    return ModelVersion.objects.get(pk=version_id)


# The simulated strategies drawn on the training page: the baseline and the queue's two orders.
SIMULATED_STRATEGIES = ("random", "platform", "platform-diversity")


def loop_simulation_curves() -> dict | None:
    """The simulated learning curves (mean and spread of UF1 against labelled clips) of
    `settings.LOOP_SIMULATION_RESULT`; None without one, `{"problem": ...}` for one that cannot
    be read, so the page says so instead of drawing nothing."""
    path = settings.LOOP_SIMULATION_RESULT
    if path is None or not path.is_file():
        return None
    # Read once per version of the file: the training page and its figures ask on every load.
    return _loop_simulation_curves_of(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _loop_simulation_curves_of(path: Path, mtime_ns: int) -> dict:
    """`loop_simulation_curves` for one version of the file (`mtime_ns` keys the cache)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        summary = result["summary"]
        curves = {
            name: {
                "labels": list(summary["strategies"][name]["labels"]),
                "mean": [point["mean"] for point in summary["strategies"][name]["uf1"]],
                "std": [point["std"] for point in summary["strategies"][name]["uf1"]],
            }
            for name in SIMULATED_STRATEGIES
            if name in summary["strategies"]
        }
        described = {
            "clips": result["n_clips"],
            "subjects": result["n_subjects"],
            "seeds": len(result["runs"]),
            "model": result["settings"]["model_name"],
            "verdict": summary["goal"]["verdict"],
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        problem = f"{path} is not a simulate-loop result ({type(error).__name__}: {error})"
        return {"problem": problem}
    if not curves:
        return {"problem": f"{path} has none of the strategies {', '.join(SIMULATED_STRATEGIES)}"}
    return {"curves": curves, **described}


def model_version_scores() -> list[dict]:
    """Pooled UF1/UAR of every version that has them, oldest first, for the comparison plots."""
    rows = []
    for version in ModelVersion.objects.order_by("created_at", "pk"):
        full = version.metrics.get("pooled", {}).get("full", {})
        if "uf1" not in full or "uar" not in full:
            continue
        rows.append(
            {
                "label": f"v{version.pk}",
                "created_at": version.created_at,
                "labelled_clips": version.labelled_clips,
                "uf1": full["uf1"],
                "uar": full["uar"],
                "is_active": version.is_active,
            }
        )
    return rows
