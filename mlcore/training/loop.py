"""One model's training on in-memory inputs: AdamW, cosine schedule, fixed epochs.

Model selection, when asked for, uses a validation split of training subjects (macro F1 on it
after each epoch, ties broken by the lower validation loss) and never the fold's test clips;
with ``patience`` it also stops the fold early. A model's ``warmup`` phase (FRL-DGT: the
displacement generator on its self-supervised loss alone) runs first, on the same training clips,
unless the model starts from trained weights. A model with an AU head (``predicts_aus``) is
given each clip's AU target and label flag (`mlcore.facs.au_targets`) and adds its AU loss.
"""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from mlcore.facs import AU_HEAD_UNITS
from mlcore.models.base import MERModel
from mlcore.training.metrics import score


@dataclass(frozen=True, slots=True)
class TrainSettings:
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    # Mirror faces left-right (u flips sign for flow inputs): cheap, label-preserving.
    augment_flip: bool = True
    # Macro F1 weighs the rare classes (surprise) like the common one (negative).
    class_weighted_loss: bool = True
    grad_clip: float = 5.0
    mixed_precision: bool = True  # only used on CUDA
    # Stop after this many epochs without a better validation score (None: run every epoch).
    patience: int | None = None
    # False for a model that starts from trained weights: its warm-up phase would only repeat
    # what those weights already learnt.
    model_warmup: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be at least 1 epoch, got {self.patience}")


@dataclass(slots=True)
class FitResult:
    epoch_losses: list[float] = field(default_factory=list)
    warmup_losses: list[float] = field(default_factory=list)  # one per warm-up step
    validation_uf1: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    selected_epoch: int = 0  # 1-based; the last epoch unless a validation split chose one


def resolve_device(device: str | None) -> torch.device:
    """``None``/``"auto"``: CUDA when present, else CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _autocast(device: torch.device, enabled: bool):
    if device.type != "cuda" or not enabled:
        return torch.autocast(device_type=device.type, enabled=False)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def _grad_scaler(device: torch.device, settings: TrainSettings) -> torch.amp.GradScaler:
    """fp16 autocast needs loss scaling; bf16 and fp32 do not."""
    enabled = (
        device.type == "cuda" and settings.mixed_precision and not torch.cuda.is_bf16_supported()
    )
    return torch.amp.GradScaler("cuda", enabled=enabled)


def _flip(batch: torch.Tensor, flip_mask: torch.Tensor, *, flow_like: bool) -> torch.Tensor:
    flipped = batch.flip(-1)
    if flow_like:
        # Mirroring negates horizontal displacement. Inputs are standardised, so the sign
        # flip is exact only for zero-mean u; the training mean of u is close to zero.
        flipped = flipped.clone()
        flipped[:, 0] = -flipped[:, 0]
    return torch.where(flip_mask[:, None, None, None], flipped, batch)


def _warm_up(
    model: MERModel,
    *,
    inputs: torch.Tensor,
    settings: TrainSettings,
    device: torch.device,
    generator: torch.Generator,
    flow_like: bool,
) -> list[float]:
    """Run the model's warm-up phase, if any: its own AdamW at a constant learning rate."""
    warmup = model.warmup()
    if warmup is None or warmup.steps == 0 or not settings.model_warmup:
        return []
    optimizer = torch.optim.AdamW(
        warmup.parameters, lr=warmup.learning_rate, weight_decay=settings.weight_decay
    )
    scaler = _grad_scaler(device, settings)
    batch_size = min(settings.batch_size, len(inputs))
    losses = []
    model.train()
    for _ in range(warmup.steps):
        index = torch.randperm(len(inputs), generator=generator)[:batch_size]
        flips = torch.rand(batch_size, generator=generator) < 0.5
        batch = inputs[index]
        if settings.augment_flip:
            batch = _flip(batch, flips, flow_like=flow_like)
        with _autocast(device, settings.mixed_precision):
            loss = warmup.loss(batch.to(device)).float()
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(warmup.parameters, settings.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        losses.append(float(loss.detach()))
    return losses


def _predict(
    forward, inputs: np.ndarray, *, device: torch.device, batch_size: int, width: int
) -> np.ndarray:
    """`forward(batch)` over `inputs` in batches, without gradients: an (N, width) float array."""
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = torch.from_numpy(inputs[start : start + batch_size]).to(device)
            with _autocast(device, True):
                outputs.append(forward(batch).float().cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, width), np.float32)


def predict_logits(
    model: MERModel, inputs: np.ndarray, *, device: torch.device, batch_size: int = 64
) -> np.ndarray:
    model.eval()
    return _predict(model, inputs, device=device, batch_size=batch_size, width=model.num_classes)


