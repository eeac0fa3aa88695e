"""Onset, apex and offset proposals: coders mark all three, so the proposer offers all three.

The clip's motion profile is the apex scorer's (`mlcore.training.apex`, each frame against the
clip's first frame, which is taken as neutral, 3-frame smoothed), less a linear ramp from what
the clip's first and last ``TAIL_FRAMES`` frames score: a clip ends neutral as it begins, so
what its end scores beyond its start is drift (head motion that registration leaves, light),
which would otherwise pull the apex late. The apex is the peak of what is left; the onset is
the last frame before the apex, and the offset the first after it, where the profile is at or
below ``floor + fraction * (peak - floor)``, the floor being the profile's 10th percentile
(what sensor noise alone scores). ``INTERVAL_FRACTION`` was chosen on realistic synthetic
clips of a seed that is not reported (`benchmarks/apex.py --tune-seed 100`): the lowest mean
onset + offset error among 0.05..0.5 (0.4: 125 ms; 0.3: 134; 0.5: 139; 0.2: 148). The
errors are in `docs/frl-dgt.md`: on whole clips the apex error is about twice what it is
inside a marked onset..offset.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore.composite import CompositeSample
from mlcore.training.apex import peak_confidence, propose_apex
from mlcore.training.checkpoints import LoadedModel
from mlcore.training.data import load_frames

INTERVAL_FRACTION = 0.4
TAIL_FRAMES = 4
# The noise floor: this percentile of the profile (most frames of a clip are not the ME).
FLOOR_PERCENTILE = 10


@dataclass(frozen=True, slots=True)
class IntervalProposal:
    onset: int  # onset <= apex <= offset: indices into the frames given (frame numbers from
    apex: int  # propose_clip_interval)
    offset: int
    confidence: float  # the apex's (0..1): how sharp and alone the peak is
    scores: np.ndarray  # (T,) the motion profile less its drift ramp, 0 at the first frame


def propose_interval(
    frames: Sequence[np.ndarray],
    *,
    method: str = "difference",
    model: LoadedModel | None = None,
    fraction: float = INTERVAL_FRACTION,
) -> IntervalProposal:
    """Propose onset, apex and offset among ``frames`` (uint8, gray or RGB), a whole clip whose
    first frame is neutral."""
    profile = propose_apex(frames, 0, method=method, model=model).scores
    return interval_from_profile(profile, fraction=fraction)


def interval_from_profile(profile: np.ndarray, *, fraction: float) -> IntervalProposal:
    """The interval of a motion profile (see the module doc); `propose_interval`'s second half,
    public so that a sweep over ``fraction`` scores each clip once."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction {fraction} must be inside 0..1 (a share of the peak)")
    scores = profile.astype(np.float64)
    count = len(scores)
    if count > 2 * TAIL_FRAMES + 1:
        # Frame 0 scores 0 against itself; its neighbours show the noise floor at the start.
        start = float(np.median(scores[1 : 1 + TAIL_FRAMES]))
        end = float(np.median(scores[-TAIL_FRAMES:]))
        scores = scores - np.linspace(start, end, count)
        scores[0] = min(0.0, float(scores[1:].min()))
    apex, confidence = peak_confidence(scores)
    peak = scores[apex]
    floor = float(np.percentile(scores[1:], FLOOR_PERCENTILE)) if count > 1 else 0.0
    level = floor + fraction * max(peak - floor, 0.0)
    below = scores <= level
    before = np.flatnonzero(below[:apex])
    after = np.flatnonzero(below[apex + 1 :])
    onset = int(before[-1]) if before.size else 0
    offset = apex + 1 + int(after[0]) if after.size else count - 1
    return IntervalProposal(
        onset=onset,
        apex=apex,
        offset=offset,
        confidence=confidence,
        scores=scores.astype(np.float32),
    )


def propose_clip_interval(
    root: Path,
    sample: CompositeSample,
    *,
    size: int = 112,
    method: str = "difference",
    model: LoadedModel | None = None,
) -> IntervalProposal:
    """Onset, apex and offset as frame numbers of a composite clip, from its crops
    ``sample.onset``..``sample.offset`` (for an unannotated clip: its first and last frame)."""
    numbers = list(range(sample.onset, sample.offset + 1))
    frames = load_frames(root, sample, numbers, size=size, channels=1)
    found = propose_interval(frames, method=method, model=model)
    return IntervalProposal(
        onset=numbers[found.onset],
        apex=numbers[found.apex],
        offset=numbers[found.offset],
        confidence=found.confidence,
        scores=found.scores,
    )
