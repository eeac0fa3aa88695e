"""The FRL-DGT ablation on realistic synthetic composites, inside a time budget.

    python benchmarks/gpu_ablation.py --out DIR [--seeds 0 1 2] [--budget-s 420]
        [--folds 5] [--epochs 30] [--device auto]
        [--smoke]

What `GPU_SH_PROTOCOL=kfold bash benchmarks/gpu.sh` runs on a lent GPU (its default is the
68-fold LOSO of three rows, `benchmarks/gpu_loso.py`). For every seed a realistic composite with the
MEGC2019 counts (442 clips, 68 subjects; ``mlcore synth --preset realistic --seed S``) is
generated, then the ablation rows are trained one at a time with ``python -m mlcore ablate
--only ROW`` (subject-grouped k-fold, SMIC-HS apexes proposed, every row at 112 px). Rows go
in order of what matters most (the two flow floors, M0, M9 and STSTNet first, then M1..M8), each
over all seeds before the next row starts, so a budget that runs out leaves whole rows.
A row still running when the budget is spent is stopped and reported as unfinished.

Each seed changes the data (new identities, nuisances and label noise), the subject folds and
the initialisation, so the spread covers all three. Writes DIR/gpu_ablation.json (every run,
the machine, the settings) and prints the table of mean +- sample standard deviation.
``--smoke`` is the same pipeline at toy size (tiny composite, 32 px, 1 epoch, tiny FRL-DGT):
minutes on a CPU, to know the script works end to end.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from mlcore.synth import SynthRealism, generate
from mlcore.training.ablation import ABLATION_ROWS, PARTS

PRIORITY = ["Flow+linear", "Flow-affine+linear", "M0", "M9", "STSTNet"]
ROW_ORDER = PRIORITY + [row[0] for row in ABLATION_ROWS if row[0] not in PRIORITY]
# The smoke run's FRL-DGT: small enough for a CPU, every component still present.
SMOKE_FRL_DGT = {
    "embed_dim": 16,
    "num_heads": 2,
    "dgm_width": 4,
    "head_hidden": 16,
    "patch_stride": 4,
    "region_tokens": 2,
    "ssl_warmup_steps": 5,
}


def machine() -> dict[str, object]:
    info: dict[str, object] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "cuda": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def make_composite(*, out_dir: Path, seed: int, smoke: bool) -> float:
    """Generate one seed's realistic composite (skipped when it exists); returns seconds."""
    if (out_dir / "manifest.csv").is_file():
        return 0.0
    started = time.perf_counter()
    if smoke:
        generate(
            out_dir=out_dir,
            layout="composite",
            datasets=["casme2", "samm", "smic"],
            subjects=6,
            clips_per_subject=3,
            frames=16,
            seed=seed,
            size=(320, 240),
            crop_size=112,
            realism=replace(SynthRealism(), dataset_frame_sizes=None),
            workers=min(os.cpu_count() or 1, 4),
        )
    else:
        generate(
            out_dir=out_dir,
            layout="composite",
            preset="composite",
            seed=seed,
            crop_size=112,
            realism="realistic",
            workers=os.cpu_count() or 1,
        )
    return time.perf_counter() - started


