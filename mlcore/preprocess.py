"""Preprocess one clip: frames, aligned face crops and motion heat maps, for the platform.

The platform's worker serves this layout, so it is a contract:

```
out_dir/frames/{frame:06d}.jpg          every source frame (JPEG sources copied, others encoded)
out_dir/aligned/{size}/{frame:06d}.jpg  aligned face crop per size
out_dir/motion/{frame:06d}.jpg          heat map of the motion relative to the onset frame,
                                        over the aligned face at the smallest size
out_dir/meta.json                       written last: its presence means the run completed
```

``meta.json`` holds ``frame_indices`` (source numbers), ``fps`` (null for frame folders),
``width``, ``height``, ``detector`` (back end), ``box`` (x1, y1, x2, y2), ``score``,
``landmarks`` (5x2, image-left eye first), ``onset_frame``, ``sizes``, ``transforms``
(``{"112": 2x3, ...}``: source pixels -> crop pixels), ``motion_peak_frame`` (largest mean
motion), ``motion_scale`` (pixels of Farneback displacement drawn in the hottest colour) and
``source``.

The face is detected once, on the onset frame, and every frame is warped with the transforms
computed from it (see `mlcore.faces.align`). Motion is Farneback flow from the aligned onset
crop to each aligned crop: fast, and only shown to people; recognition inputs use TV-L1.
"""

import json
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mlcore.faces.align import align_face, alignment_transform
from mlcore.faces.detector import FaceDetection, FaceDetector, FaceNotFoundError
from mlcore.faces.factory import configured_detector
from mlcore.io import FrameFolderClip, open_clip
from mlcore.motion import farneback_flow, flow_magnitude, motion_heatmap
from mlcore.preprocess_layout import ALIGNED_DIR, FRAMES_DIR, META_NAME, MOTION_DIR, frame_name

Progress = Callable[[float, str], None]

JPEG_QUALITY = 90
_JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})
# The heat map colour scale ignores the top 1% of each frame's magnitudes: flow outliers at the
# crop border would otherwise wash out the whole clip.
_MOTION_SCALE_PERCENTILE = 99.0
# More threads than this stop paying off on one clip, and a worker host runs several clips.
_MAX_WORKERS = 8
# Share of the progress bar taken by the first pass (read, write, align, flow).
_FIRST_PASS_SHARE = 0.85


# eq=False: the fields hold numpy arrays, whose == is elementwise, not a truth value.
@dataclass(frozen=True, eq=False)
class PreprocessResult:
    out_dir: Path
    frame_indices: list[int]
    fps: float | None
    size: tuple[int, int]
    detection: FaceDetection
    onset_frame: int
    sizes: tuple[int, ...]
    transforms: dict[int, np.ndarray]
    motion_peak_frame: int
    motion_scale: float
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return len(self.frame_indices) / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True, eq=False)
class _FrameMotion:
    crop: np.ndarray
    magnitude: np.ndarray
    mean: float
    high: float


