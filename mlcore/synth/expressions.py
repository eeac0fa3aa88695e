"""Micro-expression motion on a synthetic identity: AU displacement fields, timing, distractors.

Each AU is a smooth local displacement field: Gaussian radial basis functions anchored on the
identity's landmarks (brows, lids, cheeks, nose wings, lip corners, chin), each pushing in the
direction that AU moves the skin. The field is scaled per frame by a temporal profile that rises
from onset to apex and falls back to zero at offset, and frames are produced by backward
warping the neutral face with ``cv2.remap``. Distractors that carry no label (blinks, head
jitter, illumination flicker, sensor noise) are drawn per clip and recorded.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from mlcore.facs import AUCode
from mlcore.synth.faces import REFERENCE_SIZE, Identity
from mlcore.synth.realism import (
    ClipNuisance,
    crop_pixels_per_frame_pixel,
    head_homography,
    jaw_field,
    shading_plane,
    wrinkle_map,
)

# Displacement at the anchor for intensity C is ``amplitude`` pixels (on a 640x480 frame); FACS
# intensity letters A (trace) .. E (maximum) scale it.
INTENSITY_GAIN = {"A": 0.5, "B": 0.75, "C": 1.0, "D": 1.25, "E": 1.5}


@dataclass(frozen=True)
class Anchor:
    """One RBF of an AU: ``landmark`` may hold ``{side}``; ``direction`` is in the upright face
    frame with x pointing away from the midline (mirrored per side) and y down; ``sigma`` is in
    units of the head half-width."""

    landmark: str
    direction: tuple[float, float]
    sigma: float
    gain: float = 1.0

    @property
    def sided(self) -> bool:
        return "{side}" in self.landmark


AU_MOTIONS: dict[int, tuple[Anchor, ...]] = {
    1: (Anchor("brow_inner_{side}", (0.0, -1.0), 0.11), Anchor("glabella", (0.0, -0.6), 0.08, 0.5)),
    2: (
        Anchor("brow_outer_{side}", (0.0, -1.0), 0.12),
        Anchor("brow_mid_{side}", (0.0, -0.6), 0.08, 0.5),
    ),
    4: (
        Anchor("brow_inner_{side}", (-0.5, 0.85), 0.11),
        Anchor("brow_mid_{side}", (-0.3, 0.6), 0.1, 0.6),
    ),
    5: (Anchor("upper_lid_{side}", (0.0, -1.0), 0.06),),
    6: (
        Anchor("cheek_{side}", (0.1, -1.0), 0.14),
        Anchor("lower_lid_{side}", (0.0, -0.6), 0.06, 0.6),
    ),
    7: (
        Anchor("lower_lid_{side}", (0.0, -1.0), 0.055),
        Anchor("upper_lid_{side}", (0.0, 0.5), 0.05, 0.5),
    ),
    9: (
        Anchor("nose_wing_{side}", (-0.2, -1.0), 0.08),
        Anchor("brow_inner_{side}", (-0.2, 0.6), 0.08, 0.4),
    ),
    10: (
        Anchor("upper_lip_{side}", (0.0, -1.0), 0.09),
        Anchor("nose_wing_{side}", (0.0, -0.5), 0.07, 0.4),
    ),
    12: (
        Anchor("mouth_corner_{side}", (0.75, -0.66), 0.1),
        Anchor("cheek_{side}", (0.2, -0.5), 0.12, 0.3),
    ),
    14: (Anchor("mouth_corner_{side}", (0.95, -0.1), 0.075, 0.9),),
    15: (Anchor("mouth_corner_{side}", (0.25, 1.0), 0.09),),
    17: (
        Anchor("chin_boss", (0.0, -1.0), 0.15),
        Anchor("lower_lip", (0.0, -0.7), 0.09, 0.6),
    ),
    26: (Anchor("chin", (0.0, 1.0), 0.22, 1.2), Anchor("lower_lip", (0.0, 1.0), 0.11, 0.8)),
}
SUPPORTED_AUS = tuple(sorted(AU_MOTIONS))
# AUs coders mark one-sided in practice (CASME II ``L10``, SAMM ``R14A``).
LATERAL_AUS = (10, 12, 14, 15)

# Emotion -> AU templates, following common EMFACS/ME coding (CASME II and SAMM practice).
_NEGATIVE_TEMPLATES: dict[str, tuple[tuple[int, ...], ...]] = {
    "disgust": ((9,), (4, 9), (10,), (4, 10), (9, 10), (4, 7, 9)),
    "repression": ((14,), (15,), (17,), (15, 17), (14, 17)),
    "anger": ((4,), (4, 7), (4, 7, 17)),
    "contempt": ((14,), (12, 14)),
    "fear": ((1, 4), (1, 2, 4), (4, 5)),
    "sadness": ((1, 4), (15,), (1, 4, 15), (4, 15, 17)),
}
EMOTION_TEMPLATES: dict[str, tuple[tuple[int, ...], ...]] = {
    **_NEGATIVE_TEMPLATES,
    "happiness": ((6, 12), (12,), (12,), (6, 12), (6, 7, 12)),
    "surprise": ((1, 2), (1, 2, 5), (1, 2, 26), (1, 2, 5, 26)),
    "others": ((4,), (7,), (14,), (1,), (12, 15), (5,)),
    "negative": tuple(t for templates in _NEGATIVE_TEMPLATES.values() for t in templates),
}
EMOTION_TEMPLATES["other"] = EMOTION_TEMPLATES["others"]
EMOTION_TEMPLATES["positive"] = EMOTION_TEMPLATES["happiness"]
# Contempt is one-sided by definition.
_ALWAYS_ONE_SIDED = {"contempt"}


def draw_aus(
    *,
    rng: np.random.Generator,
    emotion: str,
    templates: tuple[tuple[int, ...], ...] | None = None,
    extra_au: int | None = None,
) -> list[AUCode]:
    """An AU combination for ``emotion``, with laterality on lip AUs and intensities A..E.

    ``templates`` narrows the emotion's templates (a subject's preferred patterns);
    ``extra_au`` adds one AU borrowed from another class."""
    key = emotion.strip().lower()
    if key not in EMOTION_TEMPLATES:
        raise ValueError(
            f"no AU templates for emotion {emotion!r}; known: {sorted(EMOTION_TEMPLATES)}"
        )
    templates = templates or EMOTION_TEMPLATES[key]
    numbers = templates[rng.integers(len(templates))]
    if extra_au is not None and extra_au not in numbers:
        numbers = tuple(sorted((*numbers, extra_au)))
    one_sided = key in _ALWAYS_ONE_SIDED or rng.uniform() < 0.3
    side = ("L", "R")[rng.integers(2)]
    codes = []
    for number in numbers:
        laterality = side if one_sided and number in LATERAL_AUS else ""
        intensity = "ABCDE"[min(int(rng.choice(5, p=[0.1, 0.3, 0.35, 0.2, 0.05])), 4)]
        codes.append(AUCode(number=number, laterality=laterality, intensity=intensity))
    return codes


def displacement_field(
    *,
    identity: Identity,
    aus: list[AUCode],
    amplitude: float,
    region: tuple[int, int, int, int],
    style: dict[int, tuple[float, float]] | None = None,
) -> np.ndarray:
    """Apex displacement (dx, dy) in pixels over ``region`` = (x, y, width, height); (h, w, 2).

    ``style`` (a subject's way of moving) maps an AU to (turn of its direction in degrees,
    factor on its extent); the turn is mirrored on the face's other side."""
    x0, y0, width, height = region
    field = np.zeros((height, width, 2), np.float32)
    frame_scale = min(identity.size[0] / REFERENCE_SIZE[0], identity.size[1] / REFERENCE_SIZE[1])
    xs = np.arange(x0, x0 + width, dtype=np.float32)
    ys = np.arange(y0, y0 + height, dtype=np.float32)
    for code in aus:
        if code.number not in AU_MOTIONS:
            raise ValueError(f"AU{code.number} has no synthetic motion; supported: {SUPPORTED_AUS}")
        strength = amplitude * frame_scale * INTENSITY_GAIN[code.intensity or "C"]
        sides = {"L": ("left",), "R": ("right",)}.get(code.laterality, ("left", "right"))
        turn, extent = (style or {}).get(code.number, (0.0, 1.0))
        cos, sin = float(np.cos(np.deg2rad(turn))), float(np.sin(np.deg2rad(turn)))
        for anchor in AU_MOTIONS[code.number]:
            ax, ay = anchor.direction
            if turn:
                ax, ay = cos * ax - sin * ay, sin * ax + cos * ay
            for side in sides if anchor.sided else ("",):
                name = anchor.landmark.format(side=side)
                mirror = -1.0 if side == "right" else 1.0
                dx, dy = identity.geometry.direction_to_image(mirror * ax, ay)
                cx, cy = identity.landmarks[name]
                sigma = anchor.sigma * identity.face_scale * extent
                weight = np.exp(-0.5 * ((ys[:, None] - cy) / sigma) ** 2) * np.exp(
                    -0.5 * ((xs[None, :] - cx) / sigma) ** 2
                )
                field[..., 0] += strength * anchor.gain * dx * weight
                field[..., 1] += strength * anchor.gain * dy * weight
    return field


