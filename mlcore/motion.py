"""Motion representations of a clip: optical flow, strain, dynamic image, visualisations.

Each works on any pair (or run) of aligned frames: onset -> apex for recognition inputs, onset
-> every frame for the annotator's heat maps. Flow is (H, W, 2) float32 in pixels, channel 0 the
horizontal (x, to the right) and channel 1 the vertical (y, downwards) displacement that takes a
pixel of ``first`` to its place in ``second``.
"""

from collections.abc import Sequence

import cv2
import numpy as np

# cv2.applyColorMap rebuilds its table on every call, which costs more than the rest of a heat
# map; indexing a table built once gives the same colours.
_JET_BGR = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0]


def _gray(image: np.ndarray) -> np.ndarray:
    assert image.dtype == np.uint8, f"expected a uint8 image, got {image.dtype}"
    if image.ndim == 2:
        return image
    assert image.ndim == 3 and image.shape[2] == 3, f"expected gray or BGR, got {image.shape}"
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _gray_pair(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first, second = _gray(first), _gray(second)
    assert first.shape == second.shape, f"frames differ in size: {first.shape} vs {second.shape}"
    return first, second


def tvl1_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Dual TV-L1 optical flow (Zach et al. 2007) with OpenCV's defaults; the MER standard."""
    first, second = _gray_pair(first, second)
    flow = cv2.optflow.DualTVL1OpticalFlow_create().calc(first, second, None)
    return flow.astype(np.float32, copy=False)


def farneback_flow(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Farneback optical flow: ~50x faster than TV-L1, good enough for previews."""
    first, second = _gray_pair(first, second)
    flow = cv2.calcOpticalFlowFarneback(
        first,
        second,
        None,
        pyr_scale=0.5,
        levels=3,
        winsize=15,
        iterations=2,
        poly_n=5,
        poly_sigma=1.2,
        flags=0,
    )
    return flow.astype(np.float32, copy=False)


def _check_flow(flow: np.ndarray) -> None:
    assert flow.ndim >= 3 and flow.shape[-1] == 2, f"expected (..., H, W, 2) flow, got {flow.shape}"


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
    """Displacement length per pixel: (..., H, W, 2) -> (..., H, W) float32."""
    _check_flow(flow)
    return np.hypot(flow[..., 0], flow[..., 1]).astype(np.float32, copy=False)


def normalise_flow(flow: np.ndarray, *, scale: float | None = None) -> np.ndarray:
    """Flow divided by ``scale``, by default the largest magnitude in ``flow``.

    For per-clip normalisation pass all of a clip's flows stacked as (T, H, W, 2), or compute the
    clip's maximum once and pass it as ``scale``. Magnitudes end up in [0, 1] with the default
    scale; a motionless flow stays zero.
    """
    _check_flow(flow)
    if scale is None:
        scale = float(flow_magnitude(flow).max(initial=0.0))
    elif scale <= 0:
        raise ValueError(f"flow scale must be positive, got {scale}")
    if scale == 0.0:
        return np.zeros_like(flow, dtype=np.float32)
    return (flow / scale).astype(np.float32)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2), (H, W, 2) -> (H, W) float32.

    The infinitesimal strain tensor of the displacement field (u, v): e_xx = du/dx,
    e_yy = dv/dy, e_xy = (du/dy + dv/dx) / 2 (central differences). A rigid translation has no
    strain; skin stretching or compressing has. Used by STSTNet as the third input channel.
    """
    assert flow.ndim == 3 and flow.shape[2] == 2, f"expected (H, W, 2) flow, got {flow.shape}"
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    du_dy, du_dx = np.gradient(u)
    dv_dy, dv_dx = np.gradient(v)
    shear = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2.0 * shear**2).astype(np.float32)


def remove_affine_motion(flow: np.ndarray, *, keep_fraction: float = 0.7) -> np.ndarray:
    """The flow less its best-fitting 6-parameter affine field (head motion), (H, W, 2).

    u = a0 + a1 x + a2 y and v = b0 + b1 x + b2 y are fitted by least squares, then refitted on
    the ``keep_fraction`` of pixels with the smallest residual: an expression moves a small
    part of the face, so its pixels are the outliers of a rigid head motion and the refit
    ignores them.
    """
    assert flow.ndim == 3 and flow.shape[2] == 2, f"expected (H, W, 2) flow, got {flow.shape}"
    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    height, width = flow.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    design = np.stack([np.ones(xs.size), xs.ravel() / width, ys.ravel() / height], 1)
    target = flow.reshape(-1, 2).astype(np.float64)
    coefficients = np.linalg.lstsq(design, target, rcond=None)[0]
    residual = np.hypot(*(target - design @ coefficients).T)
    kept = residual <= np.quantile(residual, keep_fraction)
    coefficients = np.linalg.lstsq(design[kept], target[kept], rcond=None)[0]
    return (target - design @ coefficients).reshape(height, width, 2).astype(np.float32)


def rank_pooling_coefficients(length: int) -> np.ndarray:
    """Approximate rank pooling weights alpha_t (Bilen et al., CVPR 2016, eq. 4).

    alpha_t = 2 (T - t + 1) - (T + 1) (H_T - H_{t-1}), t = 1..T, H_t the t-th harmonic number
    (H_0 = 0), the same weights as the authors' MATLAB ``sum((2*(t:T)-T-1) ./ (t:T))``. They
    sum to zero, so a static clip pools to zero; early frames weigh negative, late ones
    positive, so brightening pools positive.
    """
    if length < 2:
        raise ValueError(f"a dynamic image needs at least 2 frames, got {length}")
    t = np.arange(1, length + 1, dtype=np.float64)
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / t)])
    return 2.0 * (length - t + 1) - (length + 1) * (harmonic[length] - harmonic[:length])


