"""Motion representations on images with known motion."""

import cv2
import numpy as np
import pytest

from mlcore.motion import (
    dynamic_image,
    farneback_flow,
    flow_magnitude,
    flow_to_color,
    motion_heatmap,
    normalise_flow,
    optical_strain,
    rank_pooling_coefficients,
    remove_affine_motion,
    tvl1_flow,
)


def texture(size: int = 64, *, seed: int = 0) -> np.ndarray:
    """Smooth random texture: every pixel has a gradient, so flow is well defined."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size * 2, size * 2)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.5)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255
    return smooth.astype(np.uint8)


def warp(image: np.ndarray, transform: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.warpAffine(image, transform, (width, height), flags=cv2.INTER_CUBIC)


def interior(array: np.ndarray, margin: int = 12) -> np.ndarray:
    return array[margin:-margin, margin:-margin]


@pytest.mark.parametrize("method", [tvl1_flow, farneback_flow])
def test_flow_recovers_a_known_translation(method) -> None:
    first = texture()
    second = warp(first, np.array([[1.0, 0.0, 1.5], [0.0, 1.0, -1.0]]))  # right 1.5, up 1

    flow = method(first, second)

    assert flow.shape == (*first.shape, 2) and flow.dtype == np.float32
    mean_u, mean_v = interior(flow).reshape(-1, 2).mean(axis=0)
    assert mean_u == pytest.approx(1.5, abs=0.15)
    assert mean_v == pytest.approx(-1.0, abs=0.15)
    assert np.median(interior(flow_magnitude(flow))) == pytest.approx(np.hypot(1.5, 1.0), abs=0.15)


def test_flow_accepts_bgr_and_gray_alike() -> None:
    first = texture(seed=1)
    second = warp(first, np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    as_bgr = [cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) for image in (first, second)]

    assert np.allclose(farneback_flow(*as_bgr), farneback_flow(first, second), atol=1e-4)
    with pytest.raises(AssertionError, match="differ in size"):
        farneback_flow(first, second[:-1])


def test_flow_magnitude_and_normalisation() -> None:
    flow = np.zeros((4, 5, 2), dtype=np.float32)
    flow[..., 0], flow[..., 1] = 3.0, 4.0
    flow[0, 0] = (6.0, 8.0)

    assert np.allclose(flow_magnitude(flow)[1:, 1:], 5.0)
    normalised = normalise_flow(flow)
    assert flow_magnitude(normalised).max() == pytest.approx(1.0)
    assert np.allclose(normalised[1, 1], [0.3, 0.4])
    assert np.allclose(normalise_flow(flow, scale=5.0)[1, 1], [0.6, 0.8])
    assert not normalise_flow(np.zeros((3, 3, 2), np.float32)).any()
    with pytest.raises(ValueError, match="positive"):
        normalise_flow(flow, scale=0.0)


def test_clip_normalisation_uses_the_largest_motion_of_the_clip() -> None:
    small = np.full((4, 4, 2), 0.5, dtype=np.float32)
    large = np.full((4, 4, 2), 2.0, dtype=np.float32)

    normalised = normalise_flow(np.stack([small, large]))

    assert normalised.shape == (2, 4, 4, 2)
    assert flow_magnitude(normalised[1]).max() == pytest.approx(1.0)
    assert flow_magnitude(normalised[0]).max() == pytest.approx(0.25)


def test_strain_is_zero_for_translation_and_positive_for_stretch() -> None:
    rows, cols = np.mgrid[0:32, 0:32].astype(np.float32)
    translation = np.stack([np.full_like(cols, 2.0), np.full_like(rows, -1.0)], axis=-1)
    stretch = np.stack([0.1 * cols, np.zeros_like(rows)], axis=-1)  # u = 0.1 x

    assert np.abs(optical_strain(translation)).max() < 1e-6
    assert np.allclose(optical_strain(stretch), 0.1, atol=1e-5)


def test_strain_of_measured_flow_tells_zoom_from_shift() -> None:
    first = texture(96, seed=2)
    shifted = warp(first, np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]))
    zoomed = warp(first, cv2.getRotationMatrix2D((96.0, 96.0), 0.0, 1.04))

    shift_strain = np.median(interior(optical_strain(tvl1_flow(first, shifted)), 24))
    zoom_strain = np.median(interior(optical_strain(tvl1_flow(first, zoomed)), 24))

    assert shift_strain < 0.015
    assert zoom_strain == pytest.approx(0.04 * np.sqrt(2), rel=0.35)  # e_xx = e_yy = 0.04


def test_rank_pooling_coefficients_match_bilens_code() -> None:
    for length in (2, 5, 30):
        alphas = rank_pooling_coefficients(length)
        # The authors' MATLAB: fw(i) = sum(((2*(i:N)-N-1) ./ (i:N))), a different route.
        reference = [
            sum((2 * k - length - 1) / k for k in range(i, length + 1))
            for i in range(1, length + 1)
        ]
        assert np.allclose(alphas, reference)
        assert alphas.sum() == pytest.approx(0.0, abs=1e-9)
        assert alphas[0] < 0 < alphas[-1]
    assert np.allclose(rank_pooling_coefficients(5), [-3.7, 0.3, 1.3, 1.3, 0.8])
    with pytest.raises(ValueError, match="at least 2 frames"):
        rank_pooling_coefficients(1)


def test_dynamic_image_of_a_static_clip_is_zero() -> None:
    frame = cv2.cvtColor(texture(32), cv2.COLOR_GRAY2BGR)

    pooled = dynamic_image([frame] * 10)

    assert pooled.shape == frame.shape and pooled.dtype == np.float32
    assert np.abs(pooled).max() < 1e-3


def test_dynamic_image_is_positive_where_the_clip_brightens() -> None:
    frames = []
    for step in range(8):
        frame = np.full((32, 32), 100, dtype=np.uint8)
        frame[8:16, 8:16] = 100 + 15 * step  # brightens
        frame[20:28, 20:28] = 200 - 15 * step  # darkens
        frames.append(frame)

    pooled = dynamic_image(frames)

    assert pooled[8:16, 8:16].min() > 0
    assert pooled[20:28, 20:28].max() < 0
    assert np.abs(pooled[:6, :6]).max() < 1e-3


def test_flow_colours_encode_direction_and_magnitude() -> None:
    flow = np.zeros((2, 3, 2), dtype=np.float32)
    flow[0, 0] = (2.0, 0.0)  # right: hue 0, red
    flow[0, 1] = (-2.0, 0.0)  # left: hue 180 degrees, cyan
    flow[0, 2] = (1.0, 0.0)  # right, half as long: half as bright

    colour = flow_to_color(flow)

    assert colour.shape == (2, 3, 3) and colour.dtype == np.uint8
    blue, green, red = (int(value) for value in colour[0, 0])
    assert red == 255 and blue < 10 and green < 10
    blue, green, red = (int(value) for value in colour[0, 1])
    assert red < 10 and blue > 245 and green > 245
    assert int(colour[0, 2, 2]) == pytest.approx(128, abs=2)
    assert not colour[1].any()  # no motion, black


def test_motion_heatmap_is_hot_where_the_face_moves() -> None:
    magnitude = np.zeros((16, 16), dtype=np.float32)
    magnitude[4:8, 4:8] = 2.0
    face = np.full((16, 16, 3), 120, dtype=np.uint8)

    plain = motion_heatmap(magnitude)
    over_face = motion_heatmap(magnitude, background=face, scale=2.0)
    half_scale = motion_heatmap(magnitude, background=face, scale=4.0)

    for image in (plain, over_face):
        assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    # JET: the strongest motion is red, stillness blue.
    assert plain[5, 5, 2] > 100 and plain[5, 5, 0] < 10
    assert plain[12, 12, 0] > 100 and plain[12, 12, 2] < 10
    # Over the face: still areas keep most of the face, moving ones turn red.
    assert np.abs(over_face[12, 12].astype(int) - 120).max() < 40
    assert over_face[5, 5, 2] > 100 and over_face[5, 5, 0] < 30  # JET tops out in dark red
    # A larger scale draws the same motion cooler.
    assert half_scale[5, 5, 2] < over_face[5, 5, 2]
    assert motion_heatmap(np.zeros((4, 4), np.float32)).shape == (4, 4, 3)


def test_affine_compensation_removes_head_motion_and_keeps_the_expression() -> None:
    size = 48
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    # Head motion: a 1 px shift, a 1 degree rotation and 1 % scale, all affine.
    angle, scale = np.deg2rad(1.0), 0.01
    head = np.stack(
        [
            1.0 + scale * (xs - 24) - angle * (ys - 24),
            -0.5 + angle * (xs - 24) + scale * (ys - 24),
        ],
        -1,
    )
    # The expression: a local 1.5 px upward push at one mouth corner.
    blob = np.exp(-((xs - 34) ** 2 + (ys - 38) ** 2) / (2 * 3.0**2))
    expression = np.stack([np.zeros_like(blob), -1.5 * blob], -1)

    residual = remove_affine_motion((head + expression).astype(np.float32))

    assert residual.shape == (size, size, 2) and residual.dtype == np.float32
    far = blob < 0.01
    assert np.abs(residual[far]).max() < 0.05  # the head motion is gone
    np.testing.assert_allclose(residual[38, 34], [0.0, -1.5], atol=0.1)  # the push is not
    with pytest.raises(ValueError, match="keep_fraction"):
        remove_affine_motion(head.astype(np.float32), keep_fraction=0.0)
