"""One training of a run: a fold (train, predict its test clips, save its checkpoint and its
JSON record) or, through `train_model`, the final all-data model."""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mlcore.models import create_model
from mlcore.models.base import MERModel
from mlcore.training.checkpoints import save_checkpoint
from mlcore.training.data import Normaliser
from mlcore.training.loop import (
    FitResult,
    TrainSettings,
    fit,
    predict_au_probabilities,
    predict_logits,
    seed_everything,
)
from mlcore.training.protocols import Fold
from mlcore.training.report import CLASS_NAMES, write_json
from mlcore.training.warm_start import StartingWeights, load_weights

# (fold, n_folds, epoch, n_epochs, loss); folds and epochs count from 1, and when a final
# all-data model is trained it is the last "fold" (fold == n_folds).
TrainProgress = Callable[[int, int, int, int, float], None]


def train_model(
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
    start: StartingWeights,
    aus: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[MERModel, Normaliser, FitResult]:
    seed_everything(seed)
    model = create_model(model_name, **model_options)
    if start.path is not None:
        load_weights(model, start.path)
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


def epoch_reporter(
    progress: TrainProgress | None, stage: int, stages: int, epochs: int
) -> Callable[[int, float], None] | None:
    if progress is None:
        return None
    return lambda epoch, loss: progress(stage, stages, epoch, epochs, loss)


def run_fold(
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
    start: StartingWeights,
    aus: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, object]:
    train, validation, test = (
        np.array(part, dtype=np.int64) for part in (fold.train, fold.validation, fold.test)
    )
    model, normaliser, history = train_model(
        model_name=model_name,
        model_options=model_options,
        inputs=inputs,
        labels=labels,
        train=train,
        validation=validation,
        settings=settings,
        device=device,
        seed=seed * 1000 + fold.index,
        on_epoch=epoch_reporter(progress, fold.index + 1, stages, settings.epochs),
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
    write_json(path, record)
    return record
