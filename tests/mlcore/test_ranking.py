"""The one ranking of clips for labelling that the coder's queue and the simulation share."""

import numpy as np
import pytest

from mlcore.ranking import (
    DEFAULT_DIVERSITY_WEIGHT,
    DEFAULT_STRATEGY,
    DEFAULT_SUBJECT_CAP,
    RankingCandidate,
    novelty_scores,
    rank_for_labelling,
    rank_top_for_labelling,
    score_terms,
)

# Oldest first, as the queue lists them: (clip, subject, entropy, margin, bald, novelty).
ROWS = [
    ("a_low", "A", 0.1, 0.80, 0.00, 0.9),
    ("a_high", "A", 1.0, 0.05, 0.02, 0.0),
    ("a_mid", "A", 0.9, 0.30, 0.30, 0.1),
    ("b_mid", "B", 0.5, 0.10, 0.10, 1.0),
]


def candidates(rows=ROWS):
    return [
        RankingCandidate(
            clip_id=clip, subject=subject, entropy=entropy, margin=margin, bald=bald, novelty=nov
        )
        for clip, subject, entropy, margin, bald, nov in rows
    ]


def order(**options):
    return [c.clip_id for c in rank_for_labelling(candidates=candidates(), **options)]


def test_each_strategy_orders_by_its_own_score():
    no_cap = {"subject_cap": None}
    assert order(strategy="uncertainty", **no_cap) == ["a_high", "a_mid", "b_mid", "a_low"]
    assert order(strategy="margin", **no_cap) == ["a_high", "b_mid", "a_mid", "a_low"]
    assert order(strategy="bald", **no_cap) == ["a_mid", "b_mid", "a_high", "a_low"]
    assert order(strategy="sequential", **no_cap) == ["a_low", "a_high", "a_mid", "b_mid"]
    # entropy + 0.5 novelty: b_mid 1.0, a_high 1.0 (tie: older first), a_mid 0.95, a_low 0.55.
    assert order(strategy="diversity", diversity_weight=0.5, **no_cap) == [
        "a_high",
        "b_mid",
        "a_mid",
        "a_low",
    ]
    assert order(strategy="diversity", diversity_weight=2.0, **no_cap)[0] == "b_mid"


def test_the_subject_cap_moves_a_subjects_surplus_behind_the_others():
    assert order(strategy="uncertainty", subject_cap=1) == ["a_high", "b_mid", "a_mid", "a_low"]
    assert order(strategy="sequential", subject_cap=1) == ["a_low", "b_mid", "a_high", "a_mid"]
    assert order(strategy="uncertainty", subject_cap=3) == ["a_high", "a_mid", "b_mid", "a_low"]


def test_the_defaults_are_the_queues_defaults():
    assert order() == order(strategy="uncertainty", subject_cap=3)
    assert (DEFAULT_STRATEGY, DEFAULT_DIVERSITY_WEIGHT, DEFAULT_SUBJECT_CAP) == (
        "uncertainty",
        0.5,
        3,
    )
    try:
        from django.conf import settings

        configured = settings.configured
    except ImportError:
        configured = False
    if not configured:
        pytest.skip("the platform's QueueSettings need Django settings")
    from annotator.models import QueueSettings

    defaults = QueueSettings()
    assert (defaults.strategy, defaults.diversity_weight, defaults.subject_cap) == (
        DEFAULT_STRATEGY,
        DEFAULT_DIVERSITY_WEIGHT,
        DEFAULT_SUBJECT_CAP,
    )


def test_unscored_clips_come_last_in_their_given_order():
    rows = [("new1", "A", None, None, None, None), *ROWS, ("new2", "B", None, None, None, None)]
    ranked = [c.clip_id for c in rank_for_labelling(candidates=candidates(rows), subject_cap=None)]
    assert ranked == ["a_high", "a_mid", "b_mid", "a_low", "new1", "new2"]


def test_random_is_reproducible_with_a_seed_and_keeps_every_clip():
    first = order(strategy="random", random_seed=3, subject_cap=None)
    assert first == order(strategy="random", random_seed=3, subject_cap=None)
    assert sorted(first) == sorted(row[0] for row in ROWS)
    seen = {tuple(order(strategy="random", random_seed=s, subject_cap=None)) for s in range(20)}
    assert len(seen) > 1


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown ranking strategy 'entropy'"):
        order(strategy="entropy")
    with pytest.raises(ValueError, match="subject_cap must be at least 1"):
        order(subject_cap=0)
    with pytest.raises(ValueError, match="diversity_weight must be >= 0"):
        order(strategy="diversity", diversity_weight=float("nan"))
    with pytest.raises(ValueError, match=r"listed twice.*a_low"):
        rank_for_labelling(candidates=candidates() + candidates()[:1])
    nan_row = [("bad", "A", float("nan"), 0.1, 0.1, 0.1)]
    with pytest.raises(ValueError, match="clip bad: its uncertainty score is nan"):
        rank_for_labelling(candidates=candidates(nan_row))


def test_novelty_is_the_distance_from_the_centre_over_the_largest():
    embeddings = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0], [1.0, 3.0]])
    # Centre (1, 0.75): distances 1.25, 1.25, 0.75, 2.25.
    np.testing.assert_allclose(novelty_scores(embeddings), [1.25 / 2.25, 1.25 / 2.25, 1 / 3, 1.0])
    np.testing.assert_array_equal(novelty_scores(np.ones((3, 4))), np.zeros(3))
    with pytest.raises(ValueError, match="non-empty"):
        novelty_scores(np.zeros((0, 4)))


def test_the_top_of_a_window_is_the_top_of_the_full_ranking():
    """The queue reads a window of the best-scored clips; what it shows must not depend on it."""
    rng = np.random.default_rng(0)
    # One subject holds most of the best clips, so the cap pushes many behind the window.
    pool = [
        RankingCandidate(
            clip_id=number,
            subject="crowded" if number % 4 else f"s{number % 7}",
            entropy=float(rng.random()) + (1.0 if number % 4 else 0.0),
            novelty=float(rng.random()),
        )
        for number in range(300)
    ]
    windows_read = []

    def fetch(window):
        windows_read.append(window)
        terms = score_terms(strategy="uncertainty", diversity_weight=0.5)
        by_score = sorted(pool, key=lambda c: -sum(w * getattr(c, f) for f, w in terms.items()))
        return by_score[:window]

    for limit in (1, 5, 20, 50):
        windows_read.clear()
        top = rank_top_for_labelling(fetch=fetch, limit=limit, subject_cap=3)
        assert top == rank_for_labelling(candidates=pool, subject_cap=3)[:limit], limit
    assert len(windows_read) > 1  # the crowded subject made the window grow
    with pytest.raises(ValueError, match="limit must be at least 1"):
        rank_top_for_labelling(fetch=fetch, limit=0)
