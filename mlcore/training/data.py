"""Model inputs from the composite layout, computed once per clip and cached as ``.npy``.

Every input is computed from the clip's aligned crops between onset and apex (see
`mlcore.composite`), resized to the input's ``frame_size``: pairs and dynamic images at the
model's size; flows at the spec's ``motion_size`` (default the model's size), then resized, so
that a model comparison states at which resolution each model saw the frames.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mlcore.composite import CompositeSample
from mlcore.models.base import InputSpec
from mlcore.motion import (
    dynamic_image,
    flow_magnitude,
    normalise_flow,
    optical_strain,
    remove_affine_motion,
    tvl1_flow,
)

# Cached inputs are invalidated when how they are computed changes: bump this then.
INPUT_VERSION = 2


class MissingFrameError(FileNotFoundError):
    pass


def load_frame(path: Path, *, size: int, channels: int) -> np.ndarray:
    """One aligned crop resized to size x size: uint8 (H, W) grayscale or (H, W, 3) RGB."""
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        raise MissingFrameError(f"cannot read frame {path}")
    if channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.shape[:2] != (size, size):
        interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interpolation)
    return image


def load_frames(
    root: Path, sample: CompositeSample, frames: Sequence[int], *, size: int, channels: int
) -> list[np.ndarray]:
    return [
        load_frame(sample.frame_path(root, frame), size=size, channels=channels) for frame in frames
    ]


def _resize_field(field: np.ndarray, size: int) -> np.ndarray:
    if field.shape[0] == size:
        return field
    return cv2.resize(field, (size, size), interpolation=cv2.INTER_AREA)


def _channels_first(image: np.ndarray) -> np.ndarray:
    return image[None] if image.ndim == 2 else np.transpose(image, (2, 0, 1))


def compute_input(*, root: Path, sample: CompositeSample, apex: int, spec: InputSpec) -> np.ndarray:
    """The (C, S, S) float32 input of ``spec.kind`` for one clip, onset -> ``apex``."""
    if spec.kind == "pair":
        onset, peak = load_frames(
            root, sample, [sample.onset, apex], size=spec.size, channels=spec.frame_channels
        )
        pair = np.concatenate([_channels_first(onset), _channels_first(peak)], 0)
        return pair.astype(np.float32) / 255.0

    if spec.kind == "dynamic_image":
        # Rank pooling needs two frames; an apex on the onset frame pools to a still image.
        last = max(apex, min(sample.onset + 1, sample.offset))
        frames = load_frames(
            root,
            sample,
            range(sample.onset, last + 1),
            size=spec.size,
            channels=spec.frame_channels,
        )
        if len(frames) == 1:
            frames = frames * 2
        pooled = dynamic_image([frame.astype(np.float32) / 255.0 for frame in frames])
        return _channels_first(pooled).astype(np.float32)

    motion_size = spec.frame_size
    onset, peak = load_frames(root, sample, [sample.onset, apex], size=motion_size, channels=1)
    flow = tvl1_flow(onset, peak)
    if spec.kind == "flow_norm":
        flow = normalise_flow(flow)
    if spec.kind == "flow_affine":
        flow = remove_affine_motion(flow)
    if spec.kind == "flow_strain":
        third = optical_strain(flow)
    # Resizing shrinks displacements by the same factor as the image.
    flow = _resize_field(flow, spec.size) * (spec.size / motion_size)
    third = _resize_field(third, spec.size) if spec.kind == "flow_strain" else flow_magnitude(flow)
    stacked = np.stack([flow[..., 0], flow[..., 1], third], 0)
    return stacked.astype(np.float32)


@dataclass(frozen=True, slots=True)
class InputCache:
    """``.npy`` files under ``directory``, keyed by input spec, clip and apex frame."""

    directory: Path

    def path(self, sample: CompositeSample, apex: int, spec: InputSpec) -> Path:
        folder = (
            f"v{INPUT_VERSION}_{spec.kind}_{spec.size}_from{spec.frame_size}_c{spec.frame_channels}"
        )
        name = f"{sample.clip}_{sample.onset}_{apex}.npy"
        return self.directory / folder / sample.dataset / sample.subject / name

    def load(
        self, *, root: Path, sample: CompositeSample, apex: int, spec: InputSpec
    ) -> np.ndarray:
        path = self.path(sample, apex, spec)
        if path.is_file():
            return np.load(path)
        array = compute_input(root=root, sample=sample, apex=apex, spec=spec)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp.npy")
        np.save(temporary, array)
        temporary.replace(path)
        return array


def load_inputs(
    *,
    root: Path,
    samples: Sequence[CompositeSample],
    apexes: Sequence[int],
    spec: InputSpec,
    cache: InputCache,
    progress: Callable[[float, str], None] | None = None,
) -> np.ndarray:
    """Inputs of every clip stacked as (N, C, S, S) float32."""
    arrays = []
    for number, (sample, apex) in enumerate(zip(samples, apexes, strict=True), start=1):
        array = cache.load(root=root, sample=sample, apex=apex, spec=spec)
        expected = (spec.channels, spec.size, spec.size)
        assert array.shape == expected, f"{sample.clip}: input {array.shape}, expected {expected}"
        arrays.append(array)
        if progress is not None:
            progress(number / len(samples), f"{spec.kind} inputs {number}/{len(samples)}")
    return np.stack(arrays).astype(np.float32, copy=False)


@dataclass(frozen=True, slots=True)
class Normaliser:
    """Per-channel standardisation with statistics of the training clips only."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, inputs: np.ndarray, spec: InputSpec) -> "Normaliser":
        assert inputs.ndim == 4 and inputs.shape[1] == spec.channels, inputs.shape
        if spec.kind == "pair":
            # Onset and apex share statistics, so the DGM's warp compares like with like.
            frames = inputs.reshape(inputs.shape[0], 2, spec.frame_channels, *inputs.shape[2:])
            mean = frames.mean(axis=(0, 1, 3, 4))
            std = frames.std(axis=(0, 1, 3, 4))
            mean, std = np.tile(mean, 2), np.tile(std, 2)
        else:
            mean = inputs.mean(axis=(0, 2, 3))
            std = inputs.std(axis=(0, 2, 3))
        std = np.maximum(std, 1e-6)
        return cls(mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std))

    def apply(self, inputs: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.mean, dtype=np.float32)[None, :, None, None]
        std = np.asarray(self.std, dtype=np.float32)[None, :, None, None]
        return (inputs - mean) / std
