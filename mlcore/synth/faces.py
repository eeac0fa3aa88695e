"""Synthetic identities: procedurally drawn faces with known landmarks.

A face is drawn with smooth shading (a Lambert-lit head ellipsoid, Gaussian-blurred features,
darker eye sockets and brows, a mouth line) so that OpenCV's Haar frontal-face cascade fires on
it, and with a fine skin texture so that small warps produce optical flow. Geometry (face shape,
eye distance, brow height, nose, mouth width, roll) and appearance (skin tone, hair, texture,
illumination, background) are drawn per subject from a seeded generator.

Sides follow FACS: ``left`` is the subject's left, which is the image's right (larger x), so a
coded ``L12`` moves the ``mouth_corner_left`` landmark.
"""

from dataclasses import dataclass, field

import cv2
import numpy as np

from mlcore.synth.canvas import Canvas, gaussian_blob, smooth_noise

# Geometry is designed at 640x480 and scaled with the frame size.
REFERENCE_SIZE = (640, 480)
SIDES = ("left", "right")


@dataclass(frozen=True)
class FaceGeometry:
    """Face shape in pixels of the rendered frame; offsets are relative to the head centre."""

    center: tuple[float, float]
    half_width: float
    half_height: float
    roll_degrees: float
    eye_offset_x: float
    eye_offset_y: float
    eye_half_width: float
    eye_half_height: float
    brow_gap: float
    brow_thickness: float
    brow_arch: float
    nose_offset_y: float
    nose_half_width: float
    mouth_offset_y: float
    mouth_half_width: float
    mouth_corner_lift: float
    upper_lip_height: float
    lower_lip_height: float
    hairline_offset_y: float

    def to_image(self, dx: float, dy: float) -> tuple[float, float]:
        """Face-frame offset (x right, y down, upright face) -> image coordinates."""
        angle = np.deg2rad(self.roll_degrees)
        cos, sin = float(np.cos(angle)), float(np.sin(angle))
        return (
            self.center[0] + cos * dx - sin * dy,
            self.center[1] + sin * dx + cos * dy,
        )

    def direction_to_image(self, dx: float, dy: float) -> tuple[float, float]:
        angle = np.deg2rad(self.roll_degrees)
        cos, sin = float(np.cos(angle)), float(np.sin(angle))
        return (cos * dx - sin * dy, sin * dx + cos * dy)


@dataclass(frozen=True)
class Appearance:
    skin_bgr: tuple[float, float, float]
    hair_bgr: tuple[float, float, float]
    iris_bgr: tuple[float, float, float]
    lip_bgr: tuple[float, float, float]
    background_bgr: tuple[float, float, float]
    clothing_bgr: tuple[float, float, float]
    light_direction: tuple[float, float, float]
    ambient: float
    brow_darkness: float
    texture_strength: float
    bald: bool


@dataclass
class Identity:
    """One synthetic subject: its neutral frame, a closed-eyes frame (for blinks) and landmarks."""

    index: int
    geometry: FaceGeometry
    appearance: Appearance
    landmarks: dict[str, tuple[float, float]]
    neutral: np.ndarray = field(repr=False)  # float32 (H, W, 3) BGR in 0..1
    eyes_closed: np.ndarray = field(repr=False)

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.neutral.shape[:2]
        return (width, height)

    @property
    def face_scale(self) -> float:
        """Head half-width in pixels: the unit of every AU region size."""
        return self.geometry.half_width

    def five_points(self) -> np.ndarray:
        """RetinaFace order, image left to right: eyes, nose tip, mouth corners; (5, 2)."""
        names = ("eye_right", "eye_left", "nose_tip", "mouth_corner_right", "mouth_corner_left")
        return np.array([self.landmarks[name] for name in names], dtype=np.float32)


