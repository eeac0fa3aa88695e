"""How realistic the synthetic clips are: the ``clean`` and ``realistic`` presets.

``clean`` is the original generator: a large, clean AU displacement (``amplitude`` pixels at
640x480, about 1.9 px median at the 112 px crop) with mild distractors. On it raw optical flow
is nearly sufficient (TV-L1 + a linear classifier scores ~0.95 UF1), the opposite of the real
datasets. ``realistic`` follows the audit of issue #13: small AU motion that varies by subject,
per-subject style, trace clips, AUs shared across classes, label noise, wrinkles that flow
cannot represent, head motion, blinks over the apex, lighting changes, sensor noise and JPEG,
at each dataset's own resolution and frame rate.

Every knob of ``realistic`` is a field of `SynthRealism` (its defaults are the realistic
preset); ``clean`` has no knobs, it is the generator's behaviour before this module existed
and gives the same bytes for the same seed. Pixel distances are in pixels of the 112 px aligned
crop, whatever the frame size, because that is where the models see the motion.
"""

from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from mlcore.faces.align import alignment_transform
from mlcore.facs import AUCode
from mlcore.synth.faces import Identity

REALISM_PRESETS = ("clean", "realistic")
# The unit of every pixel knob: the side of the aligned crop the knobs are stated at.
KNOB_CROP_SIZE = 112
# Real frame sizes (width, height): CASME II raw 640x480, SAMM 2040x1088 (greyscale),
# SMIC-HS 640x480. Frame rates (200, 200, 100 fps) are already each dataset's own.
DATASET_FRAME_SIZES = (("casme2", (640, 480)), ("samm", (2040, 1088)), ("smic", (640, 480)))
# AUs whose skin folds (furrows, crow's feet, nose wrinkles, nasolabial fold) change the texture.
WRINKLE_AUS = (4, 6, 9, 10)


