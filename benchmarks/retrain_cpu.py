"""What a retrain of the demo dataset costs on CPU with the ``cpu`` preset, cold and warm.

    .venv/bin/python benchmarks/retrain_cpu.py [--out benchmarks/results/retrain_cpu.json]
        [--seeds 0 1 2] [--threads 2]

The data are what `annotator.demo` makes (synthetic CASME II-style clips: 3 subjects x 2 clips,
60 frames, generator seed 0), written in the composite layout the platform's training snapshot
uses. For each training seed:

1. ``cold``: FRL-DGT trained from scratch (the lab's active version);
2. ``warm``: a retrain on the same clips from the cold run's ``final.pt`` (see
   `mlcore.training.warm_start` for which weights each fold gets). A second cold run would repeat
   the first to the bit (same seed, same clips), so it is not run.

Each run is LOSO with a final all-data model, as the training page runs it; the time is the
whole `train_run` (inputs built from the crops, every fold, the final model), with the pooled
UF1. The process is limited to ``--threads`` torch threads. On a shared machine wall time
depends on the other load (``load_average`` gives a hint), so the CPU time the process used is
recorded too: on two free cores a run's wall time lies between half of it and all of it.
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from mlcore.synth import generate
from mlcore.training import train_run

DEMO = {"subjects": 3, "clips_per_subject": 2, "frames": 60, "seed": 0}


def timed_run(*, data: Path, out: Path, seed: int, warm_start: Path | None) -> dict:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = train_run(
        data_dir=data,
        out_dir=out,
        model_name="frl_dgt",
        preset="cpu",
        seed=seed,
        device="cpu",
        warm_start=warm_start,
    )
    metrics = result.metrics
    return {
        "wall_time_s": round(time.perf_counter() - started, 2),
        "cpu_time_s": round(time.process_time() - cpu_started, 2),
        "uf1": metrics["pooled"]["full"]["uf1"],
        "uar": metrics["pooled"]["full"]["uar"],
        "epochs_run": [
            json.loads(p.read_text())["epochs_run"] for p in sorted(out.glob("folds/*"))
        ],
        "starts": [fold["start"] for fold in metrics["per_fold"]],
        "final_model": result.final_model_path,
    }


def summary(values: list[float]) -> dict:
    return {
        "mean": round(statistics.mean(values), 3),
        "sd": round(statistics.stdev(values), 3) if len(values) > 1 else 0.0,
        "values": values,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/retrain_cpu.json"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="retrain-cpu-") as work:
        work = Path(work)
        data = work / "demo"
        generate(out_dir=data, layout="composite", **DEMO)
        rounds = []
        for seed in args.seeds:
            cold = timed_run(data=data, out=work / f"cold-{seed}", seed=seed, warm_start=None)
            warm = timed_run(
                data=data, out=work / f"warm-{seed}", seed=seed, warm_start=cold["final_model"]
            )
            for run in (cold, warm):
                del run["final_model"]
            rounds.append({"seed": seed, "cold": cold, "warm": warm})
            print(
                f"seed {seed}: cold {cold['wall_time_s']} s ({cold['cpu_time_s']} CPU s) "
                f"UF1 {cold['uf1']:.3f}, warm {warm['wall_time_s']} s ({warm['cpu_time_s']} CPU s) "
                f"UF1 {warm['uf1']:.3f}",
                flush=True,
            )
    report = {
        "what": "LOSO + final FRL-DGT, cpu preset, on the demo dataset (6 clips, 3 subjects)",
        "data": DEMO,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": args.threads,
            "load_average_after": os.getloadavg(),
            "torch": torch.__version__,
        },
        "rounds": rounds,
        "cold_wall_time_s": summary([r["cold"]["wall_time_s"] for r in rounds]),
        "warm_wall_time_s": summary([r["warm"]["wall_time_s"] for r in rounds]),
        "cold_cpu_time_s": summary([r["cold"]["cpu_time_s"] for r in rounds]),
        "warm_cpu_time_s": summary([r["warm"]["cpu_time_s"] for r in rounds]),
        "cold_uf1": summary([r["cold"]["uf1"] for r in rounds]),
        "warm_uf1": summary([r["warm"]["uf1"] for r in rounds]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k.endswith(("_s", "uf1"))}, indent=1))


if __name__ == "__main__":
    main()
