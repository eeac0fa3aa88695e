"""Training and inference speed of FRL-DGT (M9) and STSTNet, and LOSO wall times.

    .venv/bin/python benchmarks/train.py [--out benchmarks/results/train.json]
        [--composite DIR] [--full-epochs 30] [--threads 2]

Measures on CPU (and CUDA when present):
- training samples/s and inference clips/s on random inputs of each model's default size;
- the wall time of a smoke LOSO (3 synthetic subjects, 2 epochs, default FRL-DGT);
- a composite-scale LOSO (442 clips, 68 subjects; SMIC-HS apexes proposed): one fold is
  trained for two epochs on the fastest device (CUDA when present), its warm-up and its epoch
  timed apart, and the full run (68 folds x (warm-up + ``--full-epochs`` epochs), one fold at
  a time) is EXTRAPOLATED from them (`benchmarks/gpu_loso.py` measures the real one);
- the apex proposer's mean absolute error (frames, ms) on the clips with known apex.
``--composite`` reuses a folder made by ``python -m mlcore synth --preset composite``;
without it one is generated into a temporary folder.
"""

import argparse
import json
import multiprocessing
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mlcore.composite import CompositeSample, read_manifest
from mlcore.models import create_model
from mlcore.synth import generate
from mlcore.training import make_folds, train_run
from mlcore.training.apex import evaluate_apex, propose_clip_apex
from mlcore.training.data import InputCache, Normaliser, load_inputs
from mlcore.training.loop import TrainSettings, fit


def throughput(name: str, device: torch.device, *, batch: int = 16, steps: int = 5) -> dict:
    torch.manual_seed(0)
    model = create_model(name).to(device)
    spec = model.input_spec
    x = torch.randn(batch, spec.channels, spec.size, spec.size, device=device)
    y = torch.randint(0, 3, (batch,), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def train_step() -> None:
        logits, auxiliary = model.forward_train(x)
        loss = F.cross_entropy(logits, y) + auxiliary
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def synchronise() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    model.train()
    train_step()  # warm-up
    synchronise()
    started = time.perf_counter()
    for _ in range(steps):
        train_step()
    synchronise()
    train_rate = batch * steps / (time.perf_counter() - started)
    model.eval()
    with torch.no_grad():
        model(x)
        synchronise()
        started = time.perf_counter()
        for _ in range(steps):
            model(x)
        synchronise()
        infer_rate = batch * steps / (time.perf_counter() - started)
    return {
        "model": name,
        "device": device.type,
        "input": [spec.channels, spec.size, spec.size],
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_samples_per_s": round(train_rate, 1),
        "inference_clips_per_s": round(infer_rate, 1),
    }


def smoke_loso(work: Path) -> dict:
    data = work / "smoke_data"
    generate(out_dir=data, layout="composite", subjects=3, clips_per_subject=4, frames=20, seed=1)
    started = time.perf_counter()
    result = train_run(
        data_dir=data, out_dir=work / "smoke_run", model_name="frl_dgt", epochs=2, seed=0
    )
    return {
        "what": "LOSO, 3 synthetic subjects, default frl_dgt (112x112), 2 epochs + final model",
        "clips": result.metrics["n_clips"],
        "folds": result.metrics["n_folds"],
        "wall_time_s": round(time.perf_counter() - started, 1),
    }


def _proposed_apex(task: tuple[Path, CompositeSample]) -> int:
    return propose_clip_apex(*task)[0]


def composite_fold(data: Path, work: Path, *, full_epochs: int, processes: int) -> dict:
    samples = read_manifest(data)
    model = create_model("frl_dgt")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    started = time.perf_counter()
    # SMIC-HS clips have no apex: propose one, as `--apex-policy propose` does.
    missing = [s for s in samples if s.apex is None]
    context = multiprocessing.get_context("spawn")  # this process may hold CUDA already
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        proposed = iter(pool.map(_proposed_apex, [(data, s) for s in missing], chunksize=4))
    apexes = [s.apex if s.apex is not None else next(proposed) for s in samples]
    inputs = load_inputs(
        root=data,
        samples=samples,
        apexes=apexes,
        spec=model.input_spec,
        cache=InputCache(work / "cache"),
    )
    input_seconds = time.perf_counter() - started
    labels = np.array([s.label for s in samples])
    fold = make_folds(samples, protocol="loso", seed=0)[0]
    train = np.array(fold.train)
    normaliser = Normaliser.fit(inputs[train], model.input_spec)
    ends: list[float] = []
    started = time.perf_counter()
    fit(
        model,
        inputs=normaliser.apply(inputs[train]),
        labels=labels[train],
        settings=TrainSettings(epochs=2),
        device=device,
        seed=0,
        on_epoch=lambda epoch, loss: ends.append(time.perf_counter() - started),
    )
    epoch_seconds = ends[1] - ends[0]
    warmup_seconds = max(ends[0] - epoch_seconds, 0.0)
    n_folds = len({s.subject_key for s in samples})
    fold_seconds = warmup_seconds + full_epochs * epoch_seconds
    return {
        "what": f"one LOSO fold of the composite-scale set, default frl_dgt, {device.type}",
        "device": device.type,
        "clips": len(samples),
        "subjects": n_folds,
        "apex_proposals_and_input_preparation_s": round(input_seconds, 1),
        "warmup_one_fold_s": round(warmup_seconds, 2),
        "one_epoch_one_fold_s": round(epoch_seconds, 2),
        "EXTRAPOLATED_full_loso_hours": round(fold_seconds * n_folds / 3600, 3),
        "extrapolation": (
            f"{n_folds} folds x (the warm-up + {full_epochs} x the epoch), one fold at a time"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/train.json"))
    parser.add_argument("--composite", type=Path, help="composite folder (preset composite)")
    parser.add_argument("--full-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    report: dict[str, object] = {
        "machine": {
            "cpu_threads": args.threads,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    # Written after every part, so a run cut off (gpu.sh's time limit) keeps what it measured.
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def record(part: str, value: object) -> None:
        report[part] = value
        print(json.dumps(value, indent=1), flush=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    speeds: list[dict] = []
    for device in devices:
        for name in ("frl_dgt", "ststnet"):
            speeds.append(throughput(name, device))
            record("throughput", speeds)
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        record("smoke_loso", smoke_loso(work))
        data = args.composite
        if data is None:
            data = work / "composite"
            generate(out_dir=data, layout="composite", preset="composite", seed=0)
        record(
            "composite_loso",
            composite_fold(data, work, full_epochs=args.full_epochs, processes=args.threads),
        )
        started = time.perf_counter()
        apex = evaluate_apex(data).summary()
        apex["method"] = "difference (training-free), clips with known apex"
        apex["seconds"] = round(time.perf_counter() - started, 1)
        record("apex_proposals", apex)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
