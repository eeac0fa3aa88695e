"""RetinaFace (ResNet-50) face detector from the ``retinaface-pytorch`` package.

Weights are never downloaded: point ``weights_path`` (or ``$RETINAFACE_WEIGHTS``) at the
package's published state dict, either the release file
``retinaface_resnet50_2020-07-20-f168fae3c.zip`` as downloaded or the ``.pth`` inside it. The
network, priors and box decoding are the package's own; the pre-processing repeats that of
``retinaface.predict_single.Model`` (RGB, longest side resized to ``max_size``, ImageNet
normalisation), which we cannot import because it needs albumentations for two resizing lines.
"""

import io
import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np
import torch
from retinaface.box_utils import decode, decode_landm
from retinaface.network import RetinaFace
from retinaface.prior_box import priorbox
from torchvision.ops import nms

from mlcore.faces.detector import (
    RETINAFACE_WEIGHTS_ENV,
    FaceDetection,
    FaceDetector,
    check_image,
)

# The configuration of retinaface.predict_single.Model, which the published weights fit.
_RETURN_LAYERS = {"layer2": 1, "layer3": 2, "layer4": 3}
_IN_CHANNELS = 256
_OUT_CHANNELS = 256
_MIN_SIZES = [[16, 32], [64, 128], [256, 512]]
_STEPS = [8, 16, 32]
_VARIANCES = [0.1, 0.2]
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255
_MAX_DETECTIONS = 750


class RetinaFaceWeightsError(ValueError):
    """The weights file exists but is not a RetinaFace ResNet-50 state dict."""


def build_retinaface_network() -> RetinaFace:
    """The randomly initialised ResNet-50 RetinaFace that the published state dict fits."""
    # retinaface.network still calls torchvision's resnet50(pretrained=False); torchvision 0.29
    # accepts it (as weights=None) and only warns that the argument is deprecated.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        return RetinaFace(
            name="Resnet50",
            pretrained=False,
            return_layers=_RETURN_LAYERS,
            in_channels=_IN_CHANNELS,
            out_channels=_OUT_CHANNELS,
        )


class RetinaFaceDetector(FaceDetector):
    """RetinaFace ResNet-50 with landmarks; runs on CUDA when available, else on the CPU.

    Args:
        weights_path: state dict file (``.pth``) or the release ``.zip`` holding one.
        max_size: the longest image side is resized to this before detection. 640 keeps faces
            of micro-expression recordings (a third of the frame or more) far above the smallest
            anchor (16 px) and costs less than half the time of 960.
        score_threshold: detections scoring below this are dropped.
        nms_threshold: IoU above which the lower-scoring of two boxes is suppressed.
        device: torch device; default CUDA when present, otherwise CPU.
    """

    backend = "retinaface"

    def __init__(
        self,
        *,
        weights_path: str | Path,
        max_size: int = 640,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.4,
        device: str | torch.device | None = None,
    ) -> None:
        self.weights_path = Path(weights_path)
        self.max_size = max_size
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.device = torch.device(
            device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        )
        network = build_retinaface_network()
        state_dict = _load_state_dict(self.weights_path)
        try:
            network.load_state_dict(state_dict)
        except RuntimeError as error:
            raise RetinaFaceWeightsError(
                f"{self.weights_path} does not fit RetinaFace ResNet-50 (set by "
                f"--retinaface-weights or ${RETINAFACE_WEIGHTS_ENV}): {error}"
            ) from error
        self.network = network.to(self.device).eval()

    @torch.inference_mode()
    def detect(self, image_bgr: np.ndarray) -> list[FaceDetection]:
        check_image(image_bgr)
        height, width = image_bgr.shape[:2]
        resize = self.max_size / max(height, width)
        resized_w, resized_h = max(1, round(width * resize)), max(1, round(height * resize))
        rgb = cv2.cvtColor(
            cv2.resize(image_bgr, (resized_w, resized_h), interpolation=cv2.INTER_LINEAR),
            cv2.COLOR_BGR2RGB,
        )
        normalised = (rgb.astype(np.float32) - _IMAGENET_MEAN) / _IMAGENET_STD
        batch = torch.from_numpy(normalised.transpose(2, 0, 1)).unsqueeze(0).to(self.device)

        locations, confidences, landmark_offsets = self.network(batch)
        priors = priorbox(
            min_sizes=_MIN_SIZES, steps=_STEPS, clip=False, image_size=(resized_h, resized_w)
        ).to(self.device)
        scores = torch.softmax(confidences[0], dim=-1)[:, 1]
        keep = scores >= self.score_threshold
        boxes = decode(locations[0][keep], priors[keep], _VARIANCES)
        landmarks = decode_landm(landmark_offsets[0][keep], priors[keep], _VARIANCES)
        scores = scores[keep]
        # Boxes are in units of the resized image; one factor maps them back to the original.
        to_pixels = torch.tensor([resized_w, resized_h], device=self.device) / resize
        boxes = (boxes.view(-1, 2, 2) * to_pixels).view(-1, 4)
        landmarks = landmarks.view(-1, 5, 2) * to_pixels
        finite = torch.isfinite(boxes).all(dim=1) & torch.isfinite(landmarks).flatten(1).all(dim=1)
        boxes, landmarks, scores = boxes[finite], landmarks[finite], scores[finite]
        kept = nms(boxes, scores, self.nms_threshold)[:_MAX_DETECTIONS]

        detections = []
        for box, points, score in zip(
            boxes[kept].cpu().numpy(),
            landmarks[kept].cpu().numpy(),
            scores[kept].cpu().numpy(),
            strict=True,
        ):
            x1, y1 = np.clip(box[:2], 0, [width - 1, height - 1])
            x2, y2 = np.clip(box[2:], [x1 + 1, y1 + 1], [width, height])
            if x2 <= x1 or y2 <= y1:
                continue
            detections.append(
                FaceDetection(
                    box=(x1, y1, x2, y2), score=score, landmarks=points, backend=self.backend
                )
            )
        return detections


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    hint = f"(set by --retinaface-weights or ${RETINAFACE_WEIGHTS_ENV})"
    if not path.is_file():
        raise FileNotFoundError(f"RetinaFace weights file not found: {path} {hint}")
    try:
        source: Path | io.BytesIO = path
        # The release file is a plain zip around one legacy-format .pth (what torch.hub unpacks);
        # torch's own format is a zip too, but of many entries.
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) == 1:
                    source = io.BytesIO(archive.read(members[0]))
        state_dict = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:
        raise RetinaFaceWeightsError(
            f"cannot read RetinaFace weights from {path} {hint}: {error}"
        ) from error
    if not isinstance(state_dict, dict):
        raise RetinaFaceWeightsError(
            f"{path} holds a {type(state_dict).__name__}, not a state dict {hint}"
        )
    return state_dict
