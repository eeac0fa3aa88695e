"""Face detectors on a real face photo: Haar cascades, and RetinaFace with a weights file."""

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mlcore.faces import FaceDetection, configured_detector, create_detector
from mlcore.faces.haar import HaarFaceDetector
from mlcore.faces.retinaface import (
    RetinaFaceDetector,
    RetinaFaceWeightsError,
    build_retinaface_network,
)

# Points on skimage.data.astronaut(), read off the 512x512 image by eye.
ASTRONAUT_EYES = np.array([[206.0, 102.0], [246.0, 103.0]])
ASTRONAUT_NOSE_TIP = np.array([224.0, 123.0])
ASTRONAUT_MOUTH_CENTRE = np.array([224.0, 143.0])


def box_contains(box: tuple[float, float, float, float], point: np.ndarray) -> bool:
    x1, y1, x2, y2 = box
    return bool(x1 <= point[0] <= x2 and y1 <= point[1] <= y2)


def test_haar_finds_the_astronaut_face_and_places_the_eyes(face_photo_bgr: np.ndarray) -> None:
    detections = HaarFaceDetector().detect(face_photo_bgr)

    assert len(detections) == 1
    face = detections[0]
    assert face.backend == "haar"
    for point in [*ASTRONAUT_EYES, ASTRONAUT_NOSE_TIP, ASTRONAUT_MOUTH_CENTRE]:
        assert box_contains(face.box, point), f"{point} outside the face box {face.box}"
    x1, y1, x2, y2 = face.box
    assert 60 < x2 - x1 < 160, "the box should frame the face, not the whole portrait"
    left_eye, right_eye = face.landmarks[0], face.landmarks[1]
    assert left_eye[0] < right_eye[0], "landmark 0 is the eye on the image's left"
    for eye, truth in zip((left_eye, right_eye), ASTRONAUT_EYES, strict=True):
        assert y1 <= eye[1] <= (y1 + y2) / 2, "eyes lie in the upper half of the box"
        assert np.linalg.norm(eye - truth) < 0.1 * (x2 - x1)
    nose, mouth_left, mouth_right = face.landmarks[2:]
    assert left_eye[1] < nose[1] < mouth_left[1] and mouth_left[0] < mouth_right[0]


@pytest.mark.parametrize("degrees", [-10.0, 10.0])
def test_haar_eyes_follow_a_tilted_head(face_photo_bgr: np.ndarray, degrees: float) -> None:
    # The box proportions alone cannot see a tilt; the eye cascade can.
    rotation = cv2.getRotationMatrix2D((224.0, 123.0), degrees, 1.0)
    tilted = cv2.warpAffine(face_photo_bgr, rotation, (512, 512))
    true_eyes = np.hstack([ASTRONAUT_EYES, np.ones((2, 1))]) @ rotation.T

    (face,) = HaarFaceDetector().detect(tilted)

    def eye_line_degrees(eyes: np.ndarray) -> float:
        dx, dy = eyes[1] - eyes[0]
        return float(np.degrees(np.arctan2(dy, dx)))

    assert eye_line_degrees(face.landmarks[:2]) == pytest.approx(
        eye_line_degrees(true_eyes), abs=4.0
    )


def test_haar_finds_a_face_cropped_tight_like_casme_reg_img(face_photo_bgr: np.ndarray) -> None:
    tight = np.ascontiguousarray(face_photo_bgr[70:170, 178:275])  # brows to chin

    detections = HaarFaceDetector().detect(tight)

    assert len(detections) == 1
    height, width = tight.shape[:2]
    x1, y1, x2, y2 = detections[0].box
    assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
    assert (x2 - x1) > 0.6 * width


def test_haar_reports_no_face_on_a_face_free_image() -> None:
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (9, 9), 3)

    assert HaarFaceDetector().detect(texture) == []


def test_detection_rejects_a_wrong_landmark_shape() -> None:
    with pytest.raises(AssertionError, match="landmarks must be 5x2"):
        FaceDetection(box=(0, 0, 10, 10), score=1.0, landmarks=np.zeros((4, 2)), backend="x")


@pytest.fixture(scope="module")
def random_retinaface_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's state-dict format, filled by a randomly initialised network."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("retinaface") / "retinaface_random.pth"
    torch.save(build_retinaface_network().state_dict(), path)
    return path


def check_retinaface_output(detections: list[FaceDetection], image: np.ndarray) -> None:
    assert detections, "with a zero threshold every prior survives until NMS"
    height, width = image.shape[:2]
    scores = [detection.score for detection in detections]
    assert scores == sorted(scores, reverse=True)
    for detection in detections:
        assert isinstance(detection, FaceDetection)
        assert detection.backend == "retinaface"
        assert 0.0 <= detection.score <= 1.0
        assert detection.landmarks.shape == (5, 2) and detection.landmarks.dtype == np.float32
        x1, y1, x2, y2 = detection.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height


def test_retinaface_loads_a_state_dict_and_detects(
    random_retinaface_weights: Path, face_photo_bgr: np.ndarray
) -> None:
    detector = RetinaFaceDetector(
        weights_path=random_retinaface_weights, score_threshold=0.0, max_size=128, device="cpu"
    )
    image = cv2.resize(face_photo_bgr, (160, 120))

    detections = detector.detect(image)

    check_retinaface_output(detections, image)
    # The same weights give the same detections: the state dict really was loaded.
    again = RetinaFaceDetector(
        weights_path=random_retinaface_weights, score_threshold=0.0, max_size=128, device="cpu"
    ).detect(image)
    assert np.allclose(again[0].landmarks, detections[0].landmarks, atol=1e-3)


def test_retinaface_reads_the_release_zip(
    random_retinaface_weights: Path, tmp_path: Path, face_photo_bgr: np.ndarray
) -> None:
    release = tmp_path / "retinaface_resnet50_2020-07-20-f168fae3c.zip"
    with zipfile.ZipFile(release, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.write(random_retinaface_weights, arcname="retinaface_resnet50_2020-07-20.pth")

    detector = create_detector(retinaface_weights=release)

    assert isinstance(detector, RetinaFaceDetector)
    assert detector.backend == "retinaface"


def test_missing_weights_name_the_path_and_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "retinaface.pth"

    with pytest.raises(FileNotFoundError, match=r"nowhere/retinaface\.pth.*RETINAFACE_WEIGHTS"):
        create_detector(retinaface_weights=missing)


def test_unreadable_or_foreign_weights_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"these are not weights")
    foreign = tmp_path / "foreign.pth"
    torch.save({"conv.weight": torch.zeros(3)}, foreign)

    with pytest.raises(RetinaFaceWeightsError, match=r"garbage\.pth.*RETINAFACE_WEIGHTS"):
        RetinaFaceDetector(weights_path=garbage)
    with pytest.raises(RetinaFaceWeightsError, match=r"foreign\.pth does not fit RetinaFace"):
        RetinaFaceDetector(weights_path=foreign)


def test_factory_and_environment_choose_the_back_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert create_detector(retinaface_weights=None).backend == "haar"
    monkeypatch.delenv("RETINAFACE_WEIGHTS", raising=False)
    assert configured_detector().backend == "haar"
    monkeypatch.setenv("RETINAFACE_WEIGHTS", str(tmp_path / "absent.pth"))
    with pytest.raises(FileNotFoundError, match=r"absent\.pth"):
        configured_detector()
