"""Reads for reviewers: the clips to review, a clip's submitted and adjudicated annotations, the
agreement between coders and a dataset's agreement report."""

from collections import Counter

from django.db.models import (
    Count,
    Q,
    QuerySet,
)

from annotator.coding import selectors as coding_selectors
from annotator.models import (
    Annotation,
    Clip,
    Dataset,
)
from mlcore.agreement import (
    INTENSITY_ORDER,
    au_agreement,
    cohen_kappa,
    frame_distance_summary,
    krippendorff_alpha_nominal,
    tolerance_frames,
)

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
    own = coding_selectors.annotation_submitted_for_coder(clip=clip, coder=coder)
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