def amplitude_for_peak(
    *,
    identity: Identity,
    aus: list[AUCode],
    region: tuple[int, int, int, int],
    style: dict[int, tuple[float, float]] | None,
    peak: float,
) -> float:
    """The ``amplitude`` whose apex field over ``region`` peaks at ``peak`` frame pixels (the
    field is linear in the amplitude)."""
    unit = displacement_field(identity=identity, aus=aus, amplitude=1.0, region=region, style=style)
    unit_peak = float(np.sqrt((unit**2).sum(axis=-1)).max(initial=0.0))
    return peak / unit_peak if unit_peak > 0 else 0.0


@dataclass(frozen=True)
class Timing:
    """Onset, apex and offset as 0-based positions inside a clip of ``frames`` frames."""

    frames: int
    onset: int
    apex: int
    offset: int

    def __post_init__(self) -> None:
        if not 0 <= self.onset < self.apex < self.offset < self.frames:
            raise ValueError(
                f"timing needs 0 <= onset < apex < offset < frames, got "
                f"{self.onset}, {self.apex}, {self.offset}, {self.frames}"
            )

    def profile(self) -> np.ndarray:
        """Raised-cosine rise onset->apex and fall apex->offset; exactly 0 outside, 1 at apex."""
        t = np.arange(self.frames, dtype=np.float64)
        rise = 0.5 - 0.5 * np.cos(np.pi * (t - self.onset) / (self.apex - self.onset))
        fall = 0.5 + 0.5 * np.cos(np.pi * (t - self.apex) / (self.offset - self.apex))
        profile = np.where(t <= self.apex, rise, fall)
        profile[(t <= self.onset) | (t >= self.offset)] = 0.0
        return profile


