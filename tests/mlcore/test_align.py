"""5-point similarity alignment: the warp puts known landmarks on the template."""

import cv2
import numpy as np
import pytest

from mlcore.faces.align import (
    ARCFACE_TEMPLATE_112,
    align_face,
    alignment_transform,
    estimate_similarity,
    template_landmarks,
)

_SUBPIXEL = 16  # cv2.circle's fixed-point shift: centres placed to 1/16 pixel


def similarity(*, degrees: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    angle = np.radians(degrees)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, np.array(shift)[:, None]])


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ transform[:, :2].T + transform[:, 2]


def synthetic_face(landmarks: np.ndarray, *, size: tuple[int, int], radius: float) -> np.ndarray:
    """A light face-like ellipse with a dark disc centred on each landmark (sub-pixel)."""
    width, height = size
    image = np.full((height, width, 3), 40, dtype=np.uint8)
    centre = landmarks.mean(axis=0)
    span = np.linalg.norm(landmarks[1] - landmarks[0])
    axes = (round(1.3 * span), round(1.7 * span))
    cv2.ellipse(image, tuple(np.round(centre).astype(int)), axes, 0, 0, 360, (200, 190, 180), -1)
    for x, y in landmarks:
        cv2.circle(
            image,
            (round(x * _SUBPIXEL), round(y * _SUBPIXEL)),
            round(radius * _SUBPIXEL),
            (0, 0, 0),
            -1,
            cv2.LINE_AA,
            shift=4,
        )
    return image


def dark_blob_centres(crop: np.ndarray, near: np.ndarray, *, window: int) -> np.ndarray:
    """Darkness-weighted centroid of the blob around each expected position."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float64)
    darkness = np.clip(190.0 - gray, 0, None)
    centres = []
    for x, y in near:
        x0, y0 = round(x) - window, round(y) - window
        patch = darkness[y0 : y0 + 2 * window + 1, x0 : x0 + 2 * window + 1]
        rows, cols = np.mgrid[: patch.shape[0], : patch.shape[1]]
        total = patch.sum()
        centres.append([x0 + (cols * patch).sum() / total, y0 + (rows * patch).sum() / total])
    return np.array(centres)


def test_template_is_arcface_scaled() -> None:
    assert np.allclose(template_landmarks(112), ARCFACE_TEMPLATE_112)
    assert np.allclose(template_landmarks(224), 2 * ARCFACE_TEMPLATE_112)
    assert template_landmarks(112)[0, 0] < template_landmarks(112)[1, 0]  # image-left eye first
    with pytest.raises(ValueError, match="positive"):
        template_landmarks(0)


def test_estimate_similarity_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 200, (5, 2))
    known = similarity(degrees=23.0, scale=0.7, shift=(14.0, -9.0))

    estimated = estimate_similarity(points, apply(known, points))

    assert estimated.shape == (2, 3)
    assert np.allclose(estimated, known, atol=1e-9)


def test_estimate_similarity_never_mirrors() -> None:
    points = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 8.0], [2.0, 12.0], [8.0, 12.0]])
    mirrored = points * np.array([-1.0, 1.0])

    estimated = estimate_similarity(points, mirrored)

    assert np.linalg.det(estimated[:, :2]) > 0


def test_estimate_similarity_refuses_bad_points() -> None:
    with pytest.raises(ValueError, match="matching Nx2"):
        estimate_similarity(np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="coincide"):
        estimate_similarity(np.ones((5, 2)), ARCFACE_TEMPLATE_112)


@pytest.mark.parametrize("size", [112, 224])
def test_aligned_landmarks_land_on_the_template(size: int) -> None:
    # A face 2.6x the template's scale, tilted 14 degrees, somewhere in a 640x480 frame.
    placement = similarity(degrees=14.0, scale=2.6, shift=(180.0, 95.0))
    landmarks = apply(placement, ARCFACE_TEMPLATE_112)
    image = synthetic_face(landmarks, size=(640, 480), radius=7.0)

    transform = alignment_transform(landmarks, size)
    crop = align_face(image, transform, size)

    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    target = template_landmarks(size)
    measured = dark_blob_centres(crop, target, window=round(size * 0.06))
    # Well within 1 pixel: a half-pixel convention error (0.5 px) must fail this.
    assert np.abs(measured - target).max() < 0.25, f"{measured} vs {target}"


def test_one_transform_serves_the_whole_clip() -> None:
    """A frame that moved is warped with the onset transform: the motion stays visible."""
    landmarks = apply(similarity(degrees=0.0, scale=2.0, shift=(100.0, 60.0)), ARCFACE_TEMPLATE_112)
    onset = synthetic_face(landmarks, size=(400, 300), radius=6.0)
    moved = synthetic_face(landmarks + np.array([4.0, 0.0]), size=(400, 300), radius=6.0)
    transform = alignment_transform(landmarks, 112)

    onset_centres = dark_blob_centres(
        align_face(onset, transform, 112), ARCFACE_TEMPLATE_112, window=6
    )
    moved_centres = dark_blob_centres(
        align_face(moved, transform, 112), ARCFACE_TEMPLATE_112, window=6
    )

    # 4 source pixels at scale 1/2 are 2 crop pixels to the right.
    assert np.allclose(moved_centres - onset_centres, [2.0, 0.0], atol=0.25)
