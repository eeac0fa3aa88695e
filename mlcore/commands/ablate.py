"""`python -m mlcore ablate`: FRL-DGT M0..M9 + baselines under one protocol, as a table."""

import argparse
from pathlib import Path

from tqdm import tqdm

from mlcore.commands.train import add_model_option_argument, parse_model_options
from mlcore.training.ablation import ABLATION_ROWS, run_ablation
from mlcore.training.protocols import PROTOCOLS
from mlcore.training.run import APEX_POLICIES, DEFAULT_APEX_POLICY

NAME = "ablate"
HELP = "train the FRL-DGT ablation variants M0..M9 and the baselines; write a markdown table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="composite dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for runs and tables")
    parser.add_argument(
        "--image-size",
        type=int,
        default=112,
        help="every row's frames are resized to this side (FRL-DGT input, flow frames)",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="loso")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--folds", type=int, default=5, help="k for --protocol kfold")
    parser.add_argument("--val-fraction", type=float, default=0.0)
    parser.add_argument(
        "--apex-policy",
        choices=APEX_POLICIES,
        default=DEFAULT_APEX_POLICY,
        help="clips without an apex (SMIC-HS): as in training, proposed by default",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[row[0] for row in ABLATION_ROWS],
        help="train only these rows (default: all)",
    )
    add_model_option_argument(parser)  # applied to the FRL-DGT variants only (not image_size)


def run(args: argparse.Namespace) -> int:
    bar = tqdm(total=100, desc="ablation", unit="%")

    def progress(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(message)
        bar.refresh()

    try:
        result = run_ablation(
            data_dir=args.data,
            out_dir=args.out,
            image_size=args.image_size,
            protocol=args.protocol,
            epochs=args.epochs,
            seed=args.seed,
            device=args.device,
            frl_dgt_options=parse_model_options(args.model_option),
            only=args.only,
            k_folds=args.folds,
            val_fraction=args.val_fraction,
            apex_policy=args.apex_policy,
            progress=progress,
        )
    finally:
        bar.close()
    print(result.markdown_path.read_text(encoding="utf-8"))
    print(f"-> {result.markdown_path}, {result.json_path}")
    return 0
