"""A full leave-one-subject-out run of M9, M0 and STSTNet on one GPU, folds side by side.

    python benchmarks/gpu_loso.py --out DIR --json FILE [--seed 0] [--epochs 30] [--workers 6]
        [--only M9 STSTNet M0] [--stop-at UNIX_TIME] [--device auto] [--smoke]

What `benchmarks/gpu.sh` runs by default (issue #13, item 7). One realistic composite with the
MEGC2019 counts (442 clips, 68 subjects; ``mlcore synth --preset realistic --seed S``) in
DIR/data-S, SMIC-HS apexes proposed; every row sees the same frames at 112 px, and the flow of
M0 and STSTNet is computed at 112 px (`mlcore.training.ablation.row_options`, as ``mlcore
ablate`` does). Rows are trained one after the other (M9 first: its full-LOSO wall time is the
goal; then STSTNet, then M0), each fold in one of ``--workers`` processes side by side: one
model of this size leaves a GPU idle while Python launches its kernels. Without MPS the GPU
runs one process's kernels at a time, so the gain stops where the GPU is busy; the report's
per-fold times against the wall time show where that is.

A fold is trained by the same function ``mlcore train --protocol loso`` uses, with the ``gpu``
preset's batch and learning rate and the seed of its fold, so a fold's numbers are those of
``python -m mlcore ablate --protocol loso --epochs E --seed S`` on that fold (up to CUDA's
non-determinism); its JSON lands in DIR/loso-S/<model>/folds/ as that command writes it.

FILE is rewritten after every finished fold, so a run cut off (``--stop-at``, or the caller's
time limit) still leaves every fold done. Per row it holds the MEGC score (UF1 and UAR pooled
over the predictions of the folds done, full and per dataset), the per-fold UF1/UAR with their
mean and sample standard deviation (the fold-to-fold spread; a fold tests one subject's
few clips), one entry per held-out subject with its timings, and the row's wall time, measured at
``--epochs`` and extrapolated to ``--reference-epochs`` from each fold's warm-up and epoch
times. ``common_folds`` scores every row on the folds all rows finished, the like-for-like
comparison when a row was cut off. ``--smoke``: the same path at toy size (18 clips, 6
subjects, 32 px, 2 epochs, tiny FRL-DGT) on a CPU, in well under a minute.
"""

import argparse
import json
import multiprocessing
import os
import queue
import random
import shutil
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from gpu_ablation import SMOKE_FRL_DGT, machine, make_composite

from mlcore.composite import read_manifest
from mlcore.models import create_model
from mlcore.models.base import InputSpec
from mlcore.presets import resolve_preset
from mlcore.training import make_folds, pooled_scores, score
from mlcore.training.ablation import ABLATION_ROWS, row_options
from mlcore.training.apex import propose_clip_apex
from mlcore.training.data import InputCache, load_inputs

# `train_run`'s own fold (training, test predictions, checkpoint, the fold's JSON): the folds
# run here in separate processes, which `train_run`'s loop over folds cannot do, and calling
# the same function keeps every fold identical to `mlcore train`'s.
from mlcore.training.fold import run_fold
from mlcore.training.loop import TrainSettings, resolve_device
from mlcore.training.report import CLASS_NAMES, clip_id
from mlcore.training.warm_start import SCRATCH

ROWS = {row_id: (model, change) for row_id, model, change in ABLATION_ROWS}
# M9 first, alone on the GPU but for its last folds: its full-LOSO wall time is the goal.
# STSTNet next because it costs seconds, then M0, the longest after M9.
DEFAULT_ROWS = ["M9", "STSTNet", "M0"]
PRESET = "gpu"


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _pool_start() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core already


def _apex_of(task: tuple[str, object]) -> int:
    root, sample = task
    return propose_clip_apex(Path(root), sample)[0]


def _input_of(task: tuple[str, str, object, int, object]) -> None:
    root, cache, sample, apex, spec = task
    InputCache(Path(cache)).load(root=Path(root), sample=sample, apex=apex, spec=spec)


