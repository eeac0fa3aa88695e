"""Apex proposals for clips whose apex is unknown (FRL-DGT's future work; SMIC-HS has none).

Every frame is scored by how far the face has moved since the onset; the apex is the frame
with the highest (temporally smoothed) score. Three scorers:

- ``difference`` (default, training-free): each frame is first registered onto the onset (an
  affine ECC fit on a half-size copy, on the face's sides and forehead only, see
  `rigid_mask`: the head moves the whole crop, an ME moves its centre),
  its brightness is matched to the onset's (the ratio of heavily blurred copies: flicker and
  shading are smooth over the face, an ME is not), and the eye regions of the aligned crop
  are masked (a blink is the largest change in most clips but carries no label). The score is
  the mean of the largest 10% absolute differences between the blurred frame and the blurred
  onset in what is left: the top decile, because a micro-expression moves a small part of the
  face and a whole-face mean drowns it in sensor noise.
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
# ECC registration: the affine warp is fitted on a copy this many times smaller (faster, and
# the sensor noise averages out), stopping after 50 iterations or a correlation gain < 1e-5.
REGISTRATION_DOWNSCALE = 2
# The registration region of the 112 px crop (see `rigid_mask`): columns further than this from
# the centre, rows above the forehead line, and nothing below the chin line.
RIGID_SIDE_112, RIGID_FOREHEAD_112, RIGID_CHIN_112 = 34.0, 30.0, 100.0
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5)
# Brightness is matched on Gaussian-blurred copies with this sigma, as a fraction of the crop
# side (14 px at 112): far wider than any AU's motion, narrower than the shading gradient.
ILLUMINATION_SIGMA = 1 / 8


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


def rigid_mask(height: int, width: int) -> np.ndarray:
    """(height, width) bool, True where an aligned face crop moves only with the head.

    The AUs move brows, lids, cheeks, nose and mouth, all inside the central columns and
    below the forehead; fitted there, an affine warp absorbs part of the expression (on
    synthetic clips without head motion it raised the apex error from 0.1 to 1.7 frames). The
    face's sides and the forehead move rigidly; the chin is left out too (jaw motion)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    sides = np.abs(xs - (width - 1) / 2) > RIGID_SIDE_112 * width / 112.0
    forehead = ys < RIGID_FOREHEAD_112 * height / 112.0
    return (sides | forehead) & (ys < RIGID_CHIN_112 * height / 112.0)


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
    reference: np.ndarray,
    frame: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """The 2x3 affine warp W with frame(W [x, y, 1]) ~ reference(x, y), fitted by ECC on copies
    ``REGISTRATION_DOWNSCALE`` times smaller from ``initial`` (default: the identity); ``mask``
    (True: use) leaves regions out. The identity when ECC does not converge, or when its warp
    matches the reference worse than no warp inside ``mask``: on a crop whose rigid parts are
    flat background ECC can wander off, and a wrong warp is worse than none."""
    factor = REGISTRATION_DOWNSCALE
    height, width = reference.shape
    reference, frame = reference.astype(np.float32), frame.astype(np.float32)
    small = (max(8, width // factor), max(8, height // factor))
    sx, sy = width / small[0], height / small[1]

    def shrink(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, small, interpolation=cv2.INTER_AREA)

    # Small pixel centre u maps to full pixel centre s (u + 0.5) - 0.5 on each axis.
    to_full = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
    to_small = np.linalg.inv(to_full)
    warp = np.eye(2, 3, dtype=np.float32)
    if initial is not None:
        warp = (to_small @ np.vstack([initial, [0, 0, 1]]) @ to_full)[:2].astype(np.float32)
    use = np.ones((height, width), bool) if mask is None else mask
    small_mask = (shrink(use.astype(np.float32)) > 0.99).astype(np.uint8)
    try:
        _, warp = cv2.findTransformECC(
            shrink(reference), shrink(frame), warp, cv2.MOTION_AFFINE, _ECC_CRITERIA, small_mask, 3
        )
    except cv2.error:
        return np.eye(2, 3)
    fitted = (to_full @ np.vstack([warp, [0, 0, 1]]) @ to_small)[:2]

    def mismatch(candidate: np.ndarray) -> float:
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        moved = cv2.warpAffine(frame, candidate, (width, height), flags=flags)
        inside = cv2.warpAffine(np.ones_like(frame), candidate, (width, height), flags=flags)
        region = use & (inside > 0.999)
        return float(np.abs(moved - reference)[region].mean()) if region.any() else np.inf

    return fitted if mismatch(fitted) < mismatch(np.eye(2, 3)) else np.eye(2, 3)


def _difference_scores(frames: Sequence[np.ndarray], onset_index: int) -> np.ndarray:
    def blur(image: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(image, (5, 5), 1.5)

    onset = _gray(frames[onset_index]).astype(np.float32)
    height, width = onset.shape
    keep = eye_mask(height, width)
    rigid = keep & rigid_mask(height, width)
    sigma = ILLUMINATION_SIGMA * min(height, width)

    def low_pass(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
        # Normalised convolution: pixels the warp brought in from outside do not count, nor
        # do the eyes (closed lids would change the light measured on the brows and nose).
        smooth = cv2.GaussianBlur(image * weight, (0, 0), sigma)
        return smooth / np.maximum(cv2.GaussianBlur(weight, (0, 0), sigma), 1e-3)

    ones = np.ones_like(onset)
    onset_light = low_pass(onset, keep.astype(np.float32))
    reference = blur(onset)
    scores = np.zeros(len(frames), dtype=np.float64)
    warp = None
    for index in range(onset_index + 1, len(frames)):
        frame = _gray(frames[index]).astype(np.float32)
        # Each fit starts from the previous frame's: head motion is smooth in time.
        warp = register_affine(onset, frame, mask=rigid, initial=warp)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        registered = cv2.warpAffine(frame, warp, (width, height), flags=flags)
        valid = cv2.warpAffine(ones, warp, (width, height), flags=flags) > 0.999
        weight = (valid & keep).astype(np.float32)
        # The dark crop border outside the camera frame has no light to match.
        gain = onset_light / np.maximum(low_pass(registered, weight), 1.0)
        difference = np.abs(blur(registered * gain) - reference)[keep & valid]
        if difference.size == 0:
            continue
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
