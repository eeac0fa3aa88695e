"""Named training presets: the knobs of a training run, chosen for the hardware it runs on.

``gpu``
    Today's full model, for CUDA workers: FRL-DGT at its defaults (112 px input, 300
    self-supervised warm-up steps), 30 epochs per fold, no validation split, no early stopping,
    batch 16, learning rate 1e-3.
``cpu``
    A model a CPU-only lab can retrain: FRL-DGT at 48 px with 40 warm-up steps; at most 30
    epochs per fold, stopped once the UF1 on a validation split of a quarter of the fold's
    *training* subjects (never its test subjects, see `mlcore.training.protocols`) has not
    improved for 4 epochs; the final all-data model trains for the median epoch the folds chose.
    Batch 16, learning rate 1e-3.
``auto``
    ``cpu`` when ``torch.cuda.is_available()`` is false, else ``gpu``. It is resolved where the
    training runs (a worker), not where it is requested (the web process has no say in it).

A preset's model settings apply to the FRL-DGT family only: the baselines (flow + linear,
STSTNet) are small at their defaults on any hardware. Model options a caller gives explicitly
win over the preset's. This module imports no torch until ``auto`` is resolved, so the web
process can list the presets.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from mlcore.models.catalogue import catalogue_entry

AUTO = "auto"
# The models whose configuration the presets' model settings are written for.
_FRL_DGT_MODULE = "mlcore.models.frl_dgt"


class UnknownPresetError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TrainingPreset:
    """Every knob of a training run that a preset fixes (see the module docstring)."""

    name: str
    description: str
    # Upper bound on epochs per fold; with ``patience`` a fold may stop earlier.
    epochs: int
    # Share of each fold's training subjects held out to pick the epoch (0: none).
    val_fraction: float
    # Epochs without a better validation UF1 before a fold stops (None: never stop early).
    patience: int | None
    batch_size: int
    learning_rate: float
    # FRL-DGT configuration fields (`mlcore.models.frl_dgt.FRLDGTConfig`) this preset sets.
    frl_dgt_options: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"preset {self.name}: epochs must be at least 1, got {self.epochs}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"preset {self.name}: val_fraction must be in [0, 1)")
        if self.patience is not None and (self.patience < 1 or self.val_fraction == 0):
            raise ValueError(
                f"preset {self.name}: early stopping needs patience >= 1 and a validation split"
            )
        object.__setattr__(self, "frl_dgt_options", MappingProxyType(dict(self.frl_dgt_options)))

    def model_options(
        self, model_name: str, explicit: Mapping[str, object] | None = None
    ) -> dict[str, object]:
        """The model options a run of ``model_name`` uses: this preset's, then ``explicit``."""
        own = self.frl_dgt_options if catalogue_entry(model_name).module == _FRL_DGT_MODULE else {}
        return {**own, **(explicit or {})}

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "epochs": self.epochs,
            "val_fraction": self.val_fraction,
            "patience": self.patience,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "frl_dgt_options": dict(self.frl_dgt_options),
        }


PRESETS: Mapping[str, TrainingPreset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            TrainingPreset(
                name="gpu",
                description="full model (112 px, 300 warm-up steps, 30 epochs): CUDA workers",
                epochs=30,
                val_fraction=0.0,
                patience=None,
                batch_size=16,
                learning_rate=1e-3,
            ),
            TrainingPreset(
                name="cpu",
                description="small model (48 px, 40 warm-up steps, early stopping): CPU workers",
                epochs=30,
                val_fraction=0.25,
                patience=4,
                batch_size=16,
                learning_rate=1e-3,
                frl_dgt_options={"image_size": 48, "ssl_warmup_steps": 40},
            ),
        )
    }
)
PRESET_CHOICES = (AUTO, *PRESETS)


def resolve_preset(name: str) -> TrainingPreset:
    """The preset called ``name``; ``auto`` is ``cpu`` without CUDA and ``gpu`` with it."""
    if name == AUTO:
        import torch  # here, not at import: the web process lists presets without torch

        name = "gpu" if torch.cuda.is_available() else "cpu"
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(
            f"unknown training preset {name!r}; choose one of {', '.join(PRESET_CHOICES)}"
        ) from None