def prepare(
    *, data: Path, cache: Path, specs: list[InputSpec], workers: int
) -> tuple[list[int], dict[str, float]]:
    """Propose the missing apexes and fill the input cache of every row, on every core."""
    samples = read_manifest(data)
    context = multiprocessing.get_context("spawn")
    seconds: dict[str, float] = {}
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_pool_start) as pool:
        started = time.perf_counter()
        missing = [s for s in samples if s.apex is None]
        proposed = dict(
            zip(
                (clip_id(s) for s in missing),
                pool.map(_apex_of, [(str(data), s) for s in missing], chunksize=4),
                strict=True,
            )
        )
        apexes = [s.apex if s.apex is not None else proposed[clip_id(s)] for s in samples]
        seconds["apex_proposals"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        tasks = [
            (str(data), str(cache), sample, apex, spec)
            for spec in specs
            for sample, apex in zip(samples, apexes, strict=True)
        ]
        list(pool.map(_input_of, tasks, chunksize=8))
        seconds["inputs"] = round(time.perf_counter() - started, 1)
    return apexes, seconds


class _Row:
    """What a worker needs to train the folds of one row (built once per row and worker)."""

    def __init__(self, plan: dict, row_id: str) -> None:
        row = plan["rows"][row_id]
        self.model, self.options = row["model"], row["model_options"]
        self.out_dir = Path(plan["loso_dir"]) / self.model
        samples = read_manifest(Path(plan["data"]))
        spec = create_model(self.model, **self.options).input_spec
        self.inputs = load_inputs(
            root=Path(plan["data"]),
            samples=samples,
            apexes=plan["apexes"],
            spec=spec,
            cache=InputCache(Path(plan["cache"])),
        )
        self.labels = np.array([sample.label for sample in samples], dtype=np.int64)
        self.ids = [clip_id(sample) for sample in samples]
        self.folds = make_folds(samples, protocol="loso", seed=plan["seed"])


def _worker(plan: dict, jobs, results) -> None:
    import torch

    torch.set_num_threads(plan["threads"])
    device = resolve_device(plan["device"])
    if device.type == "cuda":
        torch.zeros(1, device=device)  # the context, before the first fold's clock starts
    preset = resolve_preset(PRESET)
    settings = TrainSettings(
        epochs=plan["epochs"], batch_size=preset.batch_size, learning_rate=preset.learning_rate
    )
    rows: dict[str, _Row] = {}
    while (job := jobs.get()) is not None:
        row_id, index = job
        started = time.perf_counter()
        try:
            if row_id not in rows:
                rows[row_id] = _Row(plan, row_id)
            row = rows[row_id]
            fold = row.folds[index]
            ready = time.perf_counter()
            epoch_ends: list[float] = []

            def epoch_done(*_: object, ends: list[float] = epoch_ends, t0: float = ready) -> None:
                ends.append(time.perf_counter() - t0)

            record = run_fold(
                fold=fold,
                path=row.out_dir / "folds" / f"fold_{fold.index:03d}.json",
                out_dir=row.out_dir,
                model_name=row.model,
                model_options=row.options,
                inputs=row.inputs,
                labels=row.labels,
                ids=row.ids,
                settings=settings,
                device=device,
                seed=plan["seed"],
                stages=len(row.folds),
                progress=epoch_done,
                start=SCRATCH,
                aus=None,
            )
        except Exception as error:  # reported per fold; the other folds go on
            results.put({"row": row_id, "fold": index, "error": repr(error)})
            continue
        results.put(
            {
                "row": row_id,
                "fold": index,
                "setup_s": ready - started,
                "train_s": time.perf_counter() - ready,
                "epoch_ends_s": epoch_ends,
                "record": {
                    key: record[key] for key in ("test_subjects", "test_clips", "y_true", "y_pred")
                },
            }
        )


def _spread(values: list[float]) -> dict[str, object]:
    return {
        "mean": statistics.fmean(values) if values else None,
        "sd": statistics.stdev(values) if len(values) > 1 else None,
    }


def fold_timing(result: dict, *, epochs: int, reference_epochs: int) -> dict[str, float | None]:
    """A fold's warm-up and per-epoch seconds from its epoch-end times, and its time at
    ``reference_epochs`` (None with one epoch: warm-up and epoch cannot be told apart)."""
    ends, total = result["epoch_ends_s"], result["train_s"]
    timing: dict[str, float | None] = {
        "train_s": round(total, 2),
        "setup_s": round(result["setup_s"], 2),
    }
    if epochs < 2 or len(ends) != epochs:
        return {**timing, "warmup_s": None, "epoch_s": None, "train_s_at_reference": None}
    epoch = (ends[-1] - ends[0]) / (epochs - 1)
    warmup = max(ends[0] - epoch, 0.0)
    tail = total - ends[-1]  # test predictions, checkpoint, JSON
    return {
        **timing,
        "warmup_s": round(warmup, 3),
        "epoch_s": round(epoch, 3),
        "train_s_at_reference": round(warmup + reference_epochs * epoch + tail, 2),
    }


def summarise_row(
    *, row_id: str, plan: dict, results: list[dict], n_folds: int, dataset_of: dict[str, str]
) -> dict[str, object]:
    """The row's MEGC (pooled) scores, per-fold spread and timings over its finished folds."""
    row = plan["rows"][row_id]
    done = sorted((r for r in results if "record" in r), key=lambda r: r["fold"])
    entry: dict[str, object] = {
        "id": row_id,
        "model": row["model"],
        "change": row["change"],
        "model_options": row["model_options"],
        "input": row["input"],
        "n_folds": n_folds,
        "folds_done": len(done),
        "finished": len(done) == n_folds,
        "failed": [{"fold": r["fold"], "error": r["error"]} for r in results if "error" in r],
    }
    if not done:
        return entry
    per_fold, y_true, y_pred, datasets = [], [], [], []
    for result in done:
        record = result["record"]
        fold_scores = score(
            np.array(record["y_true"]), np.array(record["y_pred"]), num_classes=len(CLASS_NAMES)
        )
        per_fold.append(
            {
                "fold": result["fold"],
                "subject": "+".join(record["test_subjects"]),
                **fold_scores.as_dict(),
                **fold_timing(
                    result, epochs=plan["epochs"], reference_epochs=plan["reference_epochs"]
                ),
            }
        )
        y_true += record["y_true"]
        y_pred += record["y_pred"]
        datasets += [dataset_of[clip] for clip in record["test_clips"]]
    entry["pooled"] = pooled_scores(
        y_true=np.array(y_true),
        y_pred=np.array(y_pred),
        datasets=datasets,
        num_classes=len(CLASS_NAMES),
    )
    entry["per_fold_uf1"] = _spread([fold["uf1"] for fold in per_fold])
    entry["per_fold_uar"] = _spread([fold["uar"] for fold in per_fold])
    wall = max(r["finished_at"] for r in done) - min(r["started_at"] for r in done)
    entry["wall_s"] = round(wall, 1)
    at_reference = [fold["train_s_at_reference"] for fold in per_fold]
    if None not in at_reference:
        measured = sum(fold["train_s"] for fold in per_fold)
        entry[f"wall_s_at_{plan['reference_epochs']}_epochs_extrapolated"] = round(
            wall * sum(at_reference) / measured, 1
        )
    entry["per_fold"] = per_fold
    return entry


def common_folds(summary: list[dict], results: dict[str, list[dict]], dataset_of) -> dict:
    """Every row scored on the folds that all rows finished (the like-for-like comparison)."""
    finished = [{r["fold"] for r in results[row["id"]] if "record" in r} for row in summary]
    shared = sorted(set.intersection(*finished)) if finished else []
    scores = {}
    for row in summary:
        chosen = [r["record"] for r in results[row["id"]] if "record" in r and r["fold"] in shared]
        if not chosen:
            continue
        scores[row["id"]] = pooled_scores(
            y_true=np.array([y for record in chosen for y in record["y_true"]]),
            y_pred=np.array([y for record in chosen for y in record["y_pred"]]),
            datasets=[dataset_of[clip] for record in chosen for clip in record["test_clips"]],
            num_classes=len(CLASS_NAMES),
        )
    return {"folds": shared, "pooled": scores}


def markdown(summary: list[dict], *, reference_epochs: int) -> str:
    parts = [("full", "Full"), ("smic", "SMIC"), ("samm", "SAMM"), ("casme2", "CASME II")]
    header = (
        ["id", "folds", "Full UF1", "Full UAR"]
        + [f"{label} UF1" for part, label in parts[1:]]
        + ["per-fold UF1", "per-fold UAR", "wall s", f"wall s at {reference_epochs} ep (extrap.)"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in summary:
        pooled = row.get("pooled", {})
        cells = [row["id"], f"{row['folds_done']}/{row['n_folds']}"]
        cells += [f"{pooled['full'][m]:.3f}" if pooled else "-" for m in ("uf1", "uar")]
        cells += [f"{pooled[p]['uf1']:.3f}" if p in pooled else "-" for p, _ in parts[1:]]
        for key in ("per_fold_uf1", "per_fold_uar"):
            spread = row.get(key)
            if spread is None:
                cells.append("-")
            else:
                sd = "" if spread["sd"] is None else f" +- {spread['sd']:.3f}"
                cells.append(f"{spread['mean']:.3f}{sd}")
        cells.append(str(row.get("wall_s", "-")))
        cells.append(str(row.get(f"wall_s_at_{reference_epochs}_epochs_extrapolated", "-")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work folder (data, runs)")
    parser.add_argument("--json", type=Path, required=True, help="the report, kept up to date")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30, help="per fold (as the paper)")
    parser.add_argument("--reference-epochs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=6, help="fold processes side by side")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--only", nargs="+", choices=sorted(ROWS), default=DEFAULT_ROWS)
    parser.add_argument("--stop-at", type=float, default=None, help="unix time to stop training")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.image_size, args.epochs = 32, 2
    started = time.time()
    data = args.out / f"data-{args.seed}"
    loso_dir = args.out / f"loso-{args.seed}"
    shutil.rmtree(loso_dir, ignore_errors=True)  # folds of other settings must not mix in
    generated = make_composite(out_dir=data, seed=args.seed, smoke=args.smoke)
    timings = {"composite": round(generated, 1)}
    print(f"composite seed {args.seed}: {timings['composite']} s", flush=True)

    preset = resolve_preset(PRESET)
    rows, specs = {}, []
    for row_id in args.only:
        model, change = ROWS[row_id]
        frl_dgt = SMOKE_FRL_DGT if args.smoke else None
        options = preset.model_options(
            model, row_options(model, image_size=args.image_size, frl_dgt_options=frl_dgt)
        )
        spec = create_model(model, **options).input_spec
        specs.append(spec)
        rows[row_id] = {
            "model": model,
            "change": change,
            "model_options": options,
            "input": spec.as_dict(),
        }
    apexes, prepared = prepare(
        data=data, cache=args.out / "input_cache", specs=specs, workers=_cpu_count()
    )
    timings.update(prepared)
    print(f"apexes and inputs: {prepared}", flush=True)
    samples = read_manifest(data)
    dataset_of = {clip_id(sample): sample.dataset for sample in samples}
    n_folds = len({sample.subject_key for sample in samples})
    plan = {
        "data": str(data),
        "cache": str(args.out / "input_cache"),
        "loso_dir": str(loso_dir),
        "apexes": apexes,
        "rows": rows,
        "seed": args.seed,
        "epochs": args.epochs,
        "reference_epochs": args.reference_epochs,
        "device": args.device,
        "threads": max(1, _cpu_count() // args.workers),
    }
    settings = {
        "preset": PRESET,
        "protocol": "loso",
        "seed": args.seed,
        "epochs": args.epochs,
        "reference_epochs": args.reference_epochs,
        "image_size": args.image_size,
        "apex_policy": "propose",
        "workers": args.workers,
        "threads_per_worker": plan["threads"],
        "device": args.device,
        "smoke": args.smoke,
        "n_clips": len(samples),
        "n_subjects": n_folds,
        "data": str(data),
        "command_equivalent": (
            f"python -m mlcore ablate --data {data} --protocol loso --epochs {args.epochs} "
            f"--seed {args.seed} --image-size {args.image_size} --apex-policy propose "
            f"--only {' '.join(args.only)}"
        ),
    }
    report: dict[str, object] = {"machine": machine(), "settings": settings}
    results: dict[str, list[dict]] = {row_id: [] for row_id in rows}

    def write(*, unfinished: list[list] | None = None) -> list[dict]:
        summary = [
            summarise_row(
                row_id=row_id,
                plan=plan,
                results=results[row_id],
                n_folds=n_folds,
                dataset_of=dataset_of,
            )
            for row_id in rows
        ]
        report.update(
            timings_s={**timings, "elapsed": round(time.time() - started, 1)},
            rows=summary,
            common_folds=common_folds(summary, results, dataset_of),
            unfinished=unfinished or [],
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.json.with_suffix(".tmp")
        temporary.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        temporary.replace(args.json)
        return summary

    write()
    context = multiprocessing.get_context("spawn")
    jobs, answers = context.Queue(), context.Queue()
    # Every row takes its folds in one shuffled order: a row cut off has then been tested on
    # a random sample of subjects (not on CASME II's, which sort first), the same for all rows.
    order = list(range(n_folds))
    random.Random(args.seed).shuffle(order)
    pending = [(row_id, index) for row_id in rows for index in order]
    for job in pending:
        jobs.put(job)
    workers = [
        context.Process(target=_worker, args=(plan, jobs, answers), daemon=True)
        for _ in range(args.workers)
    ]
    for worker in workers:
        jobs.put(None)
        worker.start()
    # A job's start is when the previous result of its worker came back, so a row's wall time
    # runs from the first of its folds taken up to the last one answered.
    training_started = time.perf_counter()
    outstanding = set(pending)
    while outstanding:
        wait = 5.0
        if args.stop_at is not None:
            wait = min(wait, args.stop_at - time.time())
            if wait <= 0:
                break
        try:
            answer = answers.get(timeout=wait)
        except queue.Empty:
            if not any(worker.is_alive() for worker in workers):
                break
            continue
        now = time.perf_counter()
        answer["finished_at"] = now - training_started
        answer["started_at"] = answer["finished_at"] - answer.get("train_s", 0.0)
        answer["started_at"] -= answer.get("setup_s", 0.0)
        outstanding.discard((answer["row"], answer["fold"]))
        results[answer["row"]].append(answer)
        state = "error" if "error" in answer else f"{answer['train_s']:.1f} s"
        done = sum(r["row"] == answer["row"] for r in results[answer["row"]])
        print(f"{answer['row']} fold {answer['fold']}: {state} ({done}/{n_folds})", flush=True)
        write()
    for worker in workers:
        worker.terminate()
    jobs.cancel_join_thread()  # jobs left for terminated workers must not hold up the exit
    summary = write(unfinished=sorted(outstanding))
    print(markdown(summary, reference_epochs=args.reference_epochs))
    print(f"-> {args.json}")
    if any(row["failed"] for row in summary):
        return 1
    return 3 if outstanding else 0  # 3: cut off, every finished fold is in the report


if __name__ == "__main__":
    sys.exit(main())
