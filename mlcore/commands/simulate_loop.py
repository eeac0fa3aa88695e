"""`python -m mlcore simulate-loop`: measure active learning on a synthetic composite."""

import argparse
import json
from pathlib import Path

import torch
from tqdm import tqdm

from mlcore.commands.train import add_model_option_argument, parse_model_options
from mlcore.models import list_models
from mlcore.synth import PRESETS, generate
from mlcore.training.simulation import (
    DEFAULT_STRATEGIES,
    PLOT_NAME,
    RESULT_NAME,
    STRATEGY_RANKING,
    LoopSettings,
    simulate_loop,
)

NAME = "simulate-loop"
HELP = (
    "pool-based active-learning simulation: learning curves of random, entropy, margin, BALD "
    "and the queue's default ranking on held-out subjects (JSON + PNG)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="an existing composite folder (e.g. from `mlcore synth`); without it a synthetic "
        "composite is generated into OUT/composite with the --synth-* options",
    )
    synth = parser.add_argument_group("synthetic composite (without --data)")
    synth.add_argument("--subjects", type=int, default=40)
    synth.add_argument("--clips-per-subject", type=int, default=4)
    synth.add_argument(
        "--preset", choices=PRESETS, default=None, help="a synth preset (overrides --subjects)"
    )
    synth.add_argument("--synth-seed", type=int, default=0)
    synth.add_argument("--frames", type=int, default=30, help="frames per clip")
    synth.add_argument("--crop-size", type=int, default=56, help="composite crop side")
    parser.add_argument("--model", choices=list_models(), default="flow_linear")
    add_model_option_argument(parser)
    parser.add_argument(
        "--strategies",
        nargs="+",
        choices=list(STRATEGY_RANKING),
        default=list(DEFAULT_STRATEGIES),
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--initial-labels", type=int, default=12, help="labelled seed size")
    parser.add_argument("--labels-per-round", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--heldout-fraction", type=float, default=0.25, help="share of subjects held out"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--mc-samples", type=int, default=10, help="MC-dropout passes")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: auto)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--cache-dir", type=Path, default=None)


def run(args: argparse.Namespace) -> int:
    settings = LoopSettings(
        model_name=args.model,
        model_options=parse_model_options(args.model_option),
        strategies=tuple(args.strategies),
        seeds=tuple(args.seeds),
        initial_labels=args.initial_labels,
        labels_per_round=args.labels_per_round,
        rounds=args.rounds,
        heldout_fraction=args.heldout_fraction,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        mc_samples=args.mc_samples,
    )
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    data_dir, source = args.data, {"data": str(args.data)} if args.data else {}
    if data_dir is None:
        data_dir = args.out / "composite"
        source = {
            "generator": "mlcore.synth.generate",
            "layout": "composite",
            "subjects": args.subjects,
            "clips_per_subject": args.clips_per_subject,
            "preset": args.preset,
            "seed": args.synth_seed,
            "frames": args.frames,
            "crop_size": args.crop_size,
        }
        synth = generate(
            out_dir=data_dir,
            layout="composite",
            subjects=args.subjects,
            clips_per_subject=args.clips_per_subject,
            preset=args.preset,
            seed=args.synth_seed,
            frames=args.frames,
            crop_size=args.crop_size,
        )
        print(f"{synth.clips} synthetic clips of {synth.subjects} subjects -> {data_dir}")
    with (
        tqdm(total=100, unit="%", desc="inputs", leave=False) as inputs_bar,
        tqdm(total=1, unit="model", desc="simulate-loop") as bar,
    ):

        def data_progress(fraction: float, message: str) -> None:
            inputs_bar.update(round(100 * fraction) - inputs_bar.n)
            inputs_bar.set_postfix_str(message, refresh=False)

        def progress(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix_str(message, refresh=False)

        result = simulate_loop(
            data_dir=data_dir,
            out_dir=args.out,
            settings=settings,
            device=args.device,
            cache_dir=args.cache_dir,
            progress=progress,
            data_progress=data_progress,
            source=source,
        )
    summary = result["summary"]
    whole = summary["whole_pool_uf1"]
    print(f"whole pool UF1 {whole['mean']:.3f} +- {whole['std']:.3f}")
    for strategy, entry in summary["strategies"].items():
        area, reached = entry["aulc_uf1"], entry["labels_to_95"]
        reached_text = (
            f"{reached['mean']:.0f} +- {reached['std']:.0f}"
            if reached
            else f"not reached in every seed {entry['labels_to_95_per_seed']}"
        )
        print(
            f"{strategy:>18}: AULC {area['mean']:.3f} +- {area['std']:.3f}, "
            f"labels to 95%: {reached_text}"
        )
    if "goal" in summary:
        print(json.dumps(summary["goal"]))
    print(f"-> {args.out / RESULT_NAME}, {args.out / PLOT_NAME}")
    return 0
