"""Apex proposals for clips whose apex is unknown (FRL-DGT's future work; SMIC-HS has none).

Every frame is scored by how far the face has moved since the onset; the apex is the frame
with the highest (temporally smoothed) score. Two scorers:

- ``difference`` (default, training-free): mean of the largest 10% absolute differences
  between the blurred frame and the blurred onset. The top decile, because a micro-expression
  moves a small part of the face and a whole-face mean drowns it in sensor noise.
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
from mlcore.training.checkpoints import LoadedModel
from mlcore.training.data import load_frames

APEX_METHODS = ("difference", "dgm")


@dataclass(frozen=True, slots=True)
class ApexProposal:
    frame: int  # index into the frames given
    confidence: float  # 0..1
    scores: np.ndarray  # (T,) motion score per frame, 0 at the onset and before it


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return frame


def _difference_scores(frames: Sequence[np.ndarray], onset_index: int) -> np.ndarray:
    def prepare(frame: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(_gray(frame).astype(np.float32), (5, 5), 1.5)

    onset = prepare(frames[onset_index])
    scores = np.zeros(len(frames), dtype=np.float64)
    for index in range(onset_index + 1, len(frames)):
        difference = np.abs(prepare(frames[index]) - onset).ravel()
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
    else:
        scores = _difference_scores(frames, onset_index)
    if smoothing > 1:
        kernel = np.ones(smoothing) / smoothing
        padded = np.pad(scores, smoothing // 2, mode="edge")
        scores = np.convolve(padded, kernel, mode="valid")[: len(frames)]
        scores[: onset_index + 1] = 0.0  # the onset does not move against itself
    candidates = scores[onset_index:]
    peak = onset_index + int(np.argmax(candidates))
    spread = float(candidates.max() - candidates.min())
    unit = (candidates - candidates.min()) / spread if spread > 0 else np.zeros_like(candidates)
    weights = np.exp((unit - unit.max()) / temperature)
    weights /= weights.sum()
    near = np.abs(np.arange(onset_index, len(frames)) - peak) <= tolerance
    return ApexProposal(
        frame=peak,
        confidence=min(1.0, float(weights[near].sum())),
        scores=scores.astype(np.float32),
    )


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
