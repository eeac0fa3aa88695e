"""Synthetic composite crops go through the production alignment, as real clips do.

Real composite crops come from `mlcore.faces.align`: a detector's five landmarks on the onset
frame, a similarity transform onto the ArcFace template, one warp for every frame of the clip.
The synthetic crops are made the same way from the identity's true five points plus a
detector-like landmark error, so the faces sit where the AU regions of `mlcore.models.frl_dgt`
expect them (and where they would on real data), not where a landmark bounding box puts them.
"""

from dataclasses import dataclass

import numpy as np

from mlcore.faces.align import align_face, alignment_transform
from mlcore.synth.faces import Identity


@dataclass(frozen=True)
class CropAlignment:
    """Frame -> crop similarity transform of one clip and the frame region the crop shows."""

    transform: np.ndarray  # (2, 3): frame pixels -> crop pixels
    region: tuple[int, int, int, int]  # (x, y, width, height) of the frame to render
    crop_size: int

    def to_crop(self, point: tuple[float, float]) -> tuple[float, float]:
        x, y = self.transform[:, :2] @ np.asarray(point, dtype=np.float64) + self.transform[:, 2]
        return (float(x), float(y))

    def warp(self, region_image: np.ndarray) -> np.ndarray:
        """The crop from an image of ``region`` (what `ClipRenderer` renders)."""
        x0, y0, width, height = self.region
        assert region_image.shape[:2] == (height, width), region_image.shape
        shifted = self.transform.copy()
        shifted[:, 2] += self.transform[:, :2] @ np.array([x0, y0], dtype=np.float64)
        return align_face(region_image, shifted, self.crop_size)


def align_identity(
    *, identity: Identity, crop_size: int, landmark_error: np.ndarray, landmark_noise: float
) -> CropAlignment:
    """The alignment a detector with error ``landmark_noise`` (std, as a fraction of the eye
    distance) would give: ``landmark_error`` is a (5, 2) standard normal draw of the clip."""
    assert landmark_error.shape == (5, 2), landmark_error.shape
    points = identity.five_points().astype(np.float64)
    eye_distance = float(np.linalg.norm(points[1] - points[0]))
    detected = points + landmark_noise * eye_distance * landmark_error
    transform = alignment_transform(detected, crop_size)
    # The frame pixels the crop shows: the inverse image of its corners, one pixel of margin
    # for bilinear sampling, clipped to the frame (outside it the crop is black, as on real data).
    linear, offset = transform[:, :2], transform[:, 2]
    corners = np.array([[0, 0], [crop_size, 0], [0, crop_size], [crop_size, crop_size]], float)
    sources = (np.linalg.inv(linear) @ (corners - offset).T).T
    width, height = identity.size
    x0 = int(np.clip(np.floor(sources[:, 0].min()) - 1, 0, width - 1))
    y0 = int(np.clip(np.floor(sources[:, 1].min()) - 1, 0, height - 1))
    x1 = int(np.clip(np.ceil(sources[:, 0].max()) + 2, x0 + 1, width))
    y1 = int(np.clip(np.ceil(sources[:, 1].max()) + 2, y0 + 1, height))
    return CropAlignment(
        transform=transform, region=(x0, y0, x1 - x0, y1 - y0), crop_size=crop_size
    )
