"""Face detection interface and result type (the back ends and their factory import this).

Landmark order (five points, image coordinates, x then y), the order of RetinaFace and of the
ArcFace alignment template:

    0 eye on the image's left   (the subject's right eye)
    1 eye on the image's right  (the subject's left eye)
    2 nose tip
    3 mouth corner on the image's left
    4 mouth corner on the image's right

"Left" and "right" are always the image's, never the subject's.
"""

import abc
from dataclasses import dataclass

import numpy as np

RETINAFACE_WEIGHTS_ENV = "RETINAFACE_WEIGHTS"
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "left_mouth", "right_mouth")


# eq=False: the fields hold numpy arrays, whose == is elementwise, not a truth value.
@dataclass(frozen=True, eq=False)
class FaceDetection:
    """One face: box (x1, y1, x2, y2) in pixels, a back-end specific score and 5 landmarks.

    ``score`` is a probability for RetinaFace and a cascade level weight for Haar: compare scores
    only between detections of the same back end.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    backend: str

    def __post_init__(self) -> None:
        landmarks = np.asarray(self.landmarks, dtype=np.float32)
        assert landmarks.shape == (5, 2), f"landmarks must be 5x2, got {landmarks.shape}"
        x1, y1, x2, y2 = self.box
        assert x2 > x1 and y2 > y1, f"empty face box {self.box}"
        object.__setattr__(self, "landmarks", landmarks)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        object.__setattr__(self, "score", float(self.score))

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return (x2 - x1) * (y2 - y1)

    def to_json(self) -> dict[str, object]:
        return {
            "box": [round(v, 2) for v in self.box],
            "score": round(self.score, 4),
            "landmarks": np.round(self.landmarks.astype(float), 2).tolist(),
            "detector": self.backend,
        }


class FaceDetector(abc.ABC):
    """Finds faces in a BGR uint8 image."""

    backend: str

    @abc.abstractmethod
    def detect(self, image_bgr: np.ndarray) -> list[FaceDetection]:
        """All faces found, best score first (an empty list when there is none)."""


class FaceNotFoundError(ValueError):
    """No face was found where one was required."""


def check_image(image_bgr: np.ndarray) -> None:
    assert image_bgr.dtype == np.uint8, f"expected uint8 image, got {image_bgr.dtype}"
    assert image_bgr.ndim == 3 and image_bgr.shape[2] == 3, (
        f"expected HxWx3 BGR image, got {image_bgr.shape}"
    )
