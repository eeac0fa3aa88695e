"""A training run: cross-validated scores (LOSO by default) plus a final all-data model.

Run directory::

    RUN_DIR/run.json               the run's settings (preset, knobs, warm start); a rerun must
                                   match them to resume
    RUN_DIR/folds/fold_NNN.json    a finished fold: clips used, predictions, losses
    RUN_DIR/checkpoints/fold_NNN.pt
    RUN_DIR/final.pt               trained on every labelled clip, for inference
    RUN_DIR/metrics.json           pooled UF1/UAR (full + per dataset), per-fold numbers, and
                                   for a model with an AU head per-AU F1 (``au``)
    RUN_DIR/plots/*.png

A fold's JSON is written last, atomically, so its presence means the fold finished: a rerun
after a crash skips finished folds. Each fold seeds itself from (seed, fold index), so a
resumed run gives the same numbers as an uninterrupted one.

The knobs (epochs, validation split, early stopping, batch, learning rate, model options) come
from a named preset (`mlcore.presets`); a value given explicitly overrides the preset's.

A warm start (`mlcore.training.warm_start`) begins from a previous run's trained weights
instead of from scratch, without any fold's scores seeing a test subject twice.
"""

import hashlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlcore.composite import MANIFEST_NAME, CompositeSample, read_manifest
from mlcore.facs import AU_HEAD_UNITS, au_targets
from mlcore.models import create_model
from mlcore.presets import resolve_preset
from mlcore.training.apex import propose_clip_apex
from mlcore.training.checkpoints import save_checkpoint
from mlcore.training.data import InputCache, load_inputs
from mlcore.training.fold import TrainProgress, epoch_reporter, run_fold, train_model
from mlcore.training.loop import TrainSettings, resolve_device
from mlcore.training.protocols import make_folds
from mlcore.training.report import CLASS_NAMES, clip_id, run_metrics, write_json, write_plots
from mlcore.training.warm_start import SCRATCH, StartingWeights, load_warm_start

APEX_POLICIES = ("skip", "propose")
# SMIC-HS publishes no apex: skipping by default would drop its 164 clips from the composite.
DEFAULT_APEX_POLICY = "propose"


class RunMismatchError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RunResult:
    out_dir: Path
    metrics: dict
    metrics_path: Path
    final_model_path: Path | None
    folds_resumed: int


def _resolve_apexes(
    root: Path, samples: list[CompositeSample], policy: str
) -> tuple[list[CompositeSample], list[int], list[dict[str, object]]]:
    if policy not in APEX_POLICIES:
        raise ValueError(f"unknown apex policy {policy!r}; expected one of {APEX_POLICIES}")
    kept, apexes, proposals = [], [], []
    for sample in samples:
        if sample.apex is not None:
            kept.append(sample)
            apexes.append(sample.apex)
        elif policy == "propose":
            frame, confidence = propose_clip_apex(root, sample)
            kept.append(sample)
            apexes.append(frame)
            proposals.append({"clip": clip_id(sample), "apex": frame, "confidence": confidence})
    return kept, apexes, proposals


def _au_arrays(samples: list[CompositeSample]) -> tuple[np.ndarray, np.ndarray]:
    """(N, A) AU targets and (N,) flags saying which clips carry an AU label."""
    pairs = [au_targets(sample.aus) for sample in samples]
    targets = np.stack([target for target, _ in pairs]).reshape(len(samples), len(AU_HEAD_UNITS))
    return targets, np.array([labelled for _, labelled in pairs], dtype=bool)


def _check_run_settings(out_dir: Path, settings: dict[str, object]) -> None:
    path = out_dir / "run.json"
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != settings:
            changed = sorted(
                key
                for key in set(previous) | set(settings)
                if previous.get(key) != settings.get(key)
            )
            raise RunMismatchError(
                f"{out_dir} holds a different run (differs in {', '.join(changed)}); "
                "use a new output folder"
            )
    else:
        write_json(path, settings)