@dataclass(frozen=True)
class SynthRealism:
    """The knobs of the realistic preset; each default is the audit's starting point.

    AU motion:
    - ``au_motion_px`` = (0.2, 1.0): each clip's peak apex AU displacement is drawn uniformly in
      this range (px at the 112 px crop), then multiplied by the subject's motion scale.
    - ``subject_motion_sigma`` = 0.35: the subject's motion scale is LogNormal(0, sigma).
    - ``style_direction_deg`` = 25: per subject and AU, the AU's motion direction is turned by
      a uniform angle in +-this (mirrored on the other side of the face).
    - ``style_size_range`` = (0.7, 1.4): per subject and AU, the spatial extent of the AU's
      motion (its RBF widths) is scaled by a uniform factor in this range.
    - ``preferred_patterns`` = (1, 2): per subject and emotion, this many (uniform, inclusive)
      of the emotion's AU templates are the only ones that subject shows.
    - ``trace_fraction`` = 0.15: this share of clips is trace intensity (FACS A) ...
    - ``trace_gain`` = 0.3: ... with the peak displacement multiplied by this.
    - ``shared_au_probability`` = 0.3: a clip gets one extra AU taken from the other classes'
      templates, so no AU alone identifies a class.
    - ``wrinkle_depth`` = 0.08: at apex an AU 4/6/9/10 darkens its furrows (glabella, crow's
      feet, nose root, nasolabial fold) by up to this fraction: texture, not motion.

    Labels (the generator's truth is never changed; only the *written* label is):
    - ``label_noise`` = 0.10: share of clips whose written composite class is another class.
    - ``smic_label_noise`` = 0.20: the same for the SMIC-HS part (labels from the stimulus).

    Head and face motion (smooth per clip; each peak is the knob times U(0.5, 1)):
    - ``head_rotation_deg`` = 0.7 (in-plane roll), ``head_translation_px`` = 1.0,
      ``head_scale`` = 0.008 (0.8 %), ``head_yaw_pitch_deg`` = 1.0 (out of plane, approximated
      by a perspective warp of the face plane about the head's axis).
    - ``jaw_motion_px`` = 0.4: an unlabelled chin/jaw movement (swallowing, talking).

    Blinks, light, camera:
    - ``blink_probability`` = 0.5 of clips blink; ``blink_apex_overlap`` = 1/3 of those blink
      over the apex.
    - ``flicker_range`` = (0.01, 0.03): peak global illumination flicker, fraction.
    - ``shading_range`` = (0.02, 0.04): a lighting-direction change across the face over the
      clip, peak fraction.
    - ``noise_sigma_range`` = (1.5, 3.0): sensor noise std in grey levels, per clip.
    - ``jpeg_quality_range`` = (70, 90): per-clip JPEG quality of the camera frames (None: none).
    - ``dataset_frame_sizes``: each part's frames at its real resolution (DATASET_FRAME_SIZES);
      None renders every part at ``generate``'s ``size``.
    """

    au_motion_px: tuple[float, float] = (0.2, 1.0)
    subject_motion_sigma: float = 0.35
    style_direction_deg: float = 25.0
    style_size_range: tuple[float, float] = (0.7, 1.4)
    preferred_patterns: tuple[int, int] = (1, 2)
    trace_fraction: float = 0.15
    trace_gain: float = 0.3
    shared_au_probability: float = 0.3
    wrinkle_depth: float = 0.08
    label_noise: float = 0.10
    smic_label_noise: float = 0.20
    head_rotation_deg: float = 0.7
    head_translation_px: float = 1.0
    head_scale: float = 0.008
    head_yaw_pitch_deg: float = 1.0
    jaw_motion_px: float = 0.4
    blink_probability: float = 0.5
    blink_apex_overlap: float = 1 / 3
    flicker_range: tuple[float, float] = (0.01, 0.03)
    shading_range: tuple[float, float] = (0.02, 0.04)
    noise_sigma_range: tuple[float, float] = (1.5, 3.0)
    jpeg_quality_range: tuple[int, int] | None = (70, 90)
    dataset_frame_sizes: tuple[tuple[str, tuple[int, int]], ...] | None = DATASET_FRAME_SIZES

    def __post_init__(self) -> None:
        for name in ("au_motion_px", "style_size_range", "flicker_range", "shading_range"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} {(low, high)} must be 0 <= low <= high")
        low, high = self.noise_sigma_range
        if not 0 <= low <= high <= 50:
            raise ValueError(f"noise_sigma_range {(low, high)} must be 0 <= low <= high <= 50")
        low, high = self.preferred_patterns
        if not 1 <= low <= high:
            raise ValueError(f"preferred_patterns {(low, high)} must be 1 <= low <= high")
        for name in (
            "trace_fraction",
            "shared_au_probability",
            "label_noise",
            "smic_label_noise",
            "blink_probability",
            "blink_apex_overlap",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} {getattr(self, name)} is a probability: 0..1")
        if not 0 <= self.trace_gain <= 1:
            raise ValueError(f"trace_gain {self.trace_gain} must be in 0..1")
        if not 0 <= self.wrinkle_depth < 1:
            raise ValueError(f"wrinkle_depth {self.wrinkle_depth} must be in 0..1")
        for name in (
            "subject_motion_sigma",
            "style_direction_deg",
            "head_rotation_deg",
            "head_translation_px",
            "head_scale",
            "head_yaw_pitch_deg",
            "jaw_motion_px",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} {getattr(self, name)} must not be negative")
        if self.jpeg_quality_range is not None:
            low, high = self.jpeg_quality_range
            if not 1 <= low <= high <= 100:
                raise ValueError(f"jpeg_quality_range {(low, high)} must be within 1..100")

    def frame_size(self, dataset: str, default: tuple[int, int]) -> tuple[int, int]:
        """The frame size of ``dataset``'s clips (``default`` for the generic synth part)."""
        return dict(self.dataset_frame_sizes or ()).get(dataset, default)

    def label_noise_for(self, dataset: str) -> float:
        return self.smic_label_noise if dataset == "smic" else self.label_noise

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def without_nuisances(self) -> "SynthRealism":
        """Only the AU motion and the per-subject style: for measuring one knob at a time."""
        return replace(
            self,
            wrinkle_depth=0.0,
            label_noise=0.0,
            smic_label_noise=0.0,
            head_rotation_deg=0.0,
            head_translation_px=0.0,
            head_scale=0.0,
            head_yaw_pitch_deg=0.0,
            jaw_motion_px=0.0,
            blink_probability=0.0,
            flicker_range=(0.0, 0.0),
            shading_range=(0.0, 0.0),
            noise_sigma_range=(0.0, 0.0),
            jpeg_quality_range=None,
        )


def resolve_realism(realism: "str | SynthRealism") -> SynthRealism | None:
    """None for ``clean`` (the original generator), the knobs for anything else."""
    if isinstance(realism, SynthRealism):
        return realism
    if realism == "clean":
        return None
    if realism == "realistic":
        return SynthRealism()
    raise ValueError(f"unknown realism {realism!r}; choose from {', '.join(REALISM_PRESETS)}")