# Micro-expressions last 1/25 .. 1/5 s from onset to offset (up to ~0.3 s in CASME II).
ME_DURATION_SECONDS = (0.05, 0.3)


def draw_timing(*, rng: np.random.Generator, frames: int, fps: int) -> Timing:
    margin = max(1, min(4, frames // 8))
    available = frames - 1 - 2 * margin
    if available < 2:
        raise ValueError(f"--frames {frames} is too short for a micro-expression (need >= 7)")
    shortest = max(2, round(ME_DURATION_SECONDS[0] * fps))
    longest = max(2, round(ME_DURATION_SECONDS[1] * fps))
    duration = int(rng.integers(min(shortest, available), min(longest, available) + 1))
    onset = int(rng.integers(margin, frames - 1 - margin - duration + 1))
    apex = onset + min(duration - 1, max(1, round(duration * rng.uniform(0.3, 0.6))))
    return Timing(frames=frames, onset=onset, apex=apex, offset=onset + duration)


@dataclass(frozen=True)
class Distractors:
    """Unlabelled nuisance per clip. Arrays are per frame; a blink is a lid sweep over both eyes."""

    blink_start: int | None
    blink_frames: int
    jitter: np.ndarray  # (frames, 2) global translation in pixels
    gain: np.ndarray  # (frames,) illumination flicker, multiplies intensities
    noise_sigma: float  # sensor noise, grey levels (0..255)

    def closure(self, frame: int) -> float:
        """Lid closure 0 (open) .. 1 (closed): fast close (40 %), slower reopening."""
        if self.blink_start is None:
            return 0.0
        t = (frame - self.blink_start) / self.blink_frames
        if not 0 < t < 1:
            return 0.0
        closing = 0.4
        phase = t / closing if t < closing else 1 - (t - closing) / (1 - closing)
        return float(np.sin(0.5 * np.pi * phase))

    def as_dict(self) -> dict[str, object]:
        return {
            "blink": None
            if self.blink_start is None
            else {"start": self.blink_start, "frames": self.blink_frames},
            "jitter_max_px": round(float(np.abs(self.jitter).max(initial=0.0)), 3),
            "flicker_max": round(float(np.abs(self.gain - 1).max(initial=0.0)), 4),
            "noise_sigma": round(self.noise_sigma, 3),
        }


def draw_distractors(
    *, rng: np.random.Generator, frames: int, fps: int, frame_scale: float, enabled: bool
) -> Distractors:
    if not enabled:
        return Distractors(
            blink_start=None,
            blink_frames=0,
            jitter=np.zeros((frames, 2), np.float32),
            gain=np.ones(frames, np.float32),
            noise_sigma=0.0,
        )
    blink_frames = max(3, round(fps * rng.uniform(0.1, 0.3)))
    blink_start = None
    if rng.uniform() < 0.35:
        blink_start = int(rng.integers(-blink_frames // 2, frames))
    # Head jitter: a smoothed random walk bounded to about one pixel.
    steps = rng.normal(0, 0.06, (frames, 2)) * frame_scale
    walk = np.cumsum(steps, axis=0) + rng.uniform(-0.3, 0.3, 2) * frame_scale
    jitter = np.clip(walk, -frame_scale, frame_scale).astype(np.float32)
    t = np.arange(frames) / fps
    flicker = rng.uniform(0.002, 0.012) * np.sin(
        2 * np.pi * rng.uniform(2, 12) * t + rng.uniform(0, 2 * np.pi)
    )
    gain = (1 + flicker + rng.normal(0, 0.0015, frames)).astype(np.float32)
    return Distractors(
        blink_start=blink_start,
        blink_frames=blink_frames,
        jitter=jitter,
        gain=gain,
        noise_sigma=float(rng.uniform(0.6, 1.8)),
    )


class ClipRenderer:
    """Renders the frames of one clip over a region of the identity's frame (uint8 BGR)."""

    def __init__(
        self,
        *,
        identity: Identity,
        aus: list[AUCode],
        amplitude: float,
        timing: Timing,
        distractors: Distractors,
        noise_seed: np.random.SeedSequence,
        region: tuple[int, int, int, int] | None = None,
        style: dict[int, tuple[float, float]] | None = None,
        nuisance: ClipNuisance | None = None,
    ) -> None:
        """``style`` and ``nuisance`` come from the realistic preset; without them this renders
        exactly what the original (clean) generator did."""
        width, height = identity.size
        self.region = region or (0, 0, width, height)
        x0, y0, region_width, region_height = self.region
        if x0 < 0 or y0 < 0 or x0 + region_width > width or y0 + region_height > height:
            raise ValueError(f"region {self.region} is outside the {width}x{height} frame")
        self.identity = identity
        self.timing = timing
        self.distractors = distractors
        self.profile = timing.profile()
        self.field = displacement_field(
            identity=identity, aus=aus, amplitude=amplitude, region=self.region, style=style
        )
        grid_y, grid_x = np.mgrid[y0 : y0 + region_height, x0 : x0 + region_width].astype(
            np.float32
        )
        self._grid_x, self._grid_y = grid_x, grid_y
        self._noise_rng = np.random.default_rng(noise_seed)
        self._eye_boxes = [self._eye_box(side) for side in ("left", "right")]
        self.nuisance = nuisance
        if nuisance is not None:
            self._prepare_nuisance(aus)

    def _prepare_nuisance(self, aus: list[AUCode]) -> None:
        """Precomputed maps of the realistic preset: what moves the head and jaw, where the
        skin wrinkles, where the light changes."""
        identity, nuisance = self.identity, self.nuisance
        self._crop_scale = crop_pixels_per_frame_pixel(identity)
        x0, y0, region_width, region_height = self.region
        width, height = identity.size
        # Wrinkles darken the skin itself (they move with the head), so they are painted on a
        # padded copy of the source that covers everything the head motion can bring in.
        margin = int(np.ceil(0.15 * identity.face_scale)) + 4
        px0, py0 = max(x0 - margin, 0), max(y0 - margin, 0)
        px1 = min(x0 + region_width + margin, width)
        py1 = min(y0 + region_height + margin, height)
        self._padded = (px0, py0, px1 - px0, py1 - py0)
        wrinkles = wrinkle_map(identity=identity, aus=aus, region=self._padded)
        self._wrinkles = None if wrinkles is None or not nuisance.wrinkle_depth else wrinkles
        self._jaw = jaw_field(identity=identity, region=self.region, crop_scale=self._crop_scale)
        self._shading = shading_plane(region=self.region, direction=nuisance.shading_direction)

    def _render_realistic(self, frame: int, weight: float) -> np.ndarray:
        nuisance = self.nuisance
        homography = head_homography(
            identity=self.identity, head=nuisance.head[frame], crop_scale=self._crop_scale
        )
        gx, gy = self._grid_x, self._grid_y
        depth = homography[2, 0] * gx + homography[2, 1] * gy + homography[2, 2]
        map_x = (homography[0, 0] * gx + homography[0, 1] * gy + homography[0, 2]) / depth
        map_y = (homography[1, 0] * gx + homography[1, 1] * gy + homography[1, 2]) / depth
        jaw = float(nuisance.jaw[frame])
        if weight:
            map_x -= weight * self.field[..., 0]
            map_y -= weight * self.field[..., 1]
        if jaw:
            map_x -= jaw * self._jaw[..., 0]
            map_y -= jaw * self._jaw[..., 1]
        px0, py0, padded_width, padded_height = self._padded
        source = self._source(frame)[py0 : py0 + padded_height, px0 : px0 + padded_width]
        if self._wrinkles is not None and weight:
            source = source * (1 - nuisance.wrinkle_depth * weight * self._wrinkles)[..., None]
        warped = cv2.remap(
            source,
            (map_x - px0).astype(np.float32),
            (map_y - py0).astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        light = 1 + float(nuisance.shading[frame]) * self._shading
        return warped * light[..., None]

    def _eye_box(self, side: str) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """The box around one eye, a soft eye-shaped mask in it and each row's y coordinate."""
        geometry = self.identity.geometry
        ex, ey = self.identity.landmarks[f"eye_{side}"]
        half_w, half_h = 1.4 * geometry.eye_half_width, 2.0 * geometry.eye_half_height
        width, height = self.identity.size
        xa, xb = max(int(ex - half_w - 3), 0), min(int(ex + half_w + 4), width)
        ya, yb = max(int(ey - half_h - 3), 0), min(int(ey + half_h + 4), height)
        ys, xs = np.mgrid[ya:yb, xa:xb].astype(np.float32)
        radius = np.sqrt(((xs - ex) / half_w) ** 2 + ((ys - ey) / half_h) ** 2)
        mask = np.clip((1.0 - radius) * 4.0, 0.0, 1.0)
        return slice(ya, yb), slice(xa, xb), mask, ys

    def _source(self, frame: int) -> np.ndarray:
        closure = self.distractors.closure(frame)
        if closure == 0.0:
            return self.identity.neutral
        source = self.identity.neutral.copy()
        geometry = self.identity.geometry
        for (rows, cols, mask, ys), side in zip(self._eye_boxes, ("left", "right"), strict=True):
            _, ey = self.identity.landmarks[f"eye_{side}"]
            top, bottom = ey - 1.8 * geometry.eye_half_height, ey + 1.2 * geometry.eye_half_height
            lid_edge = top + closure * (bottom - top)
            covered = mask * np.clip((lid_edge - ys) / 1.5 + 0.5, 0.0, 1.0)
            alpha = covered[..., None]
            source[rows, cols] = (
                self.identity.neutral[rows, cols] * (1 - alpha)
                + self.identity.eyes_closed[rows, cols] * alpha
            )
        return source

    def render(self, frame: int) -> np.ndarray:
        """Frame ``frame`` (0-based) as uint8 BGR of the region's size."""
        weight = float(self.profile[frame])
        if self.nuisance is not None:
            image = self._render_realistic(frame, weight)
            image *= 255.0 * float(self.distractors.gain[frame])
            if self.distractors.noise_sigma:
                image += self.distractors.noise_sigma * self._noise_rng.standard_normal(
                    image.shape, dtype=np.float32
                )
            return np.clip(np.rint(image), 0, 255).astype(np.uint8)
        jitter_x, jitter_y = (float(v) for v in self.distractors.jitter[frame])
        map_x = self._grid_x - jitter_x
        map_y = self._grid_y - jitter_y
        if weight:
            # Backward warp: the pixel at x shows the neutral face at x - d(x).
            map_x -= weight * self.field[..., 0]
            map_y -= weight * self.field[..., 1]
        warped = cv2.remap(
            self._source(frame), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        image = warped * (255.0 * float(self.distractors.gain[frame]))
        if self.distractors.noise_sigma:
            image += self.distractors.noise_sigma * self._noise_rng.standard_normal(
                image.shape, dtype=np.float32
            )
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)
