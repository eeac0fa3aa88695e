"""FRL-DGT (Zhai et al., CVPR 2023), reconstructed from the abstract and poster.

Structure (see docs/frl-dgt.md for which parts come from the paper and which are our choices):

    onset, apex --DGM--> displacement D (dx, dy) --stem CNN--> feature map (E, S/p, S/p)
        full-face fusion: Transformer over every patch token of the map
        local fusion:     Transformer over the r x r tokens inside each AU region (shared weights)
        global fusion:    Transformer over one token per AU region, fed by the local and the
                          full-face streams fused linearly before (Fu-B-Attn) or after (Fu-A-Attn)
                          attention
    embedding = [full-face pooled, global pooled] --MLP--> class logits
    (``au_head``) fused AU-region tokens --linear--> one logit per AU of `AU_HEAD_UNITS`

The DGM is trained with the classification loss plus ``ssl_weight`` times a self-supervised
photometric loss: the onset warped by D must match the apex (Charbonnier) while D stays smooth
except at image edges. With ``au_head`` it also learns the clip's AUs, ``au_weight`` times a
binary cross-entropy over the clips that carry an AU label (`au_loss`).
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from mlcore.faces.align import template_landmarks
from mlcore.facs import AU_HEAD_UNITS
from mlcore.models.base import InputSpec, MERModel, Warmup
from mlcore.models.dgm import DisplacementGenerator, self_supervised_loss
from mlcore.models.frl_dgt_variants import ABLATION_VARIANTS
from mlcore.models.registry import configure, register_model

DISPLACEMENT_SOURCES = {
    "dgm": "pair",
    "flow": "flow",
    "flow_norm": "flow_norm",
    "dynamic_image": "dynamic_image",
}

# With aligned crops every face's five landmarks sit on the alignment template (the ArcFace
# points used by `mlcore.faces.align`), so AU regions are fixed boxes computed once from it.
ARCFACE_TEMPLATE: tuple[tuple[float, float], ...] = tuple(
    (float(x), float(y)) for x, y in template_landmarks(1)
)

AU_REGION_NAMES = (
    "left brow",  # AU1, AU2, AU4
    "right brow",
    "glabella",  # AU4
    "left eye",  # AU6, AU7
    "right eye",
    "nose",  # AU9
    "left mouth corner",  # AU12, AU14, AU15
    "right mouth corner",
    "chin and mouth",  # AU17, AU23, AU24, AU25
)


def au_region_boxes(
    template: tuple[tuple[float, float], ...] = ARCFACE_TEMPLATE,
) -> list[tuple[float, float, float, float]]:
    """Nine AU regions as (x1, y1, x2, y2) fractions of the crop, sized by the eye distance."""
    if len(template) != 5:
        raise ValueError(f"the AU template needs 5 landmarks, got {len(template)}")
    (lex, ley), (rex, rey), (nx, ny), (mlx, mly), (mrx, mry) = template
    eye_distance = rex - lex
    if eye_distance <= 0:
        raise ValueError(f"template eyes are not left-to-right: {template[:2]}")

    def box(cx: float, cy: float, width: float, height: float) -> tuple[float, ...]:
        w, h = width * eye_distance, height * eye_distance
        return (
            min(max(cx - w / 2, 0.0), 1.0),
            min(max(cy - h / 2, 0.0), 1.0),
            min(max(cx + w / 2, 0.0), 1.0),
            min(max(cy + h / 2, 0.0), 1.0),
        )

    brow_lift = 0.45 * eye_distance
    return [
        box(lex, ley - brow_lift, 0.75, 0.45),
        box(rex, rey - brow_lift, 0.75, 0.45),
        box((lex + rex) / 2, (ley + rey) / 2 - 0.3 * eye_distance, 0.5, 0.5),
        box(lex, ley, 0.75, 0.45),
        box(rex, rey, 0.75, 0.45),
        box(nx, ny - 0.1 * eye_distance, 0.6, 0.6),
        box(mlx, mly, 0.55, 0.55),
        box(mrx, mry, 0.55, 0.55),
        box((mlx + mrx) / 2, (mly + mry) / 2 + 0.35 * eye_distance, 1.0, 0.5),
    ]


def grid_region_boxes(cells: int = 3) -> list[tuple[float, float, float, float]]:
    """The ablation's plain grid of equal image patches (M5), as crop fractions."""
    step = 1.0 / cells
    return [
        (col * step, row * step, (col + 1) * step, (row + 1) * step)
        for row in range(cells)
        for col in range(cells)
    ]