@dataclass(frozen=True)
class SubjectStyle:
    """How one subject moves: motion scale, per-AU direction and extent, preferred patterns."""

    motion_scale: float
    au_style: dict[int, tuple[float, float]]  # AU -> (direction turn in degrees, size factor)
    preferred: dict[str, tuple[tuple[int, ...], ...]]  # emotion -> the templates it shows

    def as_dict(self) -> dict[str, object]:
        return {
            "motion_scale": round(self.motion_scale, 4),
            "au_style": {
                str(au): [round(turn, 2), round(size, 3)]
                for au, (turn, size) in sorted(self.au_style.items())
            },
        }


def draw_subject_style(
    *,
    rng: np.random.Generator,
    realism: SynthRealism,
    templates: dict[str, tuple[tuple[int, ...], ...]],
    aus: tuple[int, ...],
) -> SubjectStyle:
    motion_scale = float(rng.lognormal(0.0, realism.subject_motion_sigma))
    au_style = {
        au: (
            float(rng.uniform(-realism.style_direction_deg, realism.style_direction_deg)),
            float(rng.uniform(*realism.style_size_range)),
        )
        for au in aus
    }
    preferred = {}
    for emotion, options in templates.items():
        low, high = realism.preferred_patterns
        count = min(int(rng.integers(low, high + 1)), len(options))
        chosen = rng.choice(len(options), size=count, replace=False)
        preferred[emotion] = tuple(options[i] for i in sorted(chosen))
    return SubjectStyle(motion_scale=motion_scale, au_style=au_style, preferred=preferred)


def _smooth_track(rng: np.random.Generator, frames: int, fps: int, still_frame: int) -> np.ndarray:
    """A smooth per-frame motion: two slow sinusoids (0.5..4 Hz) plus a drift, zero at
    ``still_frame`` and scaled so its peak magnitude is U(0.5, 1)."""
    t = np.arange(frames) / fps
    track = rng.uniform(-1, 1) * t / max(t[-1], 1e-9)
    for _ in range(2):
        track = track + rng.uniform(0.3, 1.0) * np.sin(
            2 * np.pi * rng.uniform(0.5, 4.0) * t + rng.uniform(0, 2 * np.pi)
        )
    track = track - track[still_frame]
    peak = np.abs(track).max()
    return (track / peak * rng.uniform(0.5, 1.0)) if peak > 0 else track


@dataclass(frozen=True)
class ClipNuisance:
    """The realistic part of one clip, drawn before any pixel (units: 112 px crop, degrees)."""

    au_peak_px: float  # peak apex AU displacement at the 112 px crop
    trace: bool
    head: np.ndarray  # (frames, 6): roll deg, tx px, ty px, scale delta, yaw deg, pitch deg
    jaw: np.ndarray  # (frames,) chin displacement, px, downwards
    shading_direction: tuple[float, float]  # unit vector across the face
    shading: np.ndarray  # (frames,) fractional lighting change along that direction
    wrinkle_depth: float
    jpeg_quality: int | None
    blink_over_apex: bool | None  # None: no blink

    def as_dict(self) -> dict[str, object]:
        return {
            "au_peak_px_112": round(self.au_peak_px, 4),
            "trace": self.trace,
            "head_peak": {
                name: round(float(np.abs(self.head[:, i]).max()), 4)
                for i, name in enumerate(
                    ("roll_deg", "tx_px", "ty_px", "scale", "yaw_deg", "pitch_deg")
                )
            },
            "jaw_peak_px_112": round(float(np.abs(self.jaw).max()), 4),
            "shading_peak": round(float(np.abs(self.shading).max()), 4),
            "wrinkle_depth": self.wrinkle_depth,
            "jpeg_quality": self.jpeg_quality,
            "blink_over_apex": self.blink_over_apex,
        }