def preprocess_clip(
    *,
    source: Path,
    out_dir: Path,
    detector: FaceDetector | None = None,
    sizes: tuple[int, ...] = (112, 224),
    onset_frame: int | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> PreprocessResult:
    """Write the preprocessing layout (module docstring) for the clip at ``source``.

    The heat maps share one colour scale per clip, so the smallest crop and its motion of every
    frame stay in memory until the clip is read (about 60 KB per frame at 112 pixels).

    Args:
        source: a video file or a frame folder (`mlcore.io.open_clip`).
        out_dir: created if needed; a previous run's files there are replaced.
        detector: default `configured_detector()` (RetinaFace if $RETINAFACE_WEIGHTS is set,
            else Haar). When it finds several faces, the largest box is the subject.
        sizes: aligned crop sizes in pixels (square); motion uses the smallest.
        onset_frame: source frame number the face is detected on and motion is relative to;
            default the first frame.
        progress: called with (fraction 0..1, short message).
        workers: threads for encoding, warping and flow (OpenCV releases the GIL); default the
            CPUs this process may use, at most 8.
    """
    started = time.perf_counter()
    source, out_dir = Path(source), Path(out_dir)
    sizes = _check_sizes(sizes)
    report = progress or (lambda fraction, message: None)
    clip = open_clip(source)
    onset = clip.frame_indices[0] if onset_frame is None else onset_frame
    if onset not in clip.frame_indices:
        first, last = clip.frame_indices[0], clip.frame_indices[-1]
        raise ValueError(
            f"{source}: onset frame {onset} is not in the clip (frames {first}..{last})"
        )

    _prepare_out_dir(out_dir, sizes)
    report(0.0, f"detecting the face on frame {onset}")
    detector = detector or configured_detector()
    onset_image = clip.read(onset)
    detections = detector.detect(onset_image)
    if not detections:
        raise FaceNotFoundError(
            f"{source}: no face found on frame {onset} (detector: {detector.backend})"
        )
    face = max(detections, key=lambda detection: detection.area)
    transforms = {size: alignment_transform(face.landmarks, size) for size in sizes}
    motion_size = min(sizes)
    onset_gray = cv2.cvtColor(
        align_face(onset_image, transforms[motion_size], motion_size), cv2.COLOR_BGR2GRAY
    )

    def keep_frame(index: int, image: np.ndarray) -> None:
        # A JPEG source frame is copied byte for byte: the same pixels, without an encode.
        if isinstance(clip, FrameFolderClip) and clip.file(index).suffix.lower() in _JPEG_SUFFIXES:
            shutil.copyfile(clip.file(index), out_dir / FRAMES_DIR / frame_name(index))
        else:
            _write_jpeg(out_dir / FRAMES_DIR / frame_name(index), image)

    def process(index: int, image: np.ndarray) -> _FrameMotion:
        keep_frame(index, image)
        motion_crop = None
        for size in sizes:
            crop = align_face(image, transforms[size], size)
            _write_jpeg(out_dir / ALIGNED_DIR / str(size) / frame_name(index), crop)
            if size == motion_size:
                motion_crop = crop
        assert motion_crop is not None
        magnitude = flow_magnitude(
            farneback_flow(onset_gray, cv2.cvtColor(motion_crop, cv2.COLOR_BGR2GRAY))
        )
        return _FrameMotion(
            crop=motion_crop,
            magnitude=magnitude.astype(np.float16),
            mean=float(magnitude.mean()),
            high=_upper_percentile(magnitude),
        )

    total = len(clip.frame_indices)
    motions: dict[int, _FrameMotion] = {}
    workers = workers or min(_MAX_WORKERS, _usable_cpus())
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # A bounded queue keeps decoded frames from piling up in memory ahead of the workers.
        pending: deque[tuple[int, Future[_FrameMotion]]] = deque()

        def collect_oldest() -> None:
            index, future = pending.popleft()
            motions[index] = future.result()
            if len(motions) % 10 == 0 or len(motions) == total:
                report(_FIRST_PASS_SHARE * len(motions) / total, f"frame {len(motions)}/{total}")

        for index, image in clip.iter_frames():
            pending.append((index, pool.submit(process, index, image)))
            if len(pending) >= 2 * workers:
                collect_oldest()
        while pending:
            collect_oldest()

        report(_FIRST_PASS_SHARE, "drawing motion heat maps")
        motion_scale = max(motion.high for motion in motions.values())

        def draw(index: int) -> None:
            motion = motions[index]
            heatmap = motion_heatmap(
                motion.magnitude.astype(np.float32), background=motion.crop, scale=motion_scale
            )
            _write_jpeg(out_dir / MOTION_DIR / frame_name(index), heatmap)

        for future in [pool.submit(draw, index) for index in clip.frame_indices]:
            future.result()

    motion_peak = max(clip.frame_indices, key=lambda index: motions[index].mean)
    meta = {
        "source": str(source),
        "frame_indices": clip.frame_indices,
        "fps": clip.fps,
        "width": clip.size[0],
        "height": clip.size[1],
        **face.to_json(),
        "onset_frame": onset,
        "sizes": list(sizes),
        "transforms": {str(size): transforms[size].tolist() for size in sizes},
        "motion_peak_frame": motion_peak,
        "motion_scale": round(motion_scale, 4),
    }
    _write_json_atomically(out_dir / META_NAME, meta)
    report(1.0, "done")
    return PreprocessResult(
        out_dir=out_dir,
        frame_indices=clip.frame_indices,
        fps=clip.fps,
        size=clip.size,
        detection=face,
        onset_frame=onset,
        sizes=sizes,
        transforms=transforms,
        motion_peak_frame=motion_peak,
        motion_scale=motion_scale,
        seconds=time.perf_counter() - started,
    )


def _usable_cpus() -> int:
    # The affinity mask honours taskset and container CPU pinning; macOS lacks it.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _upper_percentile(magnitude: np.ndarray) -> float:
    # Every other row and column, and a partial sort: np.percentile on the whole crop costs more
    # than the flow's magnitude itself, and the sample changes the value little.
    sample = magnitude[::2, ::2].ravel()
    rank = min(sample.size - 1, int(_MOTION_SCALE_PERCENTILE / 100 * sample.size))
    return float(np.partition(sample, rank)[rank])


def _check_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    sizes = tuple(int(size) for size in sizes)
    if not sizes or any(size < 16 for size in sizes) or len(set(sizes)) != len(sizes):
        raise ValueError(f"crop sizes must be distinct integers of at least 16 pixels, got {sizes}")
    return sizes


def _prepare_out_dir(out_dir: Path, sizes: tuple[int, ...]) -> None:
    # meta.json goes first so that a run that fails from here on leaves no sign of completion.
    (out_dir / META_NAME).unlink(missing_ok=True)
    folders = [out_dir / FRAMES_DIR, out_dir / MOTION_DIR]
    folders += [out_dir / ALIGNED_DIR / str(size) for size in sizes]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        # Only our own numbered outputs are removed: a longer previous clip must not leave extra
        # frames behind, and nothing else in the folder is ours to delete.
        for stale in folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9]*.jpg"):
            stale.unlink()


def _write_jpeg(path: Path, image: np.ndarray) -> None:
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f"cannot write {path}")


def _write_json_atomically(path: Path, payload: dict[str, object]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=1))
    os.replace(temporary, path)