@dataclass(frozen=True, slots=True)
class FRLDGTConfig:
    num_classes: int = 3
    frame_channels: int = 1
    image_size: int = 112
    # Where the dynamic representation comes from: the DGM, or a hand-made input (M0..M2).
    displacement_source: str = "dgm"
    self_supervised: bool = True
    ssl_weight: float = 1.0
    smoothness_weight: float = 0.1
    edge_weight: float = 10.0
    charbonnier_eps: float = 1e-3
    dgm_width: int = 16
    # Before joint training, the DGM alone learns motion from the self-supervised loss for
    # this many steps (at its own learning rate); 0 = joint training from the first step.
    ssl_warmup_steps: int = 300
    ssl_warmup_lr: float = 3e-3
    max_displacement: float = 0.05  # fraction of the image width
    # Standardising the DGM output divides by max(std, floor): the floor (pixels) stops a
    # near-zero field from being blown up into noise the classifier can latch onto.
    motion_norm_floor: float = 0.05
    embed_dim: int = 64
    patch_stride: int = 8
    regions: str = "au"
    region_tokens: int = 3  # r: each region is sampled as r x r tokens
    local_fusion: bool = True
    global_fusion: bool = True
    full_face_fusion: bool = True
    fusion: str = "before"  # "before" = Fu-B-Attn, "after" = Fu-A-Attn
    depth: int = 1
    num_heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.1
    head_hidden: int = 128
    # A multi-label AU head on the fused region tokens (off: the model and its checkpoints are
    # exactly those without it). Training adds ``au_weight`` times `au_loss` to the class loss.
    au_head: bool = False
    au_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.displacement_source not in DISPLACEMENT_SOURCES:
            raise ValueError(
                f"displacement_source {self.displacement_source!r} is not one of "
                f"{sorted(DISPLACEMENT_SOURCES)}"
            )
        if self.self_supervised and self.displacement_source != "dgm":
            raise ValueError("self_supervised needs displacement_source='dgm'")
        if self.regions not in ("au", "grid"):
            raise ValueError(f"regions must be 'au' or 'grid', not {self.regions!r}")
        if self.fusion not in ("before", "after"):
            raise ValueError(f"fusion must be 'before' or 'after', not {self.fusion!r}")
        stride = self.patch_stride
        if stride < 2 or stride & (stride - 1):
            raise ValueError(f"patch_stride must be a power of two >= 2, not {stride}")
        if self.image_size % stride or self.image_size % 4:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 4 and by patch_stride {stride}"
            )
        if self.ssl_warmup_steps < 0 or self.ssl_warmup_lr <= 0:
            raise ValueError(
                f"ssl_warmup_steps must be >= 0 and ssl_warmup_lr > 0, got "
                f"{self.ssl_warmup_steps} and {self.ssl_warmup_lr}"
            )
        if self.au_weight < 0:
            raise ValueError(f"au_weight must be >= 0, got {self.au_weight}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} not divisible by {self.num_heads} heads")