def run_row(
    *, row: str, data: Path, out: Path, args: argparse.Namespace, seconds_left: float
) -> dict[str, object]:
    """One ablation row on one seed's data in a child process, stopped when time runs out."""
    command = [
        sys.executable,
        "-m",
        "mlcore",
        "ablate",
        "--data",
        str(data),
        "--out",
        str(out),
        "--only",
        row,
        "--image-size",
        str(args.image_size),
        "--protocol",
        "kfold",
        "--folds",
        str(args.folds),
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed_of_run),
        "--device",
        args.device,
        "--apex-policy",
        "propose",
    ]
    for key, value in (SMOKE_FRL_DGT if args.smoke else {}).items():
        command += ["--model-option", f"{key}={value}"]
    started = time.perf_counter()
    try:
        subprocess.run(
            command,
            check=True,
            timeout=max(seconds_left, 1.0),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    except subprocess.TimeoutExpired:
        return {"finished": False, "reason": "budget", "wall_s": time.perf_counter() - started}
    except subprocess.CalledProcessError as error:
        return {
            "finished": False,
            "reason": "failed",
            "error": (error.stderr or "")[-2000:],
            "wall_s": time.perf_counter() - started,
        }
    table = json.loads((out / "ablation.json").read_text(encoding="utf-8"))
    (scores,) = [r for r in table["rows"] if r["id"] == row]
    return {"finished": True, "wall_s": time.perf_counter() - started, **scores}


def summarise(runs: list[dict[str, object]], seeds: list[int]) -> list[dict[str, object]]:
    summary = []
    for row in ROW_ORDER:
        done = [r for r in runs if r["id"] == row and r["finished"]]
        if not any(r["id"] == row for r in runs):
            continue
        entry: dict[str, object] = {"id": row, "seeds_done": len(done), "seeds": len(seeds)}
        for part, _ in PARTS:
            for metric in ("uf1", "uar"):
                values = [r["scores"][part][metric] for r in done if part in r["scores"]]
                if values:
                    entry[f"{part}_{metric}"] = {
                        "mean": statistics.fmean(values),
                        "sd": statistics.stdev(values) if len(values) > 1 else None,
                        "values": values,
                    }
        summary.append(entry)
    return summary


def markdown(summary: list[dict[str, object]]) -> str:
    header = ["id", "seeds"] + [f"{label} {m}" for _, label in PARTS for m in ("UF1", "UAR")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in summary:
        cells = [entry["id"], f"{entry['seeds_done']}/{entry['seeds']}"]
        for part, _ in PARTS:
            for metric in ("uf1", "uar"):
                stats = entry.get(f"{part}_{metric}")
                if stats is None:
                    cells.append("-")
                elif stats["sd"] is None:
                    cells.append(f"{stats['mean']:.3f}")
                else:
                    cells.append(f"{stats['mean']:.3f} +- {stats['sd']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget-s", type=float, default=420.0, help="for the training rows")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--only", nargs="+", choices=ROW_ORDER, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.image_size, args.epochs, args.folds = 32, 1, 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [row for row in ROW_ORDER if args.only is None or row in args.only]

    generation = {}
    for seed in args.seeds:
        seconds = make_composite(out_dir=args.out / f"data-{seed}", seed=seed, smoke=args.smoke)
        generation[seed] = round(seconds, 1)
        print(f"composite seed {seed}: {seconds:.0f} s", flush=True)

    deadline = time.perf_counter() + args.budget_s
    runs = []
    for row in rows:
        for seed in args.seeds:
            left = deadline - time.perf_counter()
            if left <= 0:
                runs.append({"id": row, "seed": seed, "finished": False, "reason": "budget"})
                continue
            args.seed_of_run = seed
            result = run_row(
                row=row,
                data=args.out / f"data-{seed}",
                out=args.out / f"runs-{seed}",
                args=args,
                seconds_left=left,
            )
            runs.append({"id": row, "seed": seed, **result})
            state = "done" if result["finished"] else result["reason"]
            print(f"{row} seed {seed}: {state} in {result['wall_s']:.0f} s", flush=True)
            if result.get("reason") == "failed":
                print(result["error"], file=sys.stderr)

    summary = summarise(runs, args.seeds)
    settings = {
        key: value for key, value in vars(args).items() if key not in ("out", "seed_of_run")
    }
    report = {
        "machine": machine(),
        "settings": settings,
        "generation_s": generation,
        "summary": summary,
        "runs": runs,
    }
    (args.out / "gpu_ablation.json").write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(summary))
    failed = [r for r in runs if r.get("reason") == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