def train_run(
    *,
    data_dir: Path,
    out_dir: Path,
    model_name: str,
    protocol: str = "loso",
    preset: str = "gpu",
    epochs: int | None = None,
    seed: int = 0,
    device: str | None = None,
    progress: TrainProgress | None = None,
    model_options: dict[str, object] | None = None,
    val_fraction: float | None = None,
    patience: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    warm_start: Path | None = None,
    k_folds: int = 5,
    test_fraction: float = 0.2,
    apex_policy: str = DEFAULT_APEX_POLICY,
    cache_dir: Path | None = None,
    train_final: bool = True,
    data_progress: Callable[[float, str], None] | None = None,
) -> RunResult:
    """Cross-validate ``model_name`` on a composite folder and train the final model.

    ``preset`` (`mlcore.presets`: ``gpu``, today's full model, by default; ``cpu``; ``auto``)
    gives every knob left as None. ``apex_policy``: clips without an apex get a proposed apex
    (``propose``, the default, see `mlcore.training.apex`) or are skipped (``skip``).
    ``val_fraction`` > 0 holds out that share of each fold's training subjects and restores the
    epoch with the best validation UF1; ``patience`` then stops a fold that many epochs after
    its best (early stopping needs a validation split, so a run without one never stops early).
    ``warm_start``: a previous run's ``final.pt`` to start from (see `mlcore.training.warm_start`);
    a checkpoint of another model or input is refused.
    """
    started = time.perf_counter()
    root, out_dir = Path(data_dir), Path(out_dir)
    chosen = resolve_preset(preset)
    epochs = chosen.epochs if epochs is None else epochs
    batch_size = chosen.batch_size if batch_size is None else batch_size
    learning_rate = chosen.learning_rate if learning_rate is None else learning_rate
    val_fraction = chosen.val_fraction if val_fraction is None else val_fraction
    if patience is not None and val_fraction == 0:
        raise ValueError("early stopping (patience) needs a validation split (val_fraction > 0)")
    if patience is None and val_fraction > 0:
        patience = chosen.patience
    model_options = chosen.model_options(model_name, model_options)
    probe = create_model(model_name, **model_options)
    spec = probe.input_spec
    predicts_aus = bool(getattr(probe, "predicts_aus", False))
    warm = None
    if warm_start is not None:
        warm = load_warm_start(Path(warm_start), model_name=model_name, spec=spec)
    all_samples = read_manifest(root)
    samples, apexes, proposals = _resolve_apexes(root, all_samples, apex_policy)
    if not samples:
        raise ValueError(f"{root}: no clip with an apex to train on (try apex_policy='propose')")
    settings = TrainSettings(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience
    )
    folds = make_folds(
        samples,
        protocol=protocol,
        seed=seed,
        val_fraction=val_fraction,
        k=k_folds,
        test_fraction=test_fraction,
    )
    manifest_digest = hashlib.sha256((root / MANIFEST_NAME).read_bytes()).hexdigest()
    _check_run_settings(
        out_dir,
        {
            "model": model_name,
            "model_options": model_options,
            "preset": chosen.name,
            "protocol": protocol,
            "epochs": epochs,
            "seed": seed,
            "val_fraction": val_fraction,
            "patience": patience,
            "warm_start": None if warm is None else {"path": str(warm.path), "sha256": warm.sha256},
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "k_folds": k_folds if protocol == "kfold" else None,
            "test_fraction": test_fraction if protocol == "holdout" else None,
            "apex_policy": apex_policy,
            "manifest_sha256": manifest_digest,
        },
    )
    torch_device = resolve_device(device)
    cache = InputCache(Path(cache_dir) if cache_dir is not None else out_dir / "input_cache")
    inputs = load_inputs(
        root=root, samples=samples, apexes=apexes, spec=spec, cache=cache, progress=data_progress
    )
    labels = np.array([sample.label for sample in samples], dtype=np.int64)
    aus = _au_arrays(samples) if predicts_aus else None
    ids = [clip_id(sample) for sample in samples]
    stages = len(folds) + (1 if train_final else 0)

    records, resumed = [], 0
    for fold in folds:
        path = out_dir / "folds" / f"fold_{fold.index:03d}.json"
        if path.is_file():
            records.append(json.loads(path.read_text(encoding="utf-8")))
            resumed += 1
            continue
        records.append(
            run_fold(
                fold=fold,
                path=path,
                out_dir=out_dir,
                model_name=model_name,
                model_options=model_options,
                inputs=inputs,
                labels=labels,
                ids=ids,
                settings=settings,
                device=torch_device,
                seed=seed,
                stages=stages,
                progress=progress,
                start=SCRATCH if warm is None else warm.start_for(fold.test_subjects),
                aus=aus,
            )
        )

    final_path = None
    if train_final:
        final_path = out_dir / "final.pt"
        if not final_path.is_file():
            selected = [record["selected_epoch"] for record in records]
            final_epochs = round(statistics.median(selected)) if val_fraction > 0 else epochs
            final_settings = TrainSettings(
                epochs=final_epochs, batch_size=batch_size, learning_rate=learning_rate
            )
            final_start = SCRATCH if warm is None else StartingWeights(warm.path, "warm start")
            every = np.arange(len(samples))
            model, normaliser, history = train_model(
                model_name=model_name,
                model_options=model_options,
                inputs=inputs,
                labels=labels,
                train=every,
                validation=every[:0],
                settings=final_settings,
                device=torch_device,
                seed=seed * 1000 + len(folds),
                on_epoch=epoch_reporter(progress, stages, stages, final_epochs),
                start=final_start,
                aus=aus,
            )
            save_checkpoint(
                final_path,
                model_name=model_name,
                model=model,
                class_names=CLASS_NAMES,
                normaliser=normaliser,
                extra={
                    "epochs": final_epochs,
                    "epoch_losses": history.epoch_losses,
                    "start": final_start.label,
                    # What a later warm start from this model must not test on (`warm_start`).
                    "subjects": sorted({sample.subject_key for sample in samples}),
                },
            )

    metrics = run_metrics(
        spec=spec,
        records=records,
        samples=samples,
        ids=ids,
        aus=aus,
        model_name=model_name,
        model_options=model_options,
        preset=chosen.name,
        warm_start=None if warm is None else str(warm.path),
        protocol=protocol,
        seed=seed,
        epochs=epochs,
        apex_policy=apex_policy,
        n_skipped=len(all_samples) - len(samples),
        proposals=proposals,
        final_path=final_path,
        device=str(torch_device),
        wall_time=time.perf_counter() - started,
    )
    write_plots(out_dir, metrics, records)
    metrics_path = out_dir / "metrics.json"
    write_json(metrics_path, metrics)
    return RunResult(
        out_dir=out_dir,
        metrics=metrics,
        metrics_path=metrics_path,
        final_model_path=final_path,
        folds_resumed=resumed,
    )