def au_loss(au_logits: torch.Tensor, targets: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of (B, A) AU logits against multi-hot targets, averaged over the
    clips with ``labelled`` True only: a clip without an AU label adds nothing, not "no AU".
    Zero (still differentiable) when no clip of the batch is labelled."""
    assert au_logits.ndim == 2 and targets.shape == au_logits.shape, (
        au_logits.shape,
        targets.shape,
    )
    assert labelled.shape == au_logits.shape[:1], (labelled.shape, au_logits.shape)
    per_clip = F.binary_cross_entropy_with_logits(
        au_logits.float(), targets.float(), reduction="none"
    ).mean(1)
    weights = labelled.to(per_clip.dtype)
    return (per_clip * weights).sum() / weights.sum().clamp_min(1.0)


def _transformer(config: FRLDGTConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model=config.embed_dim,
        nhead=config.num_heads,
        dim_feedforward=int(config.embed_dim * config.mlp_ratio),
        dropout=config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, num_layers=config.depth, enable_nested_tensor=False)


def _conv_stem(in_channels: int, embed_dim: int, stride: int) -> nn.Sequential:
    """Stride-2 conv blocks down to ``stride``: each output cell becomes one patch token.

    No batch norm: it makes the classifier blind to the scale of its input, so while the DGM's
    displacement is still ~0 the cross-entropy gradient into it is amplified by 1 / std and
    swamps the self-supervised loss; the DGM then encodes clip identity instead of motion.
    The DGM output is standardised once, with a floor on the std (``motion_norm_floor``).
    """
    layers: list[nn.Module] = []
    steps = stride.bit_length() - 1
    channels = in_channels
    for step in range(steps):
        out = embed_dim if step == steps - 1 else max(embed_dim // 2 ** (steps - 1 - step), 8)
        layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1), nn.GELU()]
        channels = out
    return nn.Sequential(*layers)


class FRLDGT(MERModel):
    def __init__(self, *, config: FRLDGTConfig) -> None:
        super().__init__()
        self.config = config
        self.num_classes = config.num_classes
        self.input_spec = InputSpec(
            kind=DISPLACEMENT_SOURCES[config.displacement_source],
            size=config.image_size,
            frame_channels=config.frame_channels,
        )
        embed = config.embed_dim
        if config.displacement_source == "dgm":
            self.dgm = DisplacementGenerator(
                frame_channels=config.frame_channels,
                width=config.dgm_width,
                max_displacement_px=config.max_displacement * config.image_size,
            )
            # Like the standardised hand-made inputs of M0..M2, but learned statistics.
            self.motion_norm = nn.BatchNorm2d(3, affine=False, eps=config.motion_norm_floor**2)
        # dx, dy and magnitude for displacement-like sources; the dynamic image is an image.
        stem_in = config.frame_channels if config.displacement_source == "dynamic_image" else 3
        self.stem = _conv_stem(stem_in, embed, config.patch_stride)
        self.grid_size = config.image_size // config.patch_stride

        boxes = au_region_boxes() if config.regions == "au" else grid_region_boxes()
        self.num_regions = len(boxes)
        self.register_buffer(
            "region_boxes", torch.tensor(boxes, dtype=torch.float32) * config.image_size
        )
        tokens = config.region_tokens
        if config.full_face_fusion:
            self.full_face_pos = nn.Parameter(torch.zeros(1, self.grid_size**2, embed))
            self.full_face = _transformer(config)
        if config.local_fusion:
            self.local_pos = nn.Parameter(torch.zeros(1, tokens * tokens, embed))
            self.local = _transformer(config)
        streams = 2 if config.full_face_fusion else 1
        self.stream_fuse = nn.Linear(streams * embed, embed)
        if config.global_fusion:
            self.region_pos = nn.Parameter(torch.zeros(1, self.num_regions, embed))
            if config.fusion == "before":
                self.global_fusion = _transformer(config)
            else:
                self.stream_attention = nn.ModuleList(_transformer(config) for _ in range(streams))
        self.embedding_dim = embed * (2 if config.full_face_fusion else 1)
        self.head = nn.Sequential(
            nn.LayerNorm(self.embedding_dim),
            nn.Dropout(config.dropout),
            nn.Linear(self.embedding_dim, config.head_hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.head_hidden, config.num_classes),
        )
        if config.au_head:
            # One linear map from every region's fused token, so an AU can read the regions it
            # moves (AU 12 the mouth corners) rather than a face-wide average.
            self.au_norm = nn.LayerNorm(embed)
            self.au_head = nn.Linear(self.num_regions * embed, len(AU_HEAD_UNITS))
        for name in ("region_pos", "full_face_pos", "local_pos"):
            if hasattr(self, name):
                nn.init.trunc_normal_(getattr(self, name), std=0.02)

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)

    def displacement(self, pair: torch.Tensor) -> torch.Tensor:
        """The DGM's (dx, dy) field in pixels for a (B, 2C, S, S) onset/apex pair."""
        if self.config.displacement_source != "dgm":
            raise ValueError("this variant has no DGM: its input is a precomputed motion image")
        return self.dgm(pair)

    def _self_supervised_loss(self, x: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
        channels = self.config.frame_channels
        return self_supervised_loss(
            onset=x[:, :channels],
            apex=x[:, channels:],
            displacement=displacement,
            smoothness_weight=self.config.smoothness_weight,
            edge_weight=self.config.edge_weight,
            charbonnier_eps=self.config.charbonnier_eps,
        )

    def warmup(self) -> Warmup | None:
        """The DGM alone on the self-supervised loss, so joint training starts from motion."""
        if not self.config.self_supervised:
            return None
        return Warmup(
            steps=self.config.ssl_warmup_steps,
            learning_rate=self.config.ssl_warmup_lr,
            parameters=list(self.dgm.parameters()),
            loss=lambda pair: self._self_supervised_loss(pair, self.dgm(pair)),
        )

    def _motion_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The motion image the stem sees, and the (unweighted) self-supervised loss."""
        if self.config.displacement_source != "dgm":
            return x, x.new_zeros(())
        displacement = self.dgm(x)
        magnitude = torch.linalg.vector_norm(displacement, dim=1, keepdim=True)
        motion = self.motion_norm(torch.cat([displacement, magnitude], 1))
        if not self.config.self_supervised:
            return motion, x.new_zeros(())
        return motion, self._self_supervised_loss(x, displacement)

    def _region_tokens(self, feature_map: torch.Tensor) -> torch.Tensor:
        """(B, E, g, g) -> (B * K, r * r, E): each AU region resampled as r x r tokens."""
        batch = feature_map.shape[0]
        index = torch.arange(batch, device=feature_map.device, dtype=feature_map.dtype)
        boxes = torch.cat(
            [
                index.repeat_interleave(self.num_regions)[:, None],
                self.region_boxes.to(feature_map.dtype).repeat(batch, 1),
            ],
            1,
        )
        tokens = self.config.region_tokens
        regions = roi_align(
            feature_map,
            boxes,
            output_size=(tokens, tokens),
            spatial_scale=1.0 / self.config.patch_stride,
            sampling_ratio=2,
            aligned=True,
        )
        return regions.flatten(2).transpose(1, 2)

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The embedding, the (B, K, E) fused region tokens and the self-supervised loss."""
        self.check_input(x)
        motion, ssl = self._motion_map(x)
        feature_map = self.stem(motion)
        batch, embed, grid, _ = feature_map.shape
        assert (embed, grid) == (self.config.embed_dim, self.grid_size), feature_map.shape
        pooled: list[torch.Tensor] = []

        local = self._region_tokens(feature_map)
        if self.config.local_fusion:
            local = self.local(local + self.local_pos)
        streams = [local.mean(1).reshape(batch, self.num_regions, embed)]

        if self.config.full_face_fusion:
            patches = feature_map.flatten(2).transpose(1, 2) + self.full_face_pos
            full_face = self.full_face(patches)
            pooled.append(full_face.mean(1))
            full_face_map = full_face.transpose(1, 2).reshape(batch, embed, grid, grid)
            streams.append(
                self._region_tokens(full_face_map).mean(1).reshape(batch, self.num_regions, embed)
            )

        if not self.config.global_fusion:
            fused = self.stream_fuse(torch.cat(streams, -1))
        elif self.config.fusion == "before":
            fused = self.global_fusion(self.stream_fuse(torch.cat(streams, -1)) + self.region_pos)
        else:
            attended = [
                attention(stream + self.region_pos)
                for attention, stream in zip(self.stream_attention, streams, strict=True)
            ]
            fused = self.stream_fuse(torch.cat(attended, -1))
        pooled.append(fused.mean(1))
        features = torch.cat(pooled, 1)
        assert features.shape == (batch, self.embedding_dim), features.shape
        return features, fused, ssl

    @property
    def predicts_aus(self) -> bool:
        return self.config.au_head

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._features(x)[0]

    def _au_logits(self, regions: torch.Tensor) -> torch.Tensor:
        if not self.config.au_head:
            raise ValueError("this FRL-DGT has no AU head (build it with au_head=True)")
        batch = regions.shape[0]
        assert regions.shape == (batch, self.num_regions, self.config.embed_dim), regions.shape
        au_logits = self.au_head(self.au_norm(regions).flatten(1))
        assert au_logits.shape == (batch, len(AU_HEAD_UNITS)), au_logits.shape
        return au_logits

    def forward_with_aus(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits (B, C) and AU logits (B, A) over `AU_HEAD_UNITS`, from one pass."""
        features, regions, _ = self._features(x)
        return self.forward_head(features), self._au_logits(regions)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        assert features.ndim == 2 and features.shape[1] == self.embedding_dim, features.shape
        return self.head(features)

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, _, ssl = self._features(x)
        return self.forward_head(features), self.config.ssl_weight * ssl

    def forward_train_aus(
        self, x: torch.Tensor, *, au_targets: torch.Tensor, au_labelled: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward_train` whose auxiliary loss also holds ``au_weight`` times `au_loss`."""
        features, regions, ssl = self._features(x)
        aus = au_loss(self._au_logits(regions), au_targets, au_labelled)
        auxiliary = self.config.ssl_weight * ssl + self.config.au_weight * aus
        return self.forward_head(features), auxiliary


def _factory(variant: dict[str, object]):
    def build(**overrides: object) -> FRLDGT:
        return FRLDGT(
            config=configure(FRLDGTConfig, label="FRL-DGT", defaults=variant, overrides=overrides)
        )

    return build


register_model("frl_dgt")(_factory({}))
for _variant_id, (_, _fields) in ABLATION_VARIANTS.items():
    register_model(f"frl_dgt_{_variant_id.lower()}")(_factory(_fields))
