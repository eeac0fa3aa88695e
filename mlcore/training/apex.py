"""Apex proposals for clips whose apex is unknown (FRL-DGT's future work; SMIC-HS has none).

Every frame is scored by how far the face has moved since the onset; the apex is the frame
with the highest (temporally smoothed) score. Three scorers:

- ``difference`` (default, training-free): each frame is first registered onto the onset (an
  affine fitted by RANSAC to the dense flow, see `register_affine`: the head moves the whole
  crop, an ME a small part of it), its brightness is matched to the onset's (a plane fitted to
  the frame/onset ratio: flicker and shading are smooth over the face, an ME is not), and the
  eye regions of the aligned crop are masked (a blink is the largest change in most clips but
  carries no label). The score is the mean of the largest 10% absolute differences between the
  blurred frame and the blurred onset in what is left: the top decile, because a
  micro-expression moves a small part of the face and a whole-face mean drowns it in noise.
- ``plain``: the same top-decile difference without registration, brightness matching or eye
  mask; the scorer before issue #13, kept as the baseline `benchmarks/apex.py` compares with.
- ``dgm``: mean displacement magnitude of a trained FRL-DGT's DGM between onset and frame.

The confidence is the probability mass within ``tolerance`` frames of the peak under a softmax
of the range-normalised scores: near 1 for one sharp peak, low for a flat or multi-peaked
profile, (2 tolerance + 1) / T for a motionless clip.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from mlcore.composite import CompositeSample, read_manifest
from mlcore.faces.align import template_landmarks
from mlcore.training.checkpoints import LoadedModel
from mlcore.training.data import load_frames

APEX_METHODS = ("difference", "plain", "dgm")
# Half width and half height of the masked ellipse around each template eye, in pixels of the
# 112 px crop. Measured: the lids of 60 synthetic identities (at 640x480 and 2040x1088) change
# the aligned crop within 10-12 px of the eye centre sideways and 5-7 px up or down; the
# margin covers a detector error of ~1 px and the head motion that registration leaves.
EYE_HALF_SIZE_112 = (14.0, 9.0)
# Head motion: Farneback flow from the onset to the frame (pyramid 0.5 x 3, window 15 px),
# sampled every REGISTRATION_STEP px of the 112 px crop outside the eyes, fitted with an affine
# by RANSAC: vectors further than REGISTRATION_INLIER_PX from the fit (the ME's) are outliers.
REGISTRATION_STEP = 3
REGISTRATION_INLIER_PX = 0.2
# Pixels darker than this in the onset (the crop border outside the camera frame) do not
# count when the light is matched.
LIGHT_MIN_GREY = 10.0


@dataclass(frozen=True, slots=True)
class ApexProposal:
    frame: int  # index into the frames given
    confidence: float  # 0..1
    scores: np.ndarray  # (T,) motion score per frame, 0 at the onset and before it


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return frame


def eye_mask(height: int, width: int) -> np.ndarray:
    """(height, width) bool, True outside the two eye ellipses of an aligned face crop."""
    scale_x, scale_y = width / 112.0, height / 112.0
    eyes = template_landmarks(112)[:2] * (scale_x, scale_y)
    half_x, half_y = EYE_HALF_SIZE_112[0] * scale_x, EYE_HALF_SIZE_112[1] * scale_y
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    inside = np.zeros((height, width), bool)
    for ex, ey in eyes:
        inside |= ((xs - ex) / half_x) ** 2 + ((ys - ey) / half_y) ** 2 <= 1.0
    return ~inside


def _plain_difference_scores(frames: Sequence[np.ndarray], onset_index: int) -> np.ndarray:
    def prepare(frame: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(_gray(frame).astype(np.float32), (5, 5), 1.5)

    onset = prepare(frames[onset_index])
    scores = np.zeros(len(frames), dtype=np.float64)
    for index in range(onset_index + 1, len(frames)):
        difference = np.abs(prepare(frames[index]) - onset).ravel()
        top = max(1, difference.size // 10)
        scores[index] = np.partition(difference, -top)[-top:].mean()
    return scores


def register_affine(
    reference: np.ndarray, frame: np.ndarray, *, mask: np.ndarray | None = None
) -> np.ndarray:
    """The head motion between two aligned crops: the 2x3 affine W with frame(W [x, y, 1]) ~
    reference(x, y), robust to the expression. Dense flow is fitted by RANSAC rather than the
    images by ECC: the head moves every pixel, an ME a few, so the ME's vectors are outliers
    of the fit, while ECC, which weighs every pixel, absorbs part of the ME (on synthetic clips
    with AU motion only, an ECC fit raised the apex error from 0.1 to 1.7 frames; with this
    fit it stays at 0.1). ``mask`` (True: use) leaves regions out; the identity when too few
    vectors agree."""
    height, width = reference.shape
    use = np.ones((height, width), bool) if mask is None else mask
    # The flow assumes constant brightness: match the frame's mean first (flicker).
    reference = reference.astype(np.float32)
    frame = frame.astype(np.float32)
    frame = frame * (reference[use].mean() / max(float(frame[use].mean()), 1e-3))
    flow = cv2.calcOpticalFlowFarneback(
        np.clip(reference, 0, 255).astype(np.uint8),
        np.clip(frame, 0, 255).astype(np.uint8),
        None,
        0.5,
        3,
        15,
        3,
        5,
        1.2,
        0,
    )
    step = max(1, round(REGISTRATION_STEP * min(height, width) / 112))
    ys, xs = np.mgrid[step // 2 : height : step, step // 2 : width : step]
    chosen = use[ys, xs]
    ys, xs = ys[chosen], xs[chosen]
    if len(xs) < 6:
        return np.eye(2, 3)
    source = np.stack([xs, ys], 1).astype(np.float32)
    target = source + flow[ys, xs]
    inlier_px = REGISTRATION_INLIER_PX * min(height, width) / 112
    warp, _ = cv2.estimateAffine2D(
        source,
        target,
        method=cv2.RANSAC,
        ransacReprojThreshold=inlier_px,
        maxIters=500,
        confidence=0.99,
    )
    return np.eye(2, 3) if warp is None else warp


def _difference_scores(frames: Sequence[np.ndarray], onset_index: int) -> np.ndarray:
    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (5, 5), 1.5)

    onset = _gray(frames[onset_index]).astype(np.float32)
    height, width = onset.shape
    keep = eye_mask(height, width)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    plane = np.stack([np.ones_like(xs), xs / width - 0.5, ys / height - 0.5], -1)
    lit = keep & (onset > LIGHT_MIN_GREY)  # the black crop border has no light to match
    reference = blur(onset)
    scores = np.zeros(len(frames), dtype=np.float64)
    for index in range(onset_index + 1, len(frames)):
        frame = _gray(frames[index]).astype(np.float32)
        warp = register_affine(onset, frame, mask=keep)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        # Replicated, not black, borders: a black margin would bleed through the blur into a
        # ring of large differences that grows with the head motion.
        registered = cv2.warpAffine(
            frame, warp, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
        )
        # Light: the frame/onset brightness ratio as a plane over the face (flicker is its
        # constant, a shading change its slope); least squares, so a local ME barely moves it.
        ratio = registered[lit] / onset[lit]
        coefficients, *_ = np.linalg.lstsq(plane[lit], ratio, rcond=None)
        gain = plane @ coefficients.astype(np.float32)
        difference = np.abs(blur(registered / np.maximum(gain, 0.5)) - reference)[keep]
        top = max(1, difference.size // 10)
        scores[index] = np.partition(difference, -top)[-top:].mean()
    return scores


def _dgm_scores(frames: Sequence[np.ndarray], onset_index: int, model: LoadedModel) -> np.ndarray:
    spec = model.input_spec
    if spec.kind != "pair" or not hasattr(model.model, "displacement"):
        raise ValueError(
            f"apex method 'dgm' needs an FRL-DGT model with a DGM, not {model.model_name}"
        )

    def prepare(frame: np.ndarray) -> np.ndarray:
        frame = cv2.resize(frame, (spec.size, spec.size), interpolation=cv2.INTER_AREA)
        if spec.frame_channels == 1:
            frame = _gray(frame)[..., None]
        elif frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=2)
        return np.transpose(frame, (2, 0, 1)).astype(np.float32) / 255.0

    onset = prepare(frames[onset_index])
    scores = np.zeros(len(frames), dtype=np.float64)
    later = list(range(onset_index + 1, len(frames)))
    if not later:
        return scores
    pairs = np.stack([np.concatenate([onset, prepare(frames[i])], 0) for i in later])
    model.model.eval()
    with torch.no_grad():
        displacement = model.model.displacement(model.to_batch(pairs))
        magnitude = torch.linalg.vector_norm(displacement.float(), dim=1).mean((1, 2))
    scores[later] = magnitude.cpu().numpy()
    return scores


def propose_apex(
    frames: Sequence[np.ndarray],
    onset_index: int = 0,
    *,
    method: str = "difference",
    model: LoadedModel | None = None,
    smoothing: int = 3,
    tolerance: int = 2,
    temperature: float = 0.1,
) -> ApexProposal:
    """Propose the apex among ``frames`` (uint8, gray or RGB) at or after ``onset_index``."""
    if not frames:
        raise ValueError("no frames to propose an apex from")
    if not 0 <= onset_index < len(frames):
        raise ValueError(f"onset_index {onset_index} outside the {len(frames)} frames given")
    if method not in APEX_METHODS:
        raise ValueError(f"unknown apex method {method!r}; expected one of {APEX_METHODS}")
    if method == "dgm":
        if model is None:
            raise ValueError("apex method 'dgm' needs a trained model (load_model(...))")
        scores = _dgm_scores(frames, onset_index, model)
    elif method == "plain":
        scores = _plain_difference_scores(frames, onset_index)
    else:
        scores = _difference_scores(frames, onset_index)
    if smoothing > 1:
        kernel = np.ones(smoothing) / smoothing
        padded = np.pad(scores, smoothing // 2, mode="edge")
        scores = np.convolve(padded, kernel, mode="valid")[: len(frames)]
        scores[: onset_index + 1] = 0.0  # the onset does not move against itself
    peak, confidence = peak_confidence(
        scores, onset_index, tolerance=tolerance, temperature=temperature
    )
    return ApexProposal(frame=peak, confidence=confidence, scores=scores.astype(np.float32))


def peak_confidence(
    scores: np.ndarray, onset_index: int = 0, *, tolerance: int = 2, temperature: float = 0.1
) -> tuple[int, float]:
    """The peak of ``scores`` at or after ``onset_index`` and its confidence (module doc)."""
    candidates = scores[onset_index:]
    peak = onset_index + int(np.argmax(candidates))
    spread = float(candidates.max() - candidates.min())
    unit = (candidates - candidates.min()) / spread if spread > 0 else np.zeros_like(candidates)
    weights = np.exp((unit - unit.max()) / temperature)
    weights /= weights.sum()
    near = np.abs(np.arange(onset_index, len(scores)) - peak) <= tolerance
    return peak, min(1.0, float(weights[near].sum()))


def propose_clip_apex(
    root: Path,
    sample: CompositeSample,
    *,
    size: int = 112,
    method: str = "difference",
    model: LoadedModel | None = None,
) -> tuple[int, float]:
    """(apex frame number, confidence) for a composite clip, from its crops onset..offset."""
    numbers = list(range(sample.onset, sample.offset + 1))
    frames = load_frames(root, sample, numbers, size=size, channels=1)
    proposal = propose_apex(frames, 0, method=method, model=model)
    return numbers[proposal.frame], proposal.confidence


@dataclass(frozen=True, slots=True)
class ApexEvaluation:
    n_clips: int
    mean_abs_error_frames: float
    mean_abs_error_ms: float
    clips: list[dict[str, object]]

    def summary(self) -> dict[str, float | int]:
        return {
            "n_clips": self.n_clips,
            "mean_abs_error_frames": self.mean_abs_error_frames,
            "mean_abs_error_ms": self.mean_abs_error_ms,
        }


def evaluate_apex(
    data_dir: Path,
    *,
    method: str = "difference",
    model: LoadedModel | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ApexEvaluation:
    """Mean absolute apex error over the clips whose apex the manifest knows (ms from fps)."""
    root = Path(data_dir)
    known = [sample for sample in read_manifest(root) if sample.apex is not None]
    if not known:
        raise ValueError(f"{root}: no clip with a known apex to evaluate against")
    rows = []
    for number, sample in enumerate(known, start=1):
        frame, confidence = propose_clip_apex(root, sample, method=method, model=model)
        error = abs(frame - sample.apex)
        rows.append(
            {
                "clip": f"{sample.dataset}/{sample.clip}",
                "apex": sample.apex,
                "proposed": frame,
                "confidence": confidence,
                "error_frames": error,
                "error_ms": 1000.0 * error / sample.fps,
            }
        )
        if progress is not None:
            progress(number / len(known), f"apex {number}/{len(known)}")
    return ApexEvaluation(
        n_clips=len(rows),
        mean_abs_error_frames=float(np.mean([row["error_frames"] for row in rows])),
        mean_abs_error_ms=float(np.mean([row["error_ms"] for row in rows])),
        clips=rows,
    )