def _draw_geometry(rng: np.random.Generator, width: int, height: int) -> FaceGeometry:
    scale = min(width / REFERENCE_SIZE[0], height / REFERENCE_SIZE[1])
    half_width = rng.uniform(90, 112) * scale
    half_height = half_width * rng.uniform(1.24, 1.38)
    eye_half_width = half_width * rng.uniform(0.14, 0.17)
    nose_offset_y = half_height * rng.uniform(0.28, 0.36)
    eye_offset_y = -half_height * rng.uniform(0.04, 0.12)
    mouth_offset_y = nose_offset_y + half_height * rng.uniform(0.2, 0.27)
    return FaceGeometry(
        center=(
            width / 2 + rng.uniform(-18, 18) * scale,
            height / 2 + rng.uniform(0, 16) * scale,
        ),
        half_width=half_width,
        half_height=half_height,
        roll_degrees=rng.uniform(-3.5, 3.5),
        eye_offset_x=half_width * rng.uniform(0.37, 0.45),
        eye_offset_y=eye_offset_y,
        eye_half_width=eye_half_width,
        eye_half_height=eye_half_width * rng.uniform(0.38, 0.48),
        # Brows 0.35-0.5 eye distances above the eyes, as on aligned real faces (the AU boxes
        # of `mlcore.models.frl_dgt` assume it).
        brow_gap=half_height * rng.uniform(0.22, 0.3),
        brow_thickness=half_height * rng.uniform(0.035, 0.055),
        brow_arch=half_height * rng.uniform(0.01, 0.04),
        nose_offset_y=nose_offset_y,
        nose_half_width=half_width * rng.uniform(0.14, 0.2),
        mouth_offset_y=mouth_offset_y,
        mouth_half_width=half_width * rng.uniform(0.27, 0.37),
        mouth_corner_lift=half_height * rng.uniform(-0.015, 0.015),
        upper_lip_height=half_height * rng.uniform(0.035, 0.055),
        lower_lip_height=half_height * rng.uniform(0.045, 0.07),
        hairline_offset_y=-half_height * rng.uniform(0.48, 0.62),
    )


def _draw_appearance(rng: np.random.Generator) -> Appearance:
    # Skin tones from light to dark along a warm axis (BGR), with a little hue spread.
    light, dark = np.array([190, 215, 245]), np.array([45, 70, 105])
    skin = light + (dark - light) * rng.uniform(0, 1) + rng.normal(0, 6, 3)
    hair_choices = np.array(
        [[20, 22, 25], [25, 40, 65], [40, 70, 110], [90, 140, 180], [130, 130, 135]]
    )
    hair = hair_choices[rng.integers(len(hair_choices))] + rng.normal(0, 5, 3)
    iris_choices = np.array([[30, 50, 80], [20, 30, 40], [120, 90, 60], [70, 100, 60]])
    iris = iris_choices[rng.integers(len(iris_choices))]
    lip = skin * np.array([0.72, 0.7, 0.9])
    light_dir = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.5, 0.1), 1.0])
    return Appearance(
        skin_bgr=tuple(np.clip(skin, 0, 255) / 255),
        hair_bgr=tuple(np.clip(hair, 0, 255) / 255),
        iris_bgr=tuple(iris / 255),
        lip_bgr=tuple(np.clip(lip, 0, 255) / 255),
        background_bgr=tuple(rng.uniform(0.2, 0.9, 3)),
        clothing_bgr=tuple(rng.uniform(0.05, 0.8, 3)),
        light_direction=tuple(light_dir / np.linalg.norm(light_dir)),
        ambient=rng.uniform(0.35, 0.5),
        brow_darkness=rng.uniform(0.55, 0.85),
        texture_strength=rng.uniform(0.05, 0.09),
        bald=bool(rng.uniform() < 0.15),
    )