def predict_au_probabilities(
    model: MERModel, inputs: np.ndarray, *, device: torch.device, batch_size: int = 64
) -> np.ndarray:
    """(N, A) sigmoid probabilities of the AU head, over `mlcore.facs.AU_HEAD_UNITS`."""
    if not getattr(model, "predicts_aus", False):
        raise ValueError(f"{type(model).__name__} has no AU head")
    model.eval()
    return _predict(
        lambda batch: torch.sigmoid(model.forward_with_aus(batch)[1].float()),
        inputs,
        device=device,
        batch_size=batch_size,
        width=len(AU_HEAD_UNITS),
    )


def fit(
    model: MERModel,
    *,
    inputs: np.ndarray,
    labels: np.ndarray,
    settings: TrainSettings,
    device: torch.device,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    aus: tuple[np.ndarray, np.ndarray] | None = None,
) -> FitResult:
    """Train ``model`` in place; with ``validation``, restore the epoch with the best val UF1
    (and stop once ``settings.patience`` epochs in a row have not beaten it). ``aus``: the
    (N, A) AU targets and (N,) label flags of the training clips, for a model with an AU head."""
    assert inputs.ndim == 4 and len(inputs) == len(labels), (inputs.shape, labels.shape)
    if len(inputs) == 0:
        raise ValueError("no training clips in this fold")
    if aus is not None:
        if not getattr(model, "predicts_aus", False):
            raise ValueError(f"AU targets given but {type(model).__name__} has no AU head")
        au_all, au_labelled_all = (torch.from_numpy(part) for part in aus)
        assert au_all.shape == (len(inputs), len(AU_HEAD_UNITS)), au_all.shape
        assert au_labelled_all.shape == (len(inputs),), au_labelled_all.shape
    # Subnormal floats (the zero-initialised DGM output, AdamW's decaying moments) run up to
    # ~100x slower on x86 CPUs: a demo retrain took 110 s with them and 27 s without. The flag
    # is process-wide and changes nothing a model can learn (values below 1e-38).
    torch.set_flush_denormal(True)
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    x_all = torch.from_numpy(inputs)
    y_all = torch.from_numpy(labels.astype(np.int64))
    class_weights = None
    if settings.class_weighted_loss:
        counts = torch.bincount(y_all, minlength=model.num_classes).float()
        class_weights = torch.where(counts > 0, counts.sum() / (counts * len(counts)), 0.0)
        class_weights = class_weights.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    steps_per_epoch = math.ceil(len(inputs) / settings.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=settings.epochs * steps_per_epoch
    )
    scaler = _grad_scaler(device, settings)
    flow_like = model.input_spec.kind in ("flow", "flow_norm", "flow_strain")
    result = FitResult()
    result.warmup_losses = _warm_up(
        model,
        inputs=x_all,
        settings=settings,
        device=device,
        generator=generator,
        flow_like=flow_like,
    )
    best_state, best = None, (-1.0, 0.0)  # (UF1, -loss): higher is better
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        flips = torch.rand(len(inputs), generator=generator) < 0.5
        total, seen = 0.0, 0
        for start in range(0, len(inputs), settings.batch_size):
            index = order[start : start + settings.batch_size]
            if len(index) < 2 and len(inputs) >= 2:
                continue  # batch norm cannot train on a single clip
            batch = x_all[index]
            if settings.augment_flip:
                batch = _flip(batch, flips[index], flow_like=flow_like)
            batch, target = batch.to(device), y_all[index].to(device)
            with _autocast(device, settings.mixed_precision):
                if aus is None:
                    logits, auxiliary = model.forward_train(batch)
                else:
                    logits, auxiliary = model.forward_train_aus(
                        batch,
                        au_targets=au_all[index].to(device),
                        au_labelled=au_labelled_all[index].to(device),
                    )
                loss = F.cross_entropy(logits.float(), target, weight=class_weights)
                loss = loss + auxiliary.float()
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            total += float(loss.detach()) * len(index)
            seen += len(index)
        epoch_loss = total / max(seen, 1)
        result.epoch_losses.append(epoch_loss)
        if validation is not None:
            val_inputs, val_labels = validation
            logits = predict_logits(model, val_inputs, device=device)
            uf1 = score(val_labels, logits.argmax(1), num_classes=model.num_classes).uf1
            # A validation split of a few clips ties on UF1 often; the loss still moves.
            val_loss = float(
                F.cross_entropy(
                    torch.from_numpy(logits), torch.from_numpy(val_labels.astype(np.int64))
                )
            )
            result.validation_uf1.append(uf1)
            result.validation_losses.append(val_loss)
            if (uf1, -val_loss) > best:
                best, result.selected_epoch = (uf1, -val_loss), epoch
                best_state = copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, epoch_loss)
        if (
            best_state is not None
            and settings.patience is not None
            and epoch - result.selected_epoch >= settings.patience
        ):
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.selected_epoch = settings.epochs
    return result
