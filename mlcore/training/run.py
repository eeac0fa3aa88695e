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

A warm start begins from a previous run's trained weights instead of from scratch. Its final
model trained on every clip it had, test subjects of this run's folds included, so a fold starts
from it only when none of the fold's test subjects were among those clips; otherwise the fold
starts from the previous run's fold checkpoint that held those subjects out, and failing that
from scratch. Each fold records where it started. The cross-validated scores thus never see a
test subject twice, warm start or not.
"""

import hashlib
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mlcore.checksums import file_sha256
from mlcore.composite import MANIFEST_NAME, CompositeSample, read_manifest
from mlcore.facs import AU_HEAD_UNITS, au_targets
from mlcore.labels import CompositeClass
from mlcore.models import create_model
from mlcore.models.base import InputSpec, MERModel
from mlcore.presets import resolve_preset
from mlcore.training.apex import propose_clip_apex
from mlcore.training.checkpoints import save_checkpoint
from mlcore.training.data import InputCache, Normaliser, load_inputs
from mlcore.training.loop import (
    FitResult,
    TrainSettings,
    fit,
    predict_au_probabilities,
    predict_logits,
    resolve_device,
    seed_everything,
)
from mlcore.training.metrics import au_scores, confusion_matrix, pooled_scores, score
from mlcore.training.plots import plot_confusion, plot_losses, plot_per_fold
from mlcore.training.protocols import Fold, make_folds

# (fold, n_folds, epoch, n_epochs, loss); folds and epochs count from 1, and when a final
# all-data model is trained it is the last "fold" (fold == n_folds).
TrainProgress = Callable[[int, int, int, int, float], None]

APEX_POLICIES = ("skip", "propose")
# SMIC-HS publishes no apex: skipping by default would drop its 164 clips from the composite.
DEFAULT_APEX_POLICY = "propose"
CLASS_NAMES = [member.name.lower() for member in CompositeClass]


class RunMismatchError(ValueError):
    pass


class WarmStartError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class _Start:
    """Where one training begins: a checkpoint's weights (``path``) or scratch (None)."""

    path: Path | None
    label: str  # "scratch", "warm start" or "warm start fold NNN", recorded per fold


_SCRATCH = _Start(None, "scratch")


@dataclass(frozen=True, slots=True)
class WarmStart:
    """A previous run's final checkpoint and the fold checkpoints beside it."""

    path: Path
    sha256: str
    # Subjects the final checkpoint trained on; None when the checkpoint does not say.
    subjects: frozenset[str] | None
    fold_checkpoints: tuple[tuple[frozenset[str], Path], ...]  # (test subjects, checkpoint)

    def start_for(self, test_subjects: tuple[str, ...]) -> _Start:
        """The weights a fold testing ``test_subjects`` may start from without having seen them."""
        tested = frozenset(test_subjects)
        if self.subjects is not None and not tested & self.subjects:
            return _Start(self.path, "warm start")
        seen = tested if self.subjects is None else tested & self.subjects
        for held_out, path in self.fold_checkpoints:
            if seen <= held_out:
                return _Start(path, f"warm start {path.stem.replace('_', ' ')}")
        return _SCRATCH


def _read_checkpoint(path: Path, *, model_name: str, spec: InputSpec) -> dict:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("model_name") != model_name:
        raise WarmStartError(
            f"cannot warm-start {model_name} from {path}: it holds a {payload.get('model_name')} "
            "model"
        )
    if payload.get("input_spec") != asdict(spec):
        raise WarmStartError(
            f"cannot warm-start from {path}: its input {payload.get('input_spec')} differs from "
            f"this run's {asdict(spec)} (another preset or model option?)"
        )
    return payload


def load_warm_start(path: Path, *, model_name: str, spec: InputSpec) -> WarmStart:
    """Check a warm-start checkpoint against this run's model and input; find its fold siblings."""
    path = Path(path)
    if not path.is_file():
        raise WarmStartError(f"warm-start checkpoint {path} not found")
    payload = _read_checkpoint(path, model_name=model_name, spec=spec)
    if payload.get("class_names") != CLASS_NAMES:
        raise WarmStartError(
            f"cannot warm-start from {path}: its classes {payload.get('class_names')} are not "
            f"{CLASS_NAMES}"
        )
    subjects = payload.get("extra", {}).get("subjects")
    folds = []
    # A final model sits in its run folder beside the folds' checkpoints (see the module doc).
    for fold_path in sorted((path.parent / "checkpoints").glob("fold_*.pt")):
        fold_payload = _read_checkpoint(fold_path, model_name=model_name, spec=spec)
        folds.append((frozenset(fold_payload["extra"]["test_subjects"]), fold_path))
    return WarmStart(
        path=path,
        sha256=file_sha256(path),
        subjects=None if subjects is None else frozenset(subjects),
        fold_checkpoints=tuple(folds),
    )


def _load_weights(model: MERModel, path: Path) -> None:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise WarmStartError(
            f"cannot warm-start from {path}: its weights do not fit this model's configuration "
            f"({str(error).splitlines()[0]})"
        ) from None


