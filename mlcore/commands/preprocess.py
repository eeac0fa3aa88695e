"""`python -m mlcore preprocess`: frames, aligned crops and motion heat maps for clips."""

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from mlcore.faces.detector import RETINAFACE_WEIGHTS_ENV, FaceDetector
from mlcore.faces.factory import configured_detector, create_detector
from mlcore.frame_files import VIDEO_SUFFIXES, find_clips, is_frame_folder
from mlcore.preprocess import preprocess_clip

NAME = "preprocess"
HELP = (
    "Write frames, aligned face crops and motion heat maps of a clip (video or frame folder), "
    "or of every clip under a folder (into OUT/<relative path>)."
)

# Progress arrives as a fraction of the clip, so the bar shows percent and elapsed time.
_BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {elapsed} {postfix}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=Path, help="video file, frame folder, or folder of clips")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--retinaface-weights",
        type=Path,
        default=None,
        help=f"RetinaFace ResNet-50 state dict (default ${RETINAFACE_WEIGHTS_ENV}; Haar if unset)",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[112, 224], help="aligned crop sizes in pixels"
    )
    parser.add_argument(
        "--onset", type=int, default=None, help="onset frame number (default: the first frame)"
    )


def run(args: argparse.Namespace) -> int:
    source: Path = args.source
    if not source.exists():
        raise FileNotFoundError(f"clip not found: {source}")
    jobs = _jobs(source, args.out)
    if args.onset is not None and len(jobs) > 1:
        raise ValueError(f"--onset applies to one clip, but {source} holds {len(jobs)}")
    detector: FaceDetector = (
        configured_detector()
        if args.retinaface_weights is None
        else create_detector(retinaface_weights=args.retinaface_weights)
    )
    failures = 0
    for clip, out_dir in jobs:
        name = clip.name if len(jobs) == 1 else str(clip.relative_to(source))
        with tqdm(total=100, desc=name, leave=False, bar_format=_BAR_FORMAT) as bar:

            def show(fraction: float, message: str, bar: tqdm = bar) -> None:
                bar.n = round(100 * fraction)
                bar.set_postfix_str(message, refresh=True)

            try:
                result = preprocess_clip(
                    source=clip,
                    out_dir=out_dir,
                    detector=detector,
                    sizes=tuple(args.sizes),
                    onset_frame=args.onset,
                    progress=show,
                )
            except (FileNotFoundError, ValueError) as error:
                if len(jobs) == 1:
                    raise
                failures += 1
                tqdm.write(f"{name}: FAILED: {error}", file=sys.stderr)
                continue
        print(
            f"{name}: {len(result.frame_indices)} frames in {result.seconds:.2f} s "
            f"({result.frames_per_second:.0f} frames/s), face by {result.detection.backend}, "
            f"motion peak at frame {result.motion_peak_frame} -> {out_dir}"
        )
    if failures:
        print(f"{failures} of {len(jobs)} clips failed", file=sys.stderr)
        return 1
    return 0


def _jobs(source: Path, out: Path) -> list[tuple[Path, Path]]:
    if source.is_file() or is_frame_folder(source):
        return [(source, out)]
    clips = find_clips(source)
    if not clips:
        raise ValueError(f"{source}: no videos or frame folders found")
    jobs: dict[Path, Path] = {}
    for clip in clips:
        relative = clip.relative_to(source)
        if clip.suffix.lower() in VIDEO_SUFFIXES:
            relative = relative.with_suffix("")
        target = out / relative
        if target in jobs:
            raise ValueError(f"{jobs[target]} and {clip} would both be written to {target}")
        jobs[target] = clip
    return [(clip, target) for target, clip in jobs.items()]
