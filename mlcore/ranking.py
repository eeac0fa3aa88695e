"""Which clip a coder should label next: the one ranking that the platform's queue
(`annotator.coding.selectors.clip_queue_ranked`) and the active-learning simulation
(`mlcore.training.simulation`) both call, so the simulation measures what coders get.

No Django and no torch here: candidates are plain data (a clip's id, its subject and the active
model's scores for it), in the queue's fallback order, oldest first. That order breaks ties and is
the "sequential" order.

Strategies:

- ``uncertainty``: highest predictive entropy first (the queue's default);
- ``diversity``: entropy + ``diversity_weight`` x novelty (distance from the scored pool's centre,
  0..1, see `novelty_scores`), so near-duplicates of what is already uncertain do not crowd the top;
- ``margin``: smallest top-1 minus top-2 probability first;
- ``bald``: highest BALD (MC-dropout mutual information) first;
- ``random``: shuffled, reproducibly with ``random_seed``;
- ``sequential``: the given order.

A clip the model has not scored (a score of None) goes after every scored clip. Then no subject
gets more than ``subject_cap`` places ahead of the others: a subject's clips beyond its cap move
behind every clip within its subject's cap, keeping their order (None: no cap). One face's
clips at the top would teach the model that face rather than the expressions.
"""

import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("uncertainty", "diversity", "margin", "bald", "random", "sequential")
# The queue's settings until an admin saves others (annotator.models.QueueSettings).
DEFAULT_STRATEGY = "uncertainty"
DEFAULT_DIVERSITY_WEIGHT = 0.5
DEFAULT_SUBJECT_CAP = 3


@dataclass(frozen=True, slots=True)
class RankingCandidate:
    clip_id: Hashable
    subject: Hashable
    entropy: float | None = None
    margin: float | None = None
    bald: float | None = None
    novelty: float | None = None


def novelty_scores(embeddings: np.ndarray) -> np.ndarray:
    """Each clip's distance from the centre of the scored pool's (N, D) embeddings, divided by the
    largest: 1 for the most unusual clip, all 0 when every embedding is the same."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) == 0:
        raise ValueError(f"embeddings must be a non-empty (N, D) array, got {embeddings.shape}")
    distances = np.linalg.norm(embeddings - embeddings.mean(axis=0, keepdims=True), axis=1)
    largest = distances.max()
    return distances / largest if largest > 0 else np.zeros_like(distances)


def score_terms(*, strategy: str, diversity_weight: float) -> dict[str, float] | None:
    """A strategy's score as a weighted sum of candidate fields, higher labelled sooner (None for
    random and sequential). The one definition of each score: `rank_for_labelling` sums it in
    Python and the queue's database query sums the same terms to pick its window of candidates."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown ranking strategy {strategy!r}; expected one of {STRATEGIES}")
    if not diversity_weight >= 0:  # also refuses NaN
        raise ValueError(f"diversity_weight must be >= 0, got {diversity_weight}")
    return {
        "uncertainty": {"entropy": 1.0},
        "diversity": {"entropy": 1.0, "novelty": diversity_weight},
        "margin": {"margin": -1.0},  # a small margin is an uncertain clip
        "bald": {"bald": 1.0},
    }.get(strategy)


def _score(candidate: RankingCandidate, terms: dict[str, float]) -> float | None:
    values = [getattr(candidate, name) for name in terms]
    if any(value is None for value in values):
        return None
    return sum(weight * value for weight, value in zip(terms.values(), values, strict=True))


def rank_for_labelling(
    *,
    candidates: Sequence[RankingCandidate],
    strategy: str = DEFAULT_STRATEGY,
    diversity_weight: float = DEFAULT_DIVERSITY_WEIGHT,
    subject_cap: int | None = DEFAULT_SUBJECT_CAP,
    random_seed: int | None = None,
) -> list[RankingCandidate]:
    """``candidates`` best first for labelling (see the module docstring); the defaults are the
    platform's queue defaults. ``random_seed`` only matters for ``random`` (None: unseeded)."""
    terms = score_terms(strategy=strategy, diversity_weight=diversity_weight)
    if subject_cap is not None and subject_cap < 1:
        raise ValueError(f"subject_cap must be at least 1 (or None for no cap), got {subject_cap}")
    clip_ids = [candidate.clip_id for candidate in candidates]
    if len(set(clip_ids)) != len(clip_ids):
        repeated = sorted({str(c) for c, n in Counter(clip_ids).items() if n > 1})
        raise ValueError(f"clips listed twice among the candidates: {', '.join(repeated)}")

    ordered = list(candidates)
    if strategy == "random":
        random.Random(random_seed).shuffle(ordered)
    elif terms is not None:
        scores = [_score(candidate, terms) for candidate in ordered]
        for candidate, value in zip(ordered, scores, strict=True):
            if value is not None and not np.isfinite(value):
                raise ValueError(f"clip {candidate.clip_id}: its {strategy} score is {value}")
        scored = [(s, i) for i, s in enumerate(scores) if s is not None]
        # Stable: equal scores keep the given (oldest-first) order.
        scored.sort(key=lambda pair: -pair[0])
        unscored = [i for i, s in enumerate(scores) if s is None]
        ordered = [ordered[i] for _, i in scored] + [ordered[i] for i in unscored]
    within_cap, over_cap = _split_at_cap(ordered, subject_cap=subject_cap)
    return within_cap + over_cap


def _split_at_cap(
    ordered: list[RankingCandidate], *, subject_cap: int | None
) -> tuple[list[RankingCandidate], list[RankingCandidate]]:
    if subject_cap is None:
        return ordered, []
    per_subject: Counter[Hashable] = Counter()
    within_cap, over_cap = [], []
    for candidate in ordered:
        per_subject[candidate.subject] += 1
        (within_cap if per_subject[candidate.subject] <= subject_cap else over_cap).append(
            candidate
        )
    return within_cap, over_cap


def rank_top_for_labelling(
    *,
    fetch: Callable[[int], Sequence[RankingCandidate]],
    limit: int,
    strategy: str = DEFAULT_STRATEGY,
    diversity_weight: float = DEFAULT_DIVERSITY_WEIGHT,
    subject_cap: int | None = DEFAULT_SUBJECT_CAP,
    random_seed: int | None = None,
) -> list[RankingCandidate]:
    """The first ``limit`` clips of `rank_for_labelling` over every candidate, reading only as
    many as it needs: a queue of 10 000 clips should not load them all to show 50.

    ``fetch(n)`` gives the first ``n`` candidates ordered by the strategy's score (`score_terms`),
    highest first, unscored last, ties oldest first (random: any ``n`` drawn at random;
    sequential: the oldest ``n``), or all of them when there are fewer. The cap only moves clips
    back, and a clip's place depends only on the clips scored above it, so ranking such a window
    gives the full ranking's first ``limit`` whenever the window holds ``limit`` clips within
    their subject's cap; otherwise the window doubles."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    options = {
        "strategy": strategy,
        "diversity_weight": diversity_weight,
        "subject_cap": subject_cap,
        "random_seed": random_seed,
    }
    window = 2 * limit
    while True:
        candidates = list(fetch(window))
        ranked = rank_for_labelling(candidates=candidates, **options)
        within_cap, _ = _split_at_cap(ranked, subject_cap=subject_cap)
        if len(candidates) < window or len(within_cap) >= limit:
            return ranked[:limit]
        window *= 2
