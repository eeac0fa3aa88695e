"""The factory that picks a face detection back end: RetinaFace with a weights file, else the
Haar cascades. Apart from `mlcore.faces.detector`, which both back ends import."""

import os
from pathlib import Path

from mlcore.faces.detector import RETINAFACE_WEIGHTS_ENV, FaceDetector
from mlcore.faces.haar import HaarFaceDetector
from mlcore.faces.retinaface import RetinaFaceDetector


def create_detector(*, retinaface_weights: str | Path | None) -> FaceDetector:
    """RetinaFace with the given weights file, or the Haar cascade detector when None."""
    if retinaface_weights is None:
        return HaarFaceDetector()
    return RetinaFaceDetector(weights_path=Path(retinaface_weights))


def configured_detector() -> FaceDetector:
    """The detector the environment asks for: RetinaFace when $RETINAFACE_WEIGHTS is set."""
    return create_detector(retinaface_weights=os.environ.get(RETINAFACE_WEIGHTS_ENV) or None)
