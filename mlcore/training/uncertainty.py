"""Per-clip uncertainty for active learning: predictive entropy, margin and BALD (MC dropout).

BALD (Houlsby et al. 2011) is the mutual information between the prediction and the model
weights, estimated with T dropout masks (Gal & Ghahramani 2016):
H[mean_t p_t] - mean_t H[p_t]. High when the masks disagree, which is what labelling fixes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mlcore.composite import read_manifest
from mlcore.facs import AU_HEAD_UNITS
from mlcore.models.base import MERModel
from mlcore.training.apex import propose_clip_apex
from mlcore.training.checkpoints import LoadedModel
from mlcore.training.data import InputCache, load_inputs
from mlcore.training.report import clip_id


@dataclass(frozen=True, slots=True)
class UncertaintyResult:
    probabilities: np.ndarray  # (N, C), mean over the dropout samples
    predictions: np.ndarray  # (N,)
    entropy: np.ndarray  # (N,), nats, of the mean probabilities
    margin: np.ndarray  # (N,), top-1 minus top-2 probability: small = uncertain
    bald: np.ndarray  # (N,), nats, >= 0
    embeddings: np.ndarray  # (N, D), forward_features with dropout off
    # (N, A) AU head probabilities over `mlcore.facs.AU_HEAD_UNITS` with dropout off; None
    # for a model without an AU head.
    au_probabilities: np.ndarray | None = None


def _entropy(probabilities: torch.Tensor) -> torch.Tensor:
    return -(probabilities * torch.log(probabilities.clamp_min(1e-12))).sum(-1)


def _enable_dropout(model: nn.Module) -> None:
    """Dropout on, batch norm frozen. Transformer layers go to train mode as a whole, because
    in eval mode PyTorch may run them on a fused fast path that skips dropout."""
    for module in model.modules():
        if isinstance(module, nn.Dropout | nn.TransformerEncoderLayer):
            module.train()


def predict_with_uncertainty(
    model: MERModel, batch: torch.Tensor, *, mc_samples: int = 20, seed: int = 0
) -> UncertaintyResult:
    """``batch`` is a normalised model input (see `LoadedModel.to_batch`)."""
    if mc_samples < 2:
        raise ValueError(f"MC dropout needs at least 2 samples, got {mc_samples}")
    model.check_input(batch)
    was_training = model.training
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            model.eval()
            embeddings = model.forward_features(batch)
            au_probabilities = None
            if getattr(model, "predicts_aus", False):
                # The point estimate: a proposal shows each AU's probability, not its spread.
                au_probabilities = torch.sigmoid(model.forward_with_aus(batch)[1].float())
            _enable_dropout(model)
            samples = torch.stack(
                [torch.softmax(model(batch).float(), -1) for _ in range(mc_samples)]
            )
    finally:
        torch.random.set_rng_state(generator_state)
        model.train(was_training)
    assert samples.shape == (mc_samples, batch.shape[0], model.num_classes), samples.shape
    mean = samples.mean(0)
    entropy = _entropy(mean)
    expected_entropy = _entropy(samples).mean(0)
    top2 = mean.topk(min(2, mean.shape[1]), dim=-1).values
    margin = top2[:, 0] - (top2[:, 1] if top2.shape[1] > 1 else 0.0)
    return UncertaintyResult(
        probabilities=mean.cpu().numpy(),
        predictions=mean.argmax(-1).cpu().numpy(),
        entropy=entropy.cpu().numpy(),
        margin=margin.cpu().numpy(),
        bald=(entropy - expected_entropy).clamp_min(0.0).cpu().numpy(),
        embeddings=embeddings.float().cpu().numpy(),
        au_probabilities=None if au_probabilities is None else au_probabilities.cpu().numpy(),
    )


def _au_dict(probabilities: np.ndarray | None, row: int) -> dict[str, float] | None:
    if probabilities is None:
        return None
    return {
        f"AU{unit}": round(float(p), 5)
        for unit, p in zip(AU_HEAD_UNITS, probabilities[row], strict=True)
    }


def clip_uncertainties(
    *,
    data_dir: Path,
    model: LoadedModel,
    mc_samples: int = 20,
    cache_dir: Path | None = None,
    batch_size: int = 32,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[list[dict[str, object]], np.ndarray]:
    """Uncertainty of every clip of a composite folder, and the (N, D) embeddings in the
    same order. Clips without an apex use the proposed one (`mlcore.training.apex`). A row's
    ``aus`` maps ``AU<n>`` to the AU head's probability, or is None without an AU head."""
    root = Path(data_dir)
    samples = read_manifest(root)
    if not samples:
        raise ValueError(f"{root}: the manifest lists no clips")
    apexes = [
        sample.apex if sample.apex is not None else propose_clip_apex(root, sample)[0]
        for sample in samples
    ]
    cache = InputCache(Path(cache_dir) if cache_dir is not None else root / ".mlcore_cache")
    inputs = load_inputs(
        root=root, samples=samples, apexes=apexes, spec=model.input_spec, cache=cache
    )
    rows, embeddings = [], []
    for start in range(0, len(samples), batch_size):
        batch = model.to_batch(inputs[start : start + batch_size])
        result = predict_with_uncertainty(model.model, batch, mc_samples=mc_samples, seed=start)
        embeddings.append(result.embeddings)
        for offset, sample in enumerate(samples[start : start + batch_size]):
            rows.append(
                {
                    "clip": clip_id(sample),
                    "apex": apexes[start + offset],
                    "apex_proposed": sample.apex is None,
                    "predicted": model.class_names[int(result.predictions[offset])],
                    "probabilities": [round(float(p), 5) for p in result.probabilities[offset]],
                    "entropy": float(result.entropy[offset]),
                    "margin": float(result.margin[offset]),
                    "bald": float(result.bald[offset]),
                    "aus": _au_dict(result.au_probabilities, offset),
                }
            )
        if progress is not None:
            done = min(start + batch_size, len(samples))
            progress(done / len(samples), f"uncertainty {done}/{len(samples)}")
    return rows, np.concatenate(embeddings)