def _landmarks(geometry: FaceGeometry) -> dict[str, tuple[float, float]]:
    g = geometry
    points: dict[str, tuple[float, float]] = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        eye_x = sign * g.eye_offset_x
        brow_y = g.eye_offset_y - g.brow_gap
        inner_x = eye_x - sign * 1.05 * g.eye_half_width
        outer_x = eye_x + sign * g.eye_half_width
        local = {
            f"eye_{side}": (eye_x, g.eye_offset_y),
            f"eye_inner_{side}": (eye_x - sign * g.eye_half_width, g.eye_offset_y),
            f"eye_outer_{side}": (eye_x + sign * g.eye_half_width, g.eye_offset_y),
            f"upper_lid_{side}": (eye_x, g.eye_offset_y - g.eye_half_height),
            f"lower_lid_{side}": (eye_x, g.eye_offset_y + g.eye_half_height),
            f"brow_inner_{side}": (inner_x, brow_y + g.brow_arch * 0.5),
            f"brow_mid_{side}": (eye_x + sign * 0.1 * g.eye_half_width, brow_y - g.brow_arch),
            f"brow_outer_{side}": (outer_x, brow_y + g.brow_arch * 0.3),
            f"cheek_{side}": (
                sign * (g.eye_offset_x + 0.1 * g.half_width),
                g.eye_offset_y + 0.45 * (g.nose_offset_y - g.eye_offset_y) + 0.12 * g.half_height,
            ),
            f"nose_wing_{side}": (sign * g.nose_half_width, g.nose_offset_y - 0.04 * g.half_height),
            f"mouth_corner_{side}": (
                sign * g.mouth_half_width,
                g.mouth_offset_y - g.mouth_corner_lift,
            ),
            f"upper_lip_{side}": (
                sign * 0.5 * g.mouth_half_width,
                g.mouth_offset_y - 0.8 * g.upper_lip_height,
            ),
            f"jaw_{side}": (sign * 0.86 * g.half_width, 0.5 * g.half_height),
        }
        points.update(local)
    chin_y = 0.93 * g.half_height
    points.update(
        {
            "glabella": (0.0, g.eye_offset_y - 0.75 * g.brow_gap),
            "forehead": (0.0, 0.5 * (g.hairline_offset_y + g.eye_offset_y - g.brow_gap)),
            "nose_root": (0.0, g.eye_offset_y),
            "nose_tip": (0.0, g.nose_offset_y),
            "upper_lip": (0.0, g.mouth_offset_y - g.upper_lip_height),
            "mouth_center": (0.0, g.mouth_offset_y),
            "lower_lip": (0.0, g.mouth_offset_y + g.lower_lip_height),
            "chin": (0.0, chin_y),
            "chin_boss": (0.0, 0.5 * (g.mouth_offset_y + g.lower_lip_height + chin_y)),
        }
    )
    return {name: g.to_image(*offset) for name, offset in points.items()}


