"""Checkpoints that rebuild themselves: model name + config + class names + normalisation."""

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from mlcore.models import create_model
from mlcore.models.base import InputSpec, MERModel
from mlcore.training.data import Normaliser

CHECKPOINT_FORMAT = 1


@dataclass(slots=True)
class LoadedModel:
    model_name: str
    model: MERModel
    class_names: list[str]
    normaliser: Normaliser
    device: torch.device

    @property
    def input_spec(self) -> InputSpec:
        return self.model.input_spec

    def to_batch(self, inputs: np.ndarray) -> torch.Tensor:
        """Raw (N, C, S, S) inputs from `mlcore.training.data` -> a normalised tensor."""
        return torch.from_numpy(self.normaliser.apply(inputs)).to(self.device)


def save_checkpoint(
    path: Path,
    *,
    model_name: str,
    model: MERModel,
    class_names: list[str],
    normaliser: Normaliser,
    extra: dict[str, object] | None = None,
) -> Path:
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_name": model_name,
        "model_config": model.config_dict(),
        "input_spec": asdict(model.input_spec),
        "class_names": list(class_names),
        "normaliser": asdict(normaliser),
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "extra": extra or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    torch.save(payload, temporary)
    temporary.replace(path)
    return path


def load_model(path: Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: unsupported checkpoint format {payload.get('format')!r}")
    model = create_model(payload["model_name"], **payload["model_config"])
    model.load_state_dict(payload["state_dict"])
    device = torch.device(device)
    model.to(device).eval()
    normaliser = Normaliser(
        mean=tuple(payload["normaliser"]["mean"]), std=tuple(payload["normaliser"]["std"])
    )
    return LoadedModel(
        model_name=payload["model_name"],
        model=model,
        class_names=list(payload["class_names"]),
        normaliser=normaliser,
        device=device,
    )