def draw_nuisance(
    *,
    rng: np.random.Generator,
    realism: SynthRealism,
    frames: int,
    fps: int,
    motion_scale: float,
    trace: bool,
    blink_over_apex: bool | None,
    aligned_frame: int = 0,
) -> ClipNuisance:
    """One clip's nuisances. The head pose is measured from ``aligned_frame`` (the onset): the
    crops are aligned on that frame, as real crops are aligned on the onset frame."""
    peak = float(rng.uniform(*realism.au_motion_px)) * motion_scale
    if trace:
        peak *= realism.trace_gain
    knobs = (
        realism.head_rotation_deg,
        realism.head_translation_px,
        realism.head_translation_px,
        realism.head_scale,
        realism.head_yaw_pitch_deg,
        realism.head_yaw_pitch_deg,
    )
    head = np.stack(
        [knob * _smooth_track(rng, frames, fps, aligned_frame) for knob in knobs], axis=1
    )
    # The jaw moves once, in a smooth bump at a random time, down and back.
    centre, width = rng.uniform(0, frames), rng.uniform(0.1, 0.4) * frames
    bump = np.exp(-0.5 * ((np.arange(frames) - centre) / width) ** 2)
    jaw = realism.jaw_motion_px * rng.uniform(0.5, 1.0) * bump
    angle = rng.uniform(0, 2 * np.pi)
    ramp_start = rng.uniform(0, 0.5) * frames
    ramp = np.clip((np.arange(frames) - ramp_start) / max(frames - ramp_start, 1), 0, 1)
    shading = rng.uniform(*realism.shading_range) * ramp
    quality = None
    if realism.jpeg_quality_range is not None:
        quality = int(
            rng.integers(realism.jpeg_quality_range[0], realism.jpeg_quality_range[1] + 1)
        )
    return ClipNuisance(
        au_peak_px=peak,
        trace=trace,
        head=head.astype(np.float64),
        jaw=jaw.astype(np.float32),
        shading_direction=(float(np.cos(angle)), float(np.sin(angle))),
        shading=shading.astype(np.float32),
        wrinkle_depth=realism.wrinkle_depth,
        jpeg_quality=quality,
        blink_over_apex=blink_over_apex,
    )


def crop_pixels_per_frame_pixel(identity: Identity) -> float:
    """Scale of the 112 px alignment of ``identity``: knob pixels -> frame pixels divides by it."""
    transform = alignment_transform(identity.five_points(), KNOB_CROP_SIZE)
    return float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))


def head_homography(*, identity: Identity, head: np.ndarray, crop_scale: float) -> np.ndarray:
    """(3, 3) backward map (output pixel -> neutral-frame pixel) for one frame's head pose."""
    roll, tx, ty, scale, yaw, pitch = head
    g = identity.geometry
    cx, cy = g.center
    to_centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], float)
    back = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], float)
    angle = np.deg2rad(roll)
    similarity = np.array(
        [
            [(1 + scale) * np.cos(angle), -(1 + scale) * np.sin(angle), tx / crop_scale],
            [(1 + scale) * np.sin(angle), (1 + scale) * np.cos(angle), ty / crop_scale],
            [0, 0, 1],
        ]
    )
    # Out of plane: the face surface sits about one head half-width in front of the neck's
    # axis, so a yaw/pitch shifts it sideways, and the plane's tilt at a viewing distance of
    # about eight half-widths gives a slight keystone.
    depth, distance = g.half_width, 8 * g.half_width
    sin_yaw, sin_pitch = np.sin(np.deg2rad(yaw)), np.sin(np.deg2rad(pitch))
    perspective = np.array(
        [
            [np.cos(np.deg2rad(yaw)), 0, depth * sin_yaw],
            [0, np.cos(np.deg2rad(pitch)), depth * sin_pitch],
            [sin_yaw / distance, sin_pitch / distance, 1],
        ]
    )
    forward = back @ similarity @ perspective @ to_centre
    return np.linalg.inv(forward)


