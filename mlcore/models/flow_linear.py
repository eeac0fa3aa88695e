"""The floors every learned model must beat: a linear classifier on the raw optical flow.

Input is TV-L1 flow onset -> apex as (u, v, magnitude), computed on frames at ``flow_size`` and
resized to ``image_size``; the embedding is the flattened flow itself, so this model has no
representation learning at all. ``compensate_head_motion`` first subtracts the best-fitting
6-parameter affine field (`mlcore.motion.remove_affine_motion`): the floor for what hand-made
head-motion removal achieves before anything is learned.
"""

from dataclasses import asdict, dataclass

import torch
from torch import nn

from mlcore.models.base import InputSpec, MERModel
from mlcore.models.registry import configure, register_model


@dataclass(frozen=True, slots=True)
class FlowLinearConfig:
    num_classes: int = 3
    image_size: int = 28
    flow_size: int = 112
    compensate_head_motion: bool = False
    dropout: float = 0.2


class FlowLinear(MERModel):
    def __init__(self, *, config: FlowLinearConfig) -> None:
        super().__init__()
        self.config = config
        self.num_classes = config.num_classes
        self.input_spec = InputSpec(
            kind="flow_affine" if config.compensate_head_motion else "flow",
            size=config.image_size,
            motion_size=config.flow_size,
        )
        self.embedding_dim = 3 * config.image_size * config.image_size
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(self.embedding_dim, config.num_classes)
        )

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return x.flatten(1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)


def _factory(name: str, defaults: dict[str, object]):
    def build(**overrides: object) -> FlowLinear:
        return FlowLinear(
            config=configure(FlowLinearConfig, label=name, defaults=defaults, overrides=overrides)
        )

    return build


register_model("flow_linear")(_factory("flow_linear", {}))
register_model("flow_affine_linear")(
    _factory("flow_affine_linear", {"compensate_head_motion": True})
)