@dataclass(frozen=True, slots=True)
class RunResult:
    out_dir: Path
    metrics: dict
    metrics_path: Path
    final_model_path: Path | None
    folds_resumed: int


def clip_id(sample: CompositeSample) -> str:
    return f"{sample.dataset}/{sample.subject}/{sample.clip}"


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)


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
        _write_json(path, settings)


def _train_one(
    *,
    model_name: str,
    model_options: dict[str, object],
    inputs: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    validation: np.ndarray,
    settings: TrainSettings,
    device: torch.device,
    seed: int,
    on_epoch: Callable[[int, float], None] | None,
    start: _Start,
    aus: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[MERModel, Normaliser, FitResult]:
    seed_everything(seed)
    model = create_model(model_name, **model_options)
    if start.path is not None:
        _load_weights(model, start.path)
        settings = replace(settings, model_warmup=False)
    normaliser = Normaliser.fit(inputs[train], model.input_spec)
    val = None
    if len(validation):
        val = (normaliser.apply(inputs[validation]), labels[validation])
    history = fit(
        model,
        inputs=normaliser.apply(inputs[train]),
        labels=labels[train],
        settings=settings,
        device=device,
        seed=seed,
        validation=val,
        on_epoch=on_epoch,
        aus=None if aus is None else (aus[0][train], aus[1][train]),
    )
    return model, normaliser, history


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
    ``warm_start``: a previous run's ``final.pt`` to start from (see the module docstring); a
    checkpoint of another model or input is refused.
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
            _run_fold(
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
                start=_SCRATCH if warm is None else warm.start_for(fold.test_subjects),
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
            final_start = _SCRATCH if warm is None else _Start(warm.path, "warm start")
            every = np.arange(len(samples))
            model, normaliser, history = _train_one(
                model_name=model_name,
                model_options=model_options,
                inputs=inputs,
                labels=labels,
                train=every,
                validation=every[:0],
                settings=final_settings,
                device=torch_device,
                seed=seed * 1000 + len(folds),
                on_epoch=_epoch_reporter(progress, stages, stages, final_epochs),
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
                    # What a later warm start from this model must not test on (module doc).
                    "subjects": sorted({sample.subject_key for sample in samples}),
                },
            )

    metrics = _metrics(
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
    _plots(out_dir, metrics, records)
    metrics_path = out_dir / "metrics.json"
    _write_json(metrics_path, metrics)
    return RunResult(
        out_dir=out_dir,
        metrics=metrics,
        metrics_path=metrics_path,
        final_model_path=final_path,
        folds_resumed=resumed,
    )


def _epoch_reporter(
    progress: TrainProgress | None, stage: int, stages: int, epochs: int
) -> Callable[[int, float], None] | None:
    if progress is None:
        return None
    return lambda epoch, loss: progress(stage, stages, epoch, epochs, loss)


def _run_fold(
    *,
    fold: Fold,
    path: Path,
    out_dir: Path,
    model_name: str,
    model_options: dict[str, object],
    inputs: np.ndarray,
    labels: np.ndarray,
    ids: list[str],
    settings: TrainSettings,
    device: torch.device,
    seed: int,
    stages: int,
    progress: TrainProgress | None,
    start: _Start,
    aus: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, object]:
    train, validation, test = (
        np.array(part, dtype=np.int64) for part in (fold.train, fold.validation, fold.test)
    )
    model, normaliser, history = _train_one(
        model_name=model_name,
        model_options=model_options,
        inputs=inputs,
        labels=labels,
        train=train,
        validation=validation,
        settings=settings,
        device=device,
        seed=seed * 1000 + fold.index,
        on_epoch=_epoch_reporter(progress, fold.index + 1, stages, settings.epochs),
        start=start,
        aus=aus,
    )
    test_inputs = normaliser.apply(inputs[test])
    logits = predict_logits(model, test_inputs, device=device)
    checkpoint = save_checkpoint(
        out_dir / "checkpoints" / f"fold_{fold.index:03d}.pt",
        model_name=model_name,
        model=model,
        class_names=CLASS_NAMES,
        normaliser=normaliser,
        extra={"fold": fold.index, "test_subjects": list(fold.test_subjects)},
    )
    exp = np.exp(logits - logits.max(1, keepdims=True))
    record = {
        "index": fold.index,
        "name": fold.name,
        "test_subjects": list(fold.test_subjects),
        "validation_subjects": list(fold.validation_subjects),
        # The clips actually sliced out of the input array for this fold.
        "train_clips": [ids[i] for i in train],
        "validation_clips": [ids[i] for i in validation],
        "test_clips": [ids[i] for i in test],
        "y_true": labels[test].tolist(),
        "y_pred": logits.argmax(1).tolist(),
        "probabilities": (exp / exp.sum(1, keepdims=True)).round(5).tolist(),
        "epoch_losses": history.epoch_losses,
        "validation_uf1": history.validation_uf1,
        "selected_epoch": history.selected_epoch,
        "epochs_run": len(history.epoch_losses),
        "warmup_steps": len(history.warmup_losses),
        "start": start.label,
        "checkpoint": str(checkpoint.relative_to(out_dir)),
    }
    if aus is not None:
        # Over AU_HEAD_UNITS, for every test clip; scoring keeps the AU-labelled ones.
        record["au_probabilities"] = (
            predict_au_probabilities(model, test_inputs, device=device).round(5).tolist()
        )
    _write_json(path, record)
    return record


def _metrics(
    *,
    spec: InputSpec,
    records: list[dict],
    samples: list[CompositeSample],
    ids: list[str],
    aus: tuple[np.ndarray, np.ndarray] | None,
    model_name: str,
    model_options: dict[str, object],
    preset: str,
    warm_start: str | None,
    protocol: str,
    seed: int,
    epochs: int,
    apex_policy: str,
    n_skipped: int,
    proposals: list[dict[str, object]],
    final_path: Path | None,
    device: str,
    wall_time: float,
) -> dict[str, object]:
    dataset_of = {clip_id(sample): sample.dataset for sample in samples}
    y_true = np.array([y for record in records for y in record["y_true"]], dtype=np.int64)
    y_pred = np.array([y for record in records for y in record["y_pred"]], dtype=np.int64)
    datasets = [dataset_of[clip] for record in records for clip in record["test_clips"]]
    num_classes = len(CLASS_NAMES)
    per_fold = []
    for record in records:
        fold_scores = score(
            np.array(record["y_true"]), np.array(record["y_pred"]), num_classes=num_classes
        )
        per_fold.append(
            {
                "fold": record["index"],
                "name": record["name"],
                "test_subjects": record["test_subjects"],
                **fold_scores.as_dict(),
                "selected_epoch": record["selected_epoch"],
                "start": record["start"],
            }
        )
    metrics: dict[str, object] = {
        "model": model_name,
        "model_options": model_options,
        "preset": preset,
        "warm_start": warm_start,
        "input": spec.as_dict(),
        "protocol": protocol,
        "seed": seed,
        "epochs": epochs,
        "device": device,
        "class_names": CLASS_NAMES,
        "n_clips": len(samples),
        "apex_policy": apex_policy,
        "n_clips_skipped_without_apex": n_skipped,
        "proposed_apexes": proposals,
        "n_folds": len(records),
        "pooled": pooled_scores(
            y_true=y_true, y_pred=y_pred, datasets=datasets, num_classes=num_classes
        ),
        "confusion_matrix": confusion_matrix(y_true, y_pred, num_classes=num_classes).tolist(),
        "per_fold_note": "per-fold scores; the MEGC score is the pooled one above",
        "per_fold": per_fold,
        "mean_of_per_fold_uf1_nonstandard": float(np.mean([f["uf1"] for f in per_fold])),
        "wall_time_s": round(wall_time, 2),
    }
    if protocol != "holdout":
        tested = sorted(clip for record in records for clip in record["test_clips"])
        assert tested == sorted(ids), "every clip must be tested exactly once"
    if aus is not None:
        metrics["au"] = _au_metrics(records=records, ids=ids, aus=aus)
    if final_path is not None:
        metrics["final_model"] = {"path": final_path.name, "sha256": file_sha256(final_path)}
    return metrics


def _au_metrics(
    *, records: list[dict], ids: list[str], aus: tuple[np.ndarray, np.ndarray]
) -> dict[str, object]:
    """Per-AU F1 pooled over the folds' test clips that carry an AU label."""
    row_of = {clip: row for row, clip in enumerate(ids)}
    rows = np.array([row_of[clip] for record in records for clip in record["test_clips"]])
    probabilities = np.array(
        [p for record in records for p in record["au_probabilities"]], dtype=np.float32
    ).reshape(len(rows), len(AU_HEAD_UNITS))
    targets, labelled = aus
    keep = labelled[rows]
    return {
        "units": list(AU_HEAD_UNITS),
        "n_clips_without_au_label": int((~keep).sum()),
        **au_scores(
            targets=targets[rows][keep], probabilities=probabilities[keep], units=AU_HEAD_UNITS
        ),
    }


def _plots(out_dir: Path, metrics: dict, records: list[dict]) -> None:
    plots = out_dir / "plots"
    full = metrics["pooled"]["full"]
    plot_confusion(
        plots / "confusion.png",
        matrix=np.array(metrics["confusion_matrix"]),
        class_names=metrics["class_names"],
        title=f"{metrics['model']} {metrics['protocol']}: "
        f"UF1 {full['uf1']:.3f} UAR {full['uar']:.3f}",
    )
    plot_per_fold(
        plots / "per_fold.png",
        names=[fold["name"] for fold in metrics["per_fold"]],
        uf1=[fold["uf1"] for fold in metrics["per_fold"]],
        accuracy=[fold["accuracy"] for fold in metrics["per_fold"]],
    )
    curves = {record["name"]: record["epoch_losses"] for record in records}
    plot_losses(plots / "losses.png", curves=curves)
