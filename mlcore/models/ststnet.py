"""STSTNet (Liong et al., FG 2019): a shallow three-stream CNN on 28x28 (u, v, optical strain).

The MEGC2019 baseline FRL-DGT compares against (UF1 0.735 / UAR 0.761 on the composite). Three
parallel 3x3 convolutions with 3, 5 and 8 filters, each followed by ReLU, batch norm and a 3x3
max pool with stride 3; the 16 stacked maps are average pooled 2x2 and classified by one linear
layer. The dropout before that layer is ours: it makes MC-dropout uncertainty possible.
"""

from dataclasses import asdict, dataclass

import torch
from torch import nn

from mlcore.models.base import InputSpec, MERModel
from mlcore.models.registry import configure, register_model


@dataclass(frozen=True, slots=True)
class STSTNetConfig:
    num_classes: int = 3
    image_size: int = 28
    # TV-L1 runs on the aligned face at this size and the field is resized to image_size:
    # flow on 28 px frames loses the few-pixel motion.
    flow_size: int = 112
    stream_filters: tuple[int, ...] = (3, 5, 8)
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.image_size < 6:
            raise ValueError(f"STSTNet image_size must be at least 6, not {self.image_size}")


class STSTNet(MERModel):
    def __init__(self, *, config: STSTNetConfig) -> None:
        super().__init__()
        self.config = config
        self.num_classes = config.num_classes
        self.input_spec = InputSpec(
            kind="flow_strain", size=config.image_size, motion_size=config.flow_size
        )
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(3, filters, 3, padding=1),
                nn.ReLU(),
                nn.BatchNorm2d(filters),
                nn.MaxPool2d(3, stride=3, padding=1),
            )
            for filters in config.stream_filters
        )
        self.pool = nn.AvgPool2d(2, stride=2)
        pooled = ((config.image_size - 1) // 3 + 1) // 2
        self.embedding_dim = sum(config.stream_filters) * pooled * pooled
        self.head = nn.Sequential(
            nn.Dropout(config.dropout), nn.Linear(self.embedding_dim, config.num_classes)
        )

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        stacked = torch.cat([stream(x) for stream in self.streams], 1)
        features = self.pool(stacked).flatten(1)
        assert features.shape[1] == self.embedding_dim, features.shape
        return features

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)


@register_model("ststnet")
def build_ststnet(**overrides: object) -> STSTNet:
    if "stream_filters" in overrides:
        overrides["stream_filters"] = tuple(overrides["stream_filters"])
    return STSTNet(config=configure(STSTNetConfig, label="STSTNet", overrides=overrides))
