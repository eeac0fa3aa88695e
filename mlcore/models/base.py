"""What every micro-expression model in mlcore shares: its input specification and interface.

A model says which input it consumes (`InputSpec`); training computes exactly that input for
every clip. The interface follows timm: ``forward_features`` gives the embedding (used for
active-learning diversity), ``forward_head`` maps it to class logits, and ``forward_train``
also returns the model's auxiliary loss (FRL-DGT's self-supervised term; zero elsewhere).
A model may ask for a ``warmup`` phase that training runs before the epochs proper.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

# pair: onset and apex frames stacked on the channel axis (2 x channels).
# flow: TV-L1 optical flow onset -> apex as (u, v, magnitude).
# flow_norm: the same flow normalised per clip, as (u, v, magnitude).
# dynamic_image: rank-pooled dynamic image of the onset..apex frames (channels).
# flow_strain: (u, v, optical strain), the STSTNet input.
# flow_affine: the flow less its best-fitting 6-parameter affine field (head motion), as
#   (u, v, magnitude).
INPUT_KINDS = ("pair", "flow", "flow_norm", "dynamic_image", "flow_strain", "flow_affine")
FLOW_KINDS = ("flow", "flow_norm", "flow_strain", "flow_affine")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """What a model consumes: ``kind`` at ``size`` x ``size``.

    Flow kinds run TV-L1 on the frames resized to ``motion_size`` (None: ``size``) and resize
    the field to ``size``: a model on tiny inputs (STSTNet's 28 px) may ask for flow computed at
    a larger, stated resolution. Frames, pairs and dynamic images are always at ``size``.
    """

    kind: str
    size: int
    frame_channels: int = 1
    motion_size: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind {self.kind!r}; expected one of {INPUT_KINDS}")
        if self.size < 1:
            raise ValueError(f"input size must be positive, got {self.size}")
        if self.motion_size is not None:
            if self.kind not in FLOW_KINDS:
                raise ValueError(f"motion_size applies to flow inputs only, not {self.kind!r}")
            if self.motion_size < self.size:
                raise ValueError(
                    f"motion_size {self.motion_size} is below the input size {self.size}: "
                    "flow would be upsampled"
                )
        if self.frame_channels not in (1, 3):
            raise ValueError(
                f"frame_channels must be 1 (grayscale) or 3 (RGB), not {self.frame_channels}"
            )

    @property
    def channels(self) -> int:
        """Channels of the tensor the model receives."""
        if self.kind == "pair":
            return 2 * self.frame_channels
        if self.kind == "dynamic_image":
            return self.frame_channels
        return 3

    @property
    def frame_size(self) -> int:
        """The side of the frames this input is computed from."""
        return self.motion_size or self.size

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "size": self.size,
            "frame_size": self.frame_size,
            "frame_channels": self.frame_channels,
        }


@dataclass(frozen=True, slots=True)
class Warmup:
    """``steps`` optimiser steps on ``loss(batch)`` alone, updating ``parameters`` only."""

    steps: int
    learning_rate: float
    parameters: Sequence[nn.Parameter]
    loss: Callable[[torch.Tensor], torch.Tensor]

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"warm-up steps must be >= 0, got {self.steps}")
        if self.learning_rate <= 0:
            raise ValueError(f"warm-up learning rate must be > 0, got {self.learning_rate}")


class MERModel(nn.Module):
    """Subclasses set ``input_spec`` and ``num_classes`` and implement the two halves."""

    input_spec: InputSpec
    num_classes: int

    def check_input(self, x: torch.Tensor) -> None:
        spec = self.input_spec
        expected = (spec.channels, spec.size, spec.size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"{type(self).__name__} expects input (B, {expected[0]}, {expected[1]}, "
                f"{expected[2]}) for input kind {spec.kind!r}, got {tuple(x.shape)}"
            )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the auxiliary loss to add to cross-entropy (zero unless overridden)."""
        return self(x), x.new_zeros(())

    def warmup(self) -> Warmup | None:
        """A phase that training runs before the epochs proper (none unless overridden)."""
        return None

    def config_dict(self) -> dict[str, object]:
        """Constructor keywords that rebuild this model (stored in checkpoints)."""
        raise NotImplementedError
