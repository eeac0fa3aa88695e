"""`python -m mlcore train`: cross-validate a model on a composite folder, save the final model."""

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from mlcore.models import list_models
from mlcore.presets import AUTO, PRESET_CHOICES
from mlcore.training.protocols import PROTOCOLS
from mlcore.training.run import APEX_POLICIES, DEFAULT_APEX_POLICY, train_run

NAME = "train"
HELP = "train and evaluate a model (LOSO / k-fold / hold-out) on a composite dataset folder"


def parse_model_options(pairs: list[str]) -> dict[str, object]:
    """``["image_size=64", "fusion=after"]`` -> ``{"image_size": 64, "fusion": "after"}``."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, separator, raw = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"model option {pair!r} is not KEY=VALUE")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def add_model_option_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model configuration field, e.g. image_size=64 (repeatable)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="composite dataset folder")
    parser.add_argument("--model", required=True, choices=list_models())
    parser.add_argument("--protocol", choices=PROTOCOLS, default="loso")
    parser.add_argument("--out", type=Path, required=True, help="run folder (resumes if present)")
    parser.add_argument(
        "--preset",
        choices=PRESET_CHOICES,
        default=AUTO,
        help="training knobs (see mlcore.presets): gpu = full model, cpu = small model with "
        "early stopping, auto (default) = cpu without CUDA; the flags below override it",
    )
    parser.add_argument(
        "--warm-start",
        type=Path,
        metavar="CHECKPOINT",
        help="start from a previous run's final.pt (same model and input) instead of scratch",
    )
    parser.add_argument("--epochs", type=int, help="epochs per fold, at most (preset's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument(
        "--val-fraction",
        type=float,
        help="share of each fold's training subjects held out to pick the epoch (0: none; "
        "preset's)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        help="stop a fold after this many epochs without a better validation UF1 (preset's)",
    )
    parser.add_argument("--batch-size", type=int, help="(preset's)")
    parser.add_argument("--lr", type=float, help="learning rate (preset's)")
    parser.add_argument("--folds", type=int, default=5, help="k for --protocol kfold")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="for --protocol holdout")
    parser.add_argument(
        "--apex-policy",
        choices=APEX_POLICIES,
        default=DEFAULT_APEX_POLICY,
        help="clips without an apex (SMIC-HS): propose one (default) or skip them",
    )
    parser.add_argument("--cache", type=Path, help="input cache (default RUN_DIR/input_cache)")
    parser.add_argument("--no-final", action="store_true", help="skip the final all-data model")
    add_model_option_argument(parser)


def run(args: argparse.Namespace) -> int:
    bar = tqdm(desc="train", unit="epoch", total=None)

    def progress(fold: int, n_folds: int, epoch: int, n_epochs: int, loss: float) -> None:
        bar.total = n_folds * n_epochs
        bar.set_postfix_str(f"fold {fold}/{n_folds} loss {loss:.3f}")
        bar.update(1)

    try:
        result = train_run(
            data_dir=args.data,
            out_dir=args.out,
            model_name=args.model,
            protocol=args.protocol,
            preset=args.preset,
            warm_start=args.warm_start,
            epochs=args.epochs,
            seed=args.seed,
            device=args.device,
            progress=progress,
            model_options=parse_model_options(args.model_option),
            val_fraction=args.val_fraction,
            patience=args.patience,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            k_folds=args.folds,
            test_fraction=args.test_fraction,
            apex_policy=args.apex_policy,
            cache_dir=args.cache,
            train_final=not args.no_final,
        )
    finally:
        bar.close()
    full = result.metrics["pooled"]["full"]
    print(
        f"{args.model} {args.protocol} ({result.metrics['preset']} preset): "
        f"UF1 {full['uf1']:.3f} UAR {full['uar']:.3f} "
        f"over {full['n']} clips ({result.folds_resumed} folds resumed) -> {result.metrics_path}"
    )
    return 0
