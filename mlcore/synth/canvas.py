"""Soft-edged drawing on a float BGR image: cv2 shapes blurred into alpha masks, smooth blobs
and noise. The faces of `mlcore.synth.faces` are painted with it."""

import cv2
import numpy as np


class Canvas:
    """Float BGR image with soft-edged drawing helpers (cv2 shapes blurred into alpha masks)."""

    def __init__(self, *, width: int, height: int, scale: float) -> None:
        self.image = np.zeros((height, width, 3), np.float32)
        self.width, self.height, self.scale = width, height, scale
        self._shift = 4  # cv2 fixed-point bits: sub-pixel shapes

    def _fixed(self, value: float) -> int:
        return round(value * (1 << self._shift))

    def _soften(self, mask: np.ndarray, blur: float) -> np.ndarray:
        sigma = max(blur * self.scale, 0.3)
        return cv2.GaussianBlur(mask, (0, 0), sigma)

    def ellipse_mask(
        self, *, centre: tuple[float, float], axes: tuple[float, float], angle: float, blur: float
    ) -> np.ndarray:
        mask = np.zeros((self.height, self.width), np.float32)
        cv2.ellipse(
            mask,
            (self._fixed(centre[0]), self._fixed(centre[1])),
            (self._fixed(max(axes[0], 0.5)), self._fixed(max(axes[1], 0.5))),
            angle,
            0,
            360,
            1.0,
            -1,
            cv2.LINE_AA,
            self._shift,
        )
        return self._soften(mask, blur)

    def polyline_mask(
        self, *, points: list[tuple[float, float]], thickness: float, blur: float
    ) -> np.ndarray:
        mask = np.zeros((self.height, self.width), np.float32)
        fixed = np.array([[self._fixed(x), self._fixed(y)] for x, y in points], np.int32)
        cv2.polylines(mask, [fixed], False, 1.0, max(round(thickness), 1), cv2.LINE_AA, self._shift)
        return self._soften(mask, blur)

    def paint(
        self,
        mask: np.ndarray,
        colour: tuple[float, float, float] | np.ndarray,
        strength: float = 1.0,
    ) -> None:
        rows, cols = _support(mask)
        alpha = np.clip(mask[rows, cols] * strength, 0, 1)[..., None]
        region = self.image[rows, cols]
        region *= 1 - alpha
        region += alpha * np.asarray(colour, np.float32)

    def shade(self, mask: np.ndarray, factor: float) -> None:
        """Multiply by ``factor`` where the mask is 1 (darker < 1 < lighter)."""
        rows, cols = _support(mask)
        self.image[rows, cols] *= (1 + (factor - 1) * mask[rows, cols])[..., None]


def _support(mask: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the visible part of a mask: drawing only there is much faster."""
    x, y, width, height = cv2.boundingRect((mask > 1e-3).astype(np.uint8))
    return slice(y, y + height), slice(x, x + width)


def gaussian_blob(
    width: int, height: int, centre: tuple[float, float], sigma: tuple[float, float]
) -> np.ndarray:
    xs = (np.arange(width, dtype=np.float32) - centre[0]) / sigma[0]
    ys = (np.arange(height, dtype=np.float32) - centre[1]) / sigma[1]
    return np.exp(-0.5 * ys[:, None] ** 2) * np.exp(-0.5 * xs[None, :] ** 2)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    noise = rng.standard_normal(shape, dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigma)
    return noise / (noise.std() + 1e-6)