def _local_coordinates(
    identity: Identity, xs: np.ndarray, ys: np.ndarray, point: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel grids relative to ``point`` in the upright face frame (x right, y down)."""
    angle = np.deg2rad(identity.geometry.roll_degrees)
    dx, dy = xs - point[0], ys - point[1]
    return np.cos(angle) * dx + np.sin(angle) * dy, -np.sin(angle) * dx + np.cos(angle) * dy


def wrinkle_map(
    *,
    identity: Identity,
    aus: list[AUCode],
    region: tuple[int, int, int, int],
) -> np.ndarray | None:
    """Furrow strength 0..1 over ``region`` for the clip's AUs 4/6/9/10 (None if it has none).

    These are the texture changes of real skin that a displacement field cannot produce: a
    darkening in stripes (vertical furrows between the brows for AU4, crow's feet for AU6,
    horizontal lines on the nose root for AU9, a deeper nasolabial fold for AU10).
    """
    x0, y0, width, height = region
    ys, xs = np.mgrid[y0 : y0 + height, x0 : x0 + width].astype(np.float32)
    s, lm = identity.face_scale, identity.landmarks
    total = np.zeros((height, width), np.float32)
    found = False
    for code in aus:
        if code.number not in WRINKLE_AUS:
            continue
        found = True
        # Furrows deepen with intensity but saturate: skin folds only so far.
        gain = {"A": 0.5, "B": 0.75, "C": 1.0, "D": 1.2, "E": 1.4}[code.intensity or "C"]
        sides = {"L": ("left",), "R": ("right",)}.get(code.laterality, ("left", "right"))
        if code.number == 4:
            u, v = _local_coordinates(identity, xs, ys, lm["glabella"])
            envelope = np.exp(-0.5 * ((u / (0.07 * s)) ** 2 + (v / (0.06 * s)) ** 2))
            stripes = 0.5 + 0.5 * np.cos(2 * np.pi * u / (0.035 * s))
            total += gain * envelope * stripes
            continue
        for side in sides:
            sign = 1.0 if side == "left" else -1.0
            if code.number == 6:
                u, v = _local_coordinates(identity, xs, ys, lm[f"eye_outer_{side}"])
                u = sign * u - 0.05 * s  # lines start just outside the eye corner
                envelope = np.exp(-0.5 * ((u / (0.05 * s)) ** 2 + (v / (0.07 * s)) ** 2))
                rays = 0.5 + 0.5 * np.cos(2 * np.pi * (v + 0.3 * u) / (0.03 * s))
                total += gain * envelope * rays
            elif code.number == 9:
                point = lm["nose_root"]
                u, v = _local_coordinates(identity, xs, ys, point)
                u = sign * u - 0.04 * s
                envelope = np.exp(
                    -0.5 * ((u / (0.035 * s)) ** 2 + ((v - 0.04 * s) / (0.05 * s)) ** 2)
                )
                stripes = 0.5 + 0.5 * np.cos(2 * np.pi * v / (0.025 * s))
                total += gain * envelope * stripes
            else:  # AU10: the nasolabial fold from the nose wing to the mouth corner deepens
                start, end = np.array(lm[f"nose_wing_{side}"]), np.array(lm[f"mouth_corner_{side}"])
                axis = (end - start) / (np.linalg.norm(end - start) + 1e-6)
                along = (xs - start[0]) * axis[0] + (ys - start[1]) * axis[1]
                across = -(xs - start[0]) * axis[1] + (ys - start[1]) * axis[0]
                length = float(np.linalg.norm(end - start))
                inside = np.exp(-0.5 * ((along - 0.5 * length) / (0.4 * length)) ** 2)
                total += gain * inside * np.exp(-0.5 * (across / (0.012 * s)) ** 2)
    return np.clip(total, 0, 1.5) if found else None


def shading_plane(
    *, region: tuple[int, int, int, int], direction: tuple[float, float]
) -> np.ndarray:
    """-1..1 across the region along ``direction``: where a light change brightens or darkens."""
    _, _, width, height = region
    xs = np.linspace(-1, 1, width, dtype=np.float32)
    ys = np.linspace(-1, 1, height, dtype=np.float32)
    plane = direction[0] * xs[None, :] + direction[1] * ys[:, None]
    return plane / max(float(np.abs(plane).max()), 1e-6)


def jaw_field(
    *, identity: Identity, region: tuple[int, int, int, int], crop_scale: float
) -> np.ndarray:
    """(h, w, 2) downward chin displacement of 1 knob pixel at the chin, over ``region``."""
    x0, y0, width, height = region
    cx, cy = identity.landmarks["chin"]
    sigma = 0.3 * identity.face_scale
    xs = np.arange(x0, x0 + width, dtype=np.float32)
    ys = np.arange(y0, y0 + height, dtype=np.float32)
    weight = np.exp(-0.5 * ((ys[:, None] - cy) / sigma) ** 2) * np.exp(
        -0.5 * ((xs[None, :] - cx) / sigma) ** 2
    )
    dx, dy = identity.geometry.direction_to_image(0.0, 1.0)
    field_ = np.zeros((height, width, 2), np.float32)
    field_[..., 0] = weight * dx / crop_scale
    field_[..., 1] = weight * dy / crop_scale
    return field_


def camera_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (uint8) after a JPEG round trip at ``quality``: what the camera stored."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError("JPEG encoding failed")
    flags = cv2.IMREAD_GRAYSCALE if image.ndim == 2 else cv2.IMREAD_COLOR
    return cv2.imdecode(data, flags)
