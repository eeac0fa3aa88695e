"""`python -m mlcore synth`: write synthetic micro-expression clips in a dataset layout."""

import argparse
from pathlib import Path

from tqdm import tqdm

from mlcore.synth import LAYOUTS, PRESETS, REALISM_PRESETS, generate
from mlcore.synth.layouts import COMPOSITE_DATASETS

NAME = "synth"
HELP = "generate synthetic micro-expression clips (CASME II, SAMM, SMIC-HS or composite layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output folder (new or empty)")
    parser.add_argument("--layout", choices=LAYOUTS, required=True)
    parser.add_argument("--subjects", type=int, default=30, help="subjects (identities)")
    parser.add_argument("--clips-per-subject", type=int, default=2)
    parser.add_argument(
        "--fps", type=int, default=None, help="frame rate (default per dataset: 200, SMIC-HS 100)"
    )
    parser.add_argument("--frames", type=int, default=60, help="frames per clip")
    parser.add_argument(
        "--amplitude",
        type=float,
        default=3.0,
        help="apex displacement in pixels of an intensity-C AU on a 640x480 frame",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--size", type=int, nargs=2, default=(640, 480), metavar=("WIDTH", "HEIGHT")
    )
    parser.add_argument("--crop-size", type=int, default=112, help="composite crop side")
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=COMPOSITE_DATASETS,
        default=None,
        help="composite parts (default: one generic 'synth' dataset; with --preset all three)",
    )
    parser.add_argument(
        "--preset",
        choices=(*PRESETS, "realistic"),
        default=None,
        help="composite: MEGC2019 counts (442 clips, 68 subjects), overrides --subjects; "
        "realistic: the same counts with --realism realistic",
    )
    parser.add_argument(
        "--realism",
        choices=REALISM_PRESETS,
        default=None,
        help="clean (default: the original generator) or realistic (small per-subject AU "
        "motion, label noise, wrinkles, head motion, blinks, lighting, noise, JPEG, real frame "
        "sizes; knobs in mlcore.synth.realism.SynthRealism, docs/frl-dgt.md)",
    )
    parser.add_argument(
        "--landmark-noise",
        type=float,
        default=0.02,
        help="composite: landmark error of the alignment (std, fraction of the eye distance)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes rendering identities in parallel (same bytes as one)",
    )
    parser.add_argument(
        "--no-distractors",
        action="store_true",
        help="no blinks, head jitter, flicker or sensor noise",
    )


def run(args: argparse.Namespace) -> int:
    preset, realism = args.preset, args.realism or "clean"
    if preset == "realistic":
        if args.realism == "clean":
            raise ValueError("--preset realistic is the composite counts with realistic clips")
        preset, realism = "composite", "realistic"
    with tqdm(
        total=100, unit="%", desc="synth", bar_format="{l_bar}{bar}| {elapsed}<{remaining}"
    ) as bar:

        def progress(fraction: float, message: str) -> None:
            bar.update(round(100 * fraction) - bar.n)
            bar.set_postfix_str(message, refresh=False)

        result = generate(
            out_dir=args.out,
            layout=args.layout,
            subjects=args.subjects,
            clips_per_subject=args.clips_per_subject,
            fps=args.fps,
            frames=args.frames,
            amplitude=args.amplitude,
            seed=args.seed,
            size=tuple(args.size),
            crop_size=args.crop_size,
            datasets=args.datasets,
            preset=preset,
            realism=realism,
            workers=args.workers,
            distractors=not args.no_distractors,
            landmark_noise=args.landmark_noise,
            progress=progress,
        )
    print(
        f"{result.clips} clips of {result.subjects} subjects, {result.frames_written} frames "
        f"in {result.seconds:.1f} s -> {result.out_dir} (truth: {result.truth_path.name})"
    )
    return 0