def _render(
    *,
    geometry: FaceGeometry,
    appearance: Appearance,
    landmarks: dict[str, tuple[float, float]],
    texture_seed: np.random.SeedSequence,
    width: int,
    height: int,
    eyes_open: bool,
) -> np.ndarray:
    g, a, lm = geometry, appearance, landmarks
    scale = min(width / REFERENCE_SIZE[0], height / REFERENCE_SIZE[1])
    canvas = Canvas(width=width, height=height, scale=scale)
    # The texture generator is re-created for both renders so open and closed eyes share skin.
    rng = np.random.default_rng(texture_seed)

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    gradient = 0.85 + 0.3 * (xs / width) * a.light_direction[0] + 0.15 * (ys / height)
    canvas.image[:] = np.asarray(a.background_bgr, np.float32) * gradient[..., None]
    canvas.image *= (1 + 0.04 * smooth_noise(rng, (height, width), 25 * scale))[..., None]

    cx, cy = g.center
    angle = g.roll_degrees
    # Shoulders and neck sit below the head.
    canvas.paint(
        canvas.ellipse_mask(
            centre=(cx, cy + 2.6 * g.half_height),
            axes=(3.2 * g.half_width, 1.3 * g.half_height),
            angle=0,
            blur=3,
        ),
        a.clothing_bgr,
    )
    neck = canvas.polyline_mask(
        points=[g.to_image(0, 0.6 * g.half_height), g.to_image(0, 1.5 * g.half_height)],
        thickness=1.15 * g.half_width,
        blur=3,
    )
    canvas.paint(neck, np.asarray(a.skin_bgr) * 0.7)
    if not a.bald:
        canvas.paint(
            canvas.ellipse_mask(
                centre=g.to_image(0, -0.12 * g.half_height),
                axes=(1.12 * g.half_width, 1.08 * g.half_height),
                angle=angle,
                blur=4,
            ),
            a.hair_bgr,
        )
    for sign in (1, -1):  # ears
        ear = g.to_image(sign * 0.98 * g.half_width, g.eye_offset_y + 0.18 * g.half_height)
        canvas.paint(
            canvas.ellipse_mask(
                centre=ear, axes=(0.12 * g.half_width, 0.24 * g.half_height), angle=angle, blur=2
            ),
            np.asarray(a.skin_bgr) * 0.8,
        )

    # Head: a Lambert-lit ellipsoid, so the face has the smooth shading Haar features expect.
    rel_x, rel_y = xs - cx, ys - cy
    rad = np.deg2rad(angle)
    u = (np.cos(rad) * rel_x + np.sin(rad) * rel_y) / g.half_width
    v = (-np.sin(rad) * rel_x + np.cos(rad) * rel_y) / g.half_height
    z = np.sqrt(np.clip(1 - u**2 - v**2, 0, 1))
    normal = np.stack([u, v * 0.8, z * 1.3], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-6
    lambert = np.clip(normal @ np.asarray(a.light_direction, np.float32), 0, 1)
    shading = a.ambient + (1 - a.ambient) * lambert
    skin_layer = np.asarray(a.skin_bgr, np.float32) * (0.45 + 0.75 * shading)[..., None]
    head = canvas.ellipse_mask(
        centre=(cx, cy), axes=(g.half_width, g.half_height), angle=angle, blur=2.5
    )
    canvas.image = canvas.image * (1 - head[..., None]) + skin_layer * head[..., None]

    # Darker eye sockets, side-of-nose shadows, lighter nose bridge and cheeks.
    for side in SIDES:
        ex, ey = lm[f"eye_{side}"]
        canvas.shade(
            gaussian_blob(
                width,
                height,
                (ex, ey - 0.2 * g.eye_half_height),
                (1.3 * g.eye_half_width, 2.4 * g.eye_half_height),
            ),
            0.72,
        )
        canvas.shade(
            gaussian_blob(
                width, height, lm[f"cheek_{side}"], (0.18 * g.half_width, 0.12 * g.half_height)
            ),
            1.07,
        )
        wing = lm[f"nose_wing_{side}"]
        canvas.shade(
            gaussian_blob(width, height, wing, (0.05 * g.half_width, 0.06 * g.half_height)), 0.8
        )
    bridge = canvas.polyline_mask(
        points=[lm["nose_root"], lm["nose_tip"]], thickness=0.1 * g.half_width, blur=5
    )
    canvas.shade(bridge, 1.1)
    canvas.shade(
        gaussian_blob(width, height, lm["nose_tip"], (0.09 * g.half_width, 0.05 * g.half_height)),
        1.08,
    )
    for sign in (1, -1):
        nostril = g.to_image(
            sign * 0.45 * g.nose_half_width, g.nose_offset_y + 0.035 * g.half_height
        )
        canvas.shade(
            canvas.ellipse_mask(
                centre=nostril,
                axes=(0.05 * g.half_width, 0.022 * g.half_height),
                angle=angle,
                blur=1.5,
            ),
            0.45,
        )
        fold = [
            g.to_image(sign * 1.05 * g.nose_half_width, g.nose_offset_y),
            g.to_image(sign * 1.1 * g.mouth_half_width, g.mouth_offset_y + 0.02 * g.half_height),
        ]
        canvas.shade(canvas.polyline_mask(points=fold, thickness=2 * scale, blur=2.5), 0.88)
    # Lips, the mouth line between them and a shadow under the lower lip.
    upper = g.to_image(0, g.mouth_offset_y - 0.5 * g.upper_lip_height)
    lower = g.to_image(0, g.mouth_offset_y + 0.5 * g.lower_lip_height)
    canvas.paint(
        canvas.ellipse_mask(
            centre=upper,
            axes=(0.95 * g.mouth_half_width, 0.6 * g.upper_lip_height),
            angle=angle,
            blur=1.5,
        ),
        a.lip_bgr,
        0.85,
    )
    canvas.paint(
        canvas.ellipse_mask(
            centre=lower,
            axes=(0.85 * g.mouth_half_width, 0.6 * g.lower_lip_height),
            angle=angle,
            blur=1.5,
        ),
        a.lip_bgr,
        0.8,
    )
    mouth_line = [
        lm["mouth_corner_right"],
        g.to_image(-0.5 * g.mouth_half_width, g.mouth_offset_y + 0.004 * g.half_height),
        lm["mouth_center"],
        g.to_image(0.5 * g.mouth_half_width, g.mouth_offset_y + 0.004 * g.half_height),
        lm["mouth_corner_left"],
    ]
    canvas.shade(canvas.polyline_mask(points=mouth_line, thickness=2.5 * scale, blur=1.0), 0.35)
    canvas.shade(
        gaussian_blob(width, height, lm["chin_boss"], (0.25 * g.half_width, 0.05 * g.half_height)),
        0.9,
    )

    for side, sign in (("left", 1), ("right", -1)):
        ex, ey = lm[f"eye_{side}"]
        eye_axes = (g.eye_half_width, g.eye_half_height)
        if eyes_open:
            sclera = canvas.ellipse_mask(centre=(ex, ey), axes=eye_axes, angle=angle, blur=1.0)
            canvas.paint(sclera, (0.78, 0.8, 0.82))
            iris = canvas.ellipse_mask(
                centre=(ex, ey), axes=(0.95 * g.eye_half_height,) * 2, angle=0, blur=0.8
            )
            canvas.paint(iris * sclera, a.iris_bgr)
            pupil = canvas.ellipse_mask(
                centre=(ex, ey), axes=(0.4 * g.eye_half_height,) * 2, angle=0, blur=0.6
            )
            canvas.paint(pupil * sclera, (0.03, 0.03, 0.03))
            # The lash line follows the top of the open eye ...
            arc_height, arc_offset = -g.eye_half_height, 0.0
        else:
            # ... and curves down below the eye centre when the lid is closed.
            arc_height, arc_offset = 0.45 * g.eye_half_height, 0.3 * g.eye_half_height
        lid = [
            g.to_image(
                sign * g.eye_offset_x + t * g.eye_half_width,
                g.eye_offset_y + arc_offset + arc_height * np.sqrt(max(1 - t**2, 0)),
            )
            for t in np.linspace(-1.05, 1.05, 9)
        ]
        canvas.shade(canvas.polyline_mask(points=lid, thickness=2.2 * scale, blur=0.9), 0.3)
        crease = [
            g.to_image(
                sign * g.eye_offset_x + t * g.eye_half_width,
                g.eye_offset_y - 1.5 * g.eye_half_height * np.sqrt(max(1 - t**2, 0)),
            )
            for t in np.linspace(-0.9, 0.9, 7)
        ]
        canvas.shade(canvas.polyline_mask(points=crease, thickness=1.5 * scale, blur=1.5), 0.85)
        brow = [lm[f"brow_inner_{side}"], lm[f"brow_mid_{side}"], lm[f"brow_outer_{side}"]]
        brow_mask = canvas.polyline_mask(points=brow, thickness=g.brow_thickness, blur=2.0)
        canvas.paint(brow_mask, a.hair_bgr, a.brow_darkness)

    if not a.bald:
        # Hair cap over the forehead down to the hairline.
        cap_depth = 0.45 * g.half_height
        cap_centre = g.to_image(0, g.hairline_offset_y - cap_depth)
        cap = canvas.ellipse_mask(
            centre=cap_centre, axes=(1.08 * g.half_width, cap_depth), angle=angle, blur=4
        )
        canvas.paint(cap, a.hair_bgr)

    # Skin texture (pores and blotches), then a mild blur so nothing has hard pixel edges.
    texture = 0.6 * smooth_noise(rng, (height, width), 0.9 * scale) + 0.4 * smooth_noise(
        rng, (height, width), 4 * scale
    )
    canvas.image *= (1 + a.texture_strength * texture)[..., None]
    image = cv2.GaussianBlur(canvas.image, (0, 0), 0.6 * scale)
    return np.clip(image, 0, 1)


def make_identity(*, index: int, seed: int, size: tuple[int, int] = REFERENCE_SIZE) -> Identity:
    """The ``index``-th identity of ``seed``; the same arguments give the same pixels."""
    width, height = size
    if width < 64 or height < 48:
        raise ValueError(f"frame size {width}x{height} is too small for a face (minimum 64x48)")
    sequence = np.random.SeedSequence([seed, 0xFACE, index])
    shape_seed, texture_seed = sequence.spawn(2)
    rng = np.random.default_rng(shape_seed)
    geometry = _draw_geometry(rng, width, height)
    appearance = _draw_appearance(rng)
    landmarks = _landmarks(geometry)
    common = dict(
        geometry=geometry,
        appearance=appearance,
        landmarks=landmarks,
        texture_seed=texture_seed,
        width=width,
        height=height,
    )
    return Identity(
        index=index,
        geometry=geometry,
        appearance=appearance,
        landmarks=landmarks,
        neutral=_render(**common, eyes_open=True),
        eyes_closed=_render(**common, eyes_open=False),
    )
