"""OpenCV Haar cascade face detector: no weights to install, the default back end.

The cascades give a face box and, usually, two eye boxes. The five landmarks are therefore
partly measured and partly derived from the face box with fixed proportions (fractions of the
box width and height, measured on frontal faces in the box the ``frontalface_alt2`` cascade
draws: it runs from the brows to just under the lower lip):

    eyes               (0.30, 0.38) and (0.70, 0.38)   used when the eye cascade fails
    nose tip           (0.50, 0.60)
    mouth corners      (0.35, 0.80) and (0.65, 0.80)

Detected eyes replace the derived ones only when one eye is found in each upper quarter of the
box, so that a head tilt is followed by the eyes; the nose and mouth always come from the box.
This is coarser than RetinaFace's landmarks but enough for a similarity alignment of the
upright, frontal faces of micro-expression datasets.
"""

import cv2
import numpy as np

from mlcore.faces.detector import FaceDetection, FaceDetector, check_image

FACE_CASCADE = "haarcascade_frontalface_alt2.xml"
EYE_CASCADE = "haarcascade_eye.xml"
BOX_LANDMARK_PROPORTIONS = np.array(
    [[0.30, 0.38], [0.70, 0.38], [0.50, 0.60], [0.35, 0.80], [0.65, 0.80]], dtype=np.float32
)
# Eyes are looked for in the top part of the face box only: nostrils and mouth corners fool
# the eye cascade.
_EYE_SEARCH_BOTTOM = 0.6
_EYE_MIN_WIDTH, _EYE_MAX_WIDTH = 0.12, 0.45


class HaarFaceDetector(FaceDetector):
    """Viola-Jones face + eye cascades from ``cv2.data.haarcascades``.

    Args:
        min_face_fraction: smallest face searched, as a fraction of the image's shorter side.
        pad_fraction: the image is padded by this fraction of its longer side before detection,
            because the cascade needs some background around a face and dataset crops such as
            CASME II ``reg_img`` or SMIC-HS ``reg_image`` are cut tight around it.
    """

    backend = "haar"

    def __init__(self, *, min_face_fraction: float = 0.15, pad_fraction: float = 0.25) -> None:
        self.min_face_fraction = min_face_fraction
        self.pad_fraction = pad_fraction
        self._face = _load_cascade(FACE_CASCADE)
        self._eye = _load_cascade(EYE_CASCADE)

    def detect(self, image_bgr: np.ndarray) -> list[FaceDetection]:
        check_image(image_bgr)
        gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        pad = round(self.pad_fraction * max(gray.shape))
        padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        min_side = max(24, round(self.min_face_fraction * min(gray.shape)))
        boxes, _, weights = self._face.detectMultiScale3(
            padded,
            scaleFactor=1.1,
            minNeighbors=5,
            minSize=(min_side, min_side),
            outputRejectLevels=True,
        )
        height, width = gray.shape
        detections = []
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            x1, y1 = max(0, x - pad), max(0, y - pad)
            x2, y2 = min(width, x - pad + w), min(height, y - pad + h)
            if x2 <= x1 or y2 <= y1:
                continue
            box_xywh = (float(x - pad), float(y - pad), float(w), float(h))
            landmarks = _box_landmarks(box_xywh)
            eyes = self._find_eyes(padded, (x, y, w, h))
            if eyes is not None:
                landmarks[:2] = eyes - pad
            detections.append(
                FaceDetection(
                    box=(x1, y1, x2, y2), score=weight, landmarks=landmarks, backend=self.backend
                )
            )
        detections.sort(key=lambda detection: detection.score, reverse=True)
        return detections

    def _find_eyes(self, gray: np.ndarray, face: tuple[int, int, int, int]) -> np.ndarray | None:
        x, y, w, h = face
        top = gray[y : y + round(_EYE_SEARCH_BOTTOM * h), x : x + w]
        min_eye = max(8, round(_EYE_MIN_WIDTH * w))
        max_eye = round(_EYE_MAX_WIDTH * w)
        boxes, _, weights = self._eye.detectMultiScale3(
            top,
            scaleFactor=1.1,
            minNeighbors=3,
            minSize=(min_eye, min_eye),
            maxSize=(max_eye, max_eye),
            outputRejectLevels=True,
        )
        best: dict[str, tuple[float, np.ndarray]] = {}
        for (ex, ey, ew, eh), weight in zip(boxes, np.ravel(weights), strict=True):
            centre = np.array([x + ex + ew / 2, y + ey + eh / 2], dtype=np.float32)
            side = "left" if centre[0] < x + w / 2 else "right"
            if side not in best or weight > best[side][0]:
                best[side] = (float(weight), centre)
        if len(best) < 2:
            return None
        return np.stack([best["left"][1], best["right"][1]])


def _box_landmarks(box_xywh: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box_xywh
    return BOX_LANDMARK_PROPORTIONS * np.array([w, h], dtype=np.float32) + np.array(
        [x, y], dtype=np.float32
    )


def _load_cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + name
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FileNotFoundError(f"OpenCV Haar cascade missing or unreadable: {path}")
    return cascade