def dynamic_image(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Approximate rank pooling of the frames into one float32 image of the frames' shape.

    Positive where the clip brightens over time, negative where it darkens, ~0 where static.
    The values are unnormalised (scale them for display or for a network's input range).
    """
    frames = list(frames)
    coefficients = rank_pooling_coefficients(len(frames))
    shape = frames[0].shape
    pooled = np.zeros(shape, dtype=np.float64)
    for frame, coefficient in zip(frames, coefficients, strict=True):
        assert frame.shape == shape, f"frames differ in shape: {frame.shape} vs {shape}"
        pooled += coefficient * frame
    return pooled.astype(np.float32)


def flow_to_color(flow: np.ndarray, *, scale: float | None = None) -> np.ndarray:
    """HSV false colour: hue = direction, brightness = magnitude / ``scale`` (default the max)."""
    assert flow.ndim == 3 and flow.shape[2] == 2, f"expected (H, W, 2) flow, got {flow.shape}"
    magnitude, angle = cv2.cartToPolar(
        flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32), angleInDegrees=True
    )
    hsv = np.empty((*flow.shape[:2], 3), dtype=np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)  # OpenCV hue runs 0..180
    hsv[..., 1] = 255
    hsv[..., 2] = _to_unit(magnitude, scale=scale) * 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def motion_heatmap(
    magnitude: np.ndarray,
    *,
    background: np.ndarray | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """Magnitude as a colour map (BGR uint8), blended over ``background`` when given.

    ``scale`` maps to the hottest colour (default the max of ``magnitude``); pass the clip's
    scale so that frames of one clip compare. Over a background the colour's opacity grows with
    the magnitude, so still parts of the face stay visible as they are.
    """
    assert magnitude.ndim == 2, f"expected an (H, W) magnitude, got {magnitude.shape}"
    unit = _to_unit(magnitude, scale=scale)
    colour = _JET_BGR[(unit * 255).astype(np.uint8)]
    if background is None:
        return colour
    if background.ndim == 2:
        background = cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
    assert background.shape == colour.shape, (
        f"background {background.shape} does not match magnitude {magnitude.shape}"
    )
    opacity = np.float32(0.15) + np.float32(0.75) * unit
    return cv2.blendLinear(colour, background, opacity, 1 - opacity)


def _to_unit(values: np.ndarray, *, scale: float | None) -> np.ndarray:
    if scale is None:
        scale = float(values.max(initial=0.0))
    if scale <= 0:
        return np.zeros(values.shape, dtype=np.float32)
    return np.clip(values / scale, 0.0, 1.0).astype(np.float32)
