"""FRL-DGT's displacement generator (DGM) and the self-supervised loss that teaches it motion:
the onset, backward-warped by the displacement, must match the apex (Charbonnier), and the
displacement stays smooth except at the apex image's edges."""

import torch
import torch.nn.functional as F
from torch import nn


def warp(image: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Backward warp: output(p) = image(p + displacement(p)), displacement in pixels (dx, dy)."""
    batch, _, height, width = image.shape
    assert displacement.shape == (batch, 2, height, width), displacement.shape
    identity = torch.eye(2, 3, dtype=image.dtype, device=image.device).expand(batch, 2, 3)
    base = F.affine_grid(identity, [batch, 1, height, width], align_corners=False)
    # One pixel spans 2 / size in grid_sample's [-1, 1] coordinates.
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=image.dtype, device=image.device)
    grid = base + displacement.permute(0, 2, 3, 1) * scale
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


def self_supervised_loss(
    *,
    onset: torch.Tensor,
    apex: torch.Tensor,
    displacement: torch.Tensor,
    smoothness_weight: float = 0.1,
    edge_weight: float = 10.0,
    charbonnier_eps: float = 1e-3,
) -> torch.Tensor:
    """Charbonnier error of the warped onset against the apex, plus edge-aware smoothness."""
    warped = warp(onset, displacement)
    photometric = torch.sqrt((warped - apex) ** 2 + charbonnier_eps**2).mean()
    # Displacement may jump where the apex image has edges, and should be smooth elsewhere.
    apex_dx = (apex[..., :, 1:] - apex[..., :, :-1]).abs().mean(1, keepdim=True)
    apex_dy = (apex[..., 1:, :] - apex[..., :-1, :]).abs().mean(1, keepdim=True)
    disp_dx = (displacement[..., :, 1:] - displacement[..., :, :-1]).abs()
    disp_dy = (displacement[..., 1:, :] - displacement[..., :-1, :]).abs()
    smoothness = (disp_dx * torch.exp(-edge_weight * apex_dx)).mean() + (
        disp_dy * torch.exp(-edge_weight * apex_dy)
    ).mean()
    return photometric + smoothness_weight * smoothness


class DisplacementGenerator(nn.Module):
    """DGM: a small U-Net on the channel-stacked onset/apex pair -> dense (dx, dy) in pixels."""

    def __init__(self, *, frame_channels: int, width: int, max_displacement_px: float) -> None:
        super().__init__()
        self.frame_channels = frame_channels
        self.max_displacement_px = max_displacement_px

        def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.LeakyReLU(0.1),
            )

        self.enc1 = block(2 * frame_channels, width)
        self.enc2 = block(width, 2 * width, stride=2)
        self.enc3 = block(2 * width, 4 * width, stride=2)
        self.dec2 = block(6 * width, 2 * width)
        self.dec1 = block(3 * width, width)
        self.out = nn.Conv2d(width, 2, 3, padding=1)
        # Start from zero displacement so the first steps do not warp with noise.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        assert pair.ndim == 4 and pair.shape[1] == 2 * self.frame_channels, pair.shape
        e1 = self.enc1(pair)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        up3 = F.interpolate(e3, size=e2.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up3, e2], 1))
        up2 = F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up2, e1], 1))
        return torch.tanh(self.out(d1)) * self.max_displacement_px
