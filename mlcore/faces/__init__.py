"""Face detection (Haar cascades or RetinaFace) and 5-point similarity alignment."""

from mlcore.faces.align import (
    ARCFACE_TEMPLATE_112,
    align_face,
    alignment_transform,
    estimate_similarity,
    template_landmarks,
)
from mlcore.faces.detector import (
    LANDMARK_NAMES,
    RETINAFACE_WEIGHTS_ENV,
    FaceDetection,
    FaceDetector,
    FaceNotFoundError,
)
from mlcore.faces.factory import configured_detector, create_detector

__all__ = [
    "ARCFACE_TEMPLATE_112",
    "LANDMARK_NAMES",
    "RETINAFACE_WEIGHTS_ENV",
    "FaceDetection",
    "FaceDetector",
    "FaceNotFoundError",
    "align_face",
    "alignment_transform",
    "configured_detector",
    "create_detector",
    "estimate_similarity",
    "template_landmarks",
]
