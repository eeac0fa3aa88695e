"""Tiny composite folders whose classes differ by where and which way a blob moves.

Class 0 (negative): a blob between the brows moves down (brows lowered); class 1 (positive):
blobs at the mouth corners move up and out; class 2 (surprise): blobs above the eyes move up.
The blob moves from the onset to the apex and back by the offset, over a smooth texture that
differs per subject, so a model must look at motion, not appearance.
"""

from pathlib import Path

import cv2
import numpy as np

from mlcore.composite import CompositeSample, write_folds, write_manifest

# (x, y, dx, dy) per blob, as fractions of the crop (positions follow the ArcFace template).
CLASS_MOTIONS = {
    0: [(0.50, 0.32, 0.0, 0.06)],
    1: [(0.37, 0.82, -0.05, -0.05), (0.63, 0.82, 0.05, -0.05)],
    2: [(0.34, 0.30, 0.0, -0.07), (0.66, 0.30, 0.0, -0.07)],
}


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    noise = rng.normal(0.0, 1.0, (size, size)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), size / 16)
    smooth = (smooth - smooth.min()) / (np.ptp(smooth) + 1e-6)
    return 80.0 + 60.0 * smooth


def _frame(base: np.ndarray, label: int, progress: float, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    image = base.copy()
    sigma = size * 0.06
    for x, y, dx, dy in CLASS_MOTIONS[label]:
        cx, cy = (x + dx * progress) * size, (y + dy * progress) * size
        image += 90.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return np.clip(image, 0, 255).astype(np.uint8)


def make_blob_composite(
    root: Path,
    *,
    subjects: dict[str, int] | None = None,
    clips_per_class: int = 2,
    size: int = 32,
    frames: int = 5,
    fps: float = 200.0,
    unknown_apex_clips: int = 0,
    seed: int = 0,
) -> list[CompositeSample]:
    """Write ``root/manifest.csv`` + crops; ``subjects`` maps dataset -> number of subjects."""
    subjects = subjects or {"casme2": 2, "samm": 1}
    rng = np.random.default_rng(seed)
    samples = []
    for dataset, count in subjects.items():
        for number in range(1, count + 1):
            subject = f"s{number:02d}"
            base = _texture(rng, size)
            for label in CLASS_MOTIONS:
                for repeat in range(clips_per_class):
                    clip = f"{subject}_c{label}_{repeat}"
                    onset = 10 + int(rng.integers(0, 5))
                    apex = onset + int(rng.integers(1, frames - 1))
                    offset = onset + frames - 1
                    frames_dir = f"{dataset}/{subject}/{clip}"
                    folder = root / frames_dir
                    folder.mkdir(parents=True, exist_ok=True)
                    for frame in range(onset, offset + 1):
                        if frame <= apex:
                            progress = (frame - onset) / (apex - onset)
                        else:
                            progress = (offset - frame) / (offset - apex + 1)
                        noisy = _frame(base, label, progress, size).astype(np.int16)
                        noisy += rng.integers(-2, 3, noisy.shape, dtype=np.int16)
                        image = np.clip(noisy, 0, 255).astype(np.uint8)
                        cv2.imwrite(str(folder / f"{frame:06d}.png"), image)
                    samples.append(
                        CompositeSample(
                            dataset=dataset,
                            subject=subject,
                            clip=clip,
                            label=label,
                            emotion=["negative", "positive", "surprise"][label],
                            onset=onset,
                            apex=apex,
                            offset=offset,
                            aus="",
                            fps=fps,
                            frames_dir=frames_dir,
                        )
                    )
    for index in range(unknown_apex_clips):
        sample = samples[index]
        samples[index] = CompositeSample(**{**_fields(sample), "apex": None})
    write_manifest(root, samples)
    write_folds(root, samples)
    return samples


def _fields(sample: CompositeSample) -> dict[str, object]:
    return {name: getattr(sample, name) for name in CompositeSample.__slots__}


TINY_FRL_DGT = {
    "image_size": 32,
    "embed_dim": 16,
    "num_heads": 2,
    "dgm_width": 4,
    "head_hidden": 16,
    "patch_stride": 4,
    "region_tokens": 2,
    # The full warm-up (300 steps) is measured in test_training; runs that only check plumbing
    # need few steps.
    "ssl_warmup_steps": 20,
}
