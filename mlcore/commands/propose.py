"""`python -m mlcore propose`: apex and interval proposals, and per-clip uncertainty from a
trained model.

Writes one JSON file: the apex proposed for every clip whose apex is unknown (against the
clip's onset, `propose_clip_apex`) with the onset, apex and offset the interval proposer
finds in the clip's frames (`propose_clip_interval`, which takes the first frame as neutral),
the mean absolute apex error on the clips whose apex is known (the proposer's accuracy on this
data), and with ``--model`` each clip's predicted class, entropy, margin and BALD; the embeddings go
to ``<out>.embeddings.npy`` in the same clip order.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mlcore.composite import read_manifest
from mlcore.training.apex import APEX_METHODS, evaluate_apex, propose_clip_apex
from mlcore.training.checkpoints import load_model
from mlcore.training.interval import propose_clip_interval
from mlcore.training.loop import resolve_device
from mlcore.training.uncertainty import clip_uncertainties

NAME = "propose"
HELP = (
    "propose apex frames and onset/apex/offset intervals (and, with --model, MC-dropout "
    "uncertainty) for a composite folder"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="composite dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--model", type=Path, help="a final.pt (or fold checkpoint) of a run")
    parser.add_argument("--method", choices=APEX_METHODS, default="difference")
    parser.add_argument("--mc-samples", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache", type=Path, help="input cache (default DATA/.mlcore_cache)")


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, device=resolve_device(args.device)) if args.model else None
    if args.method == "dgm" and model is None:
        raise ValueError("--method dgm needs --model (an FRL-DGT checkpoint)")
    samples = read_manifest(args.data)
    report: dict[str, object] = {"data": str(args.data), "apex_method": args.method}
    unknown = [sample for sample in samples if sample.apex is None]
    proposals = []
    for sample in tqdm(unknown, desc="apex", unit="clip", disable=not unknown):
        frame, confidence = propose_clip_apex(args.data, sample, method=args.method, model=model)
        interval = propose_clip_interval(args.data, sample, method=args.method, model=model)
        proposals.append(
            {
                "clip": f"{sample.dataset}/{sample.subject}/{sample.clip}",
                "apex": frame,
                "confidence": round(confidence, 4),
                "interval": {
                    "onset": interval.onset,
                    "apex": interval.apex,
                    "offset": interval.offset,
                    "confidence": round(interval.confidence, 4),
                },
            }
        )
    report["proposals"] = proposals
    if len(unknown) < len(samples):
        report["apex_evaluation"] = evaluate_apex(
            args.data, method=args.method, model=model
        ).summary()
    if model is not None:
        rows, embeddings = clip_uncertainties(
            data_dir=args.data, model=model, mc_samples=args.mc_samples, cache_dir=args.cache
        )
        report["model"] = str(args.model)
        report["uncertainty"] = rows
        embeddings_path = args.out.with_suffix(".embeddings.npy")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.save(embeddings_path, embeddings)
        report["embeddings"] = embeddings_path.name
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    evaluation = report.get("apex_evaluation")
    summary = f"{len(proposals)} apex proposals"
    if evaluation:
        summary += (
            f"; apex error on {evaluation['n_clips']} known clips: "
            f"{evaluation['mean_abs_error_frames']:.2f} frames, "
            f"{evaluation['mean_abs_error_ms']:.1f} ms"
        )
    print(f"{summary} -> {args.out}")
    return 0
