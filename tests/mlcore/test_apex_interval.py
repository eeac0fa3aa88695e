"""Onset, apex and offset proposals on synthetic clips whose marks are known."""

import cv2
import numpy as np
import pytest

from mlcore.facs import AUCode
from mlcore.synth.alignment import align_identity
from mlcore.synth.expressions import ClipRenderer, Distractors, Timing
from mlcore.synth.faces import make_identity
from mlcore.training.interval import propose_interval


@pytest.fixture(autouse=True)
def one_opencv_thread():
    # Results must not depend on how many threads another test left OpenCV with.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    yield
    cv2.setNumThreads(threads)


def marked_clip(seed: int, timing: Timing) -> list[np.ndarray]:
    """Aligned grey crops of a synthetic AU 4 + 7 clip with sensor noise and flicker."""
    rng = np.random.default_rng([seed, 4])
    identity = make_identity(index=seed, seed=seed, size=(640, 480))
    alignment = align_identity(
        identity=identity,
        crop_size=112,
        landmark_error=rng.standard_normal((5, 2)),
        landmark_noise=0.02,
    )
    t = np.arange(timing.frames) / 200.0
    distractors = Distractors(
        blink_start=None,
        blink_frames=0,
        jitter=np.zeros((timing.frames, 2), np.float32),
        gain=(1 + 0.01 * np.sin(2 * np.pi * 7 * t)).astype(np.float32),
        noise_sigma=1.5,
    )
    renderer = ClipRenderer(
        identity=identity,
        aus=[AUCode(4, intensity="C"), AUCode(7, intensity="C")],
        amplitude=3.0,
        timing=timing,
        distractors=distractors,
        noise_seed=np.random.SeedSequence([seed, 47]),
        region=alignment.region,
    )
    return [
        alignment.warp(cv2.cvtColor(renderer.render(i), cv2.COLOR_BGR2GRAY))
        for i in range(timing.frames)
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_interval_proposer_finds_onset_apex_and_offset(seed):
    timing = Timing(frames=40, onset=8, apex=18, offset=30)
    found = propose_interval(marked_clip(seed, timing))
    assert found.onset < found.apex < found.offset
    # Measured on seeds 0-4: the apex exact; onset 4-6 frames late and offset 5-6 early, as a
    # 40% crossing of a raised-cosine rise (10 frames) and fall (12) must be. Bounds: margin.
    assert abs(found.apex - timing.apex) <= 2
    assert 0 <= found.onset - timing.onset <= 8
    assert 0 <= timing.offset - found.offset <= 8
    assert 0 < found.confidence <= 1 and found.scores.shape == (40,)


def test_a_bad_fraction_is_refused():
    frames = [np.zeros((112, 112), np.uint8)] * 8
    with pytest.raises(ValueError, match=r"fraction 1\.5 must be inside 0\.\.1"):
        propose_interval(frames, fraction=1.5)
