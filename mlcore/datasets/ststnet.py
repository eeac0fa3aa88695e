"""STSTNet's input folders: one per LOSO subject, 28x28 (u, v, optical strain) PNGs.

```
<root>/<subject>/u_train/<label>/<clip>.png   every clip of the other subjects
<root>/<subject>/u_test/<label>/<clip>.png    the subject's own clips
```

Folders and files are named as STSTNet's own data and published weights name them
(``STSTNet_Weights/006.pth``, ``video442Names.txt``): subjects ``sub01``, ``006`` (SAMM keeps
its folder's zero padding, unlike MEGC2019's ground truth, which writes ``6``) and ``s01``, and
each file ``<subject>_<clip>`` with the clip as MEGC2019 spells it (``006_006_1_2.png``,
``s01_s01_ne_01.png``). See `ststnet_subject`.

Flow is TV-L1 from the onset crop to the apex crop, computed at ``motion_size`` pixels (TV-L1 on
28x28 images loses the few-pixel motion) and resized; each channel is stretched to 0..255.
"""

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mlcore.motion import optical_strain, tvl1_flow

STSTNET_SIZE = 28
MOTION_SIZE = 112


def ststnet_subject(*, dataset: str, subject: str) -> str:
    """STSTNet's spelling of a subject stored as the source writes it (``01``, ``006``, ``s1``):
    ``sub01``, ``006``, ``s01``; other datasets keep their own spelling."""
    digits = subject[1:] if dataset == "smic" and subject[:1].lower() == "s" else subject
    if not digits.isdigit():
        return subject
    number = int(digits)
    spelling = {"casme2": f"sub{number:02d}", "samm": f"{number:03d}", "smic": f"s{number:02d}"}
    return spelling.get(dataset, subject)


def _grey(image: np.ndarray, size: int) -> np.ndarray:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.shape != (size, size):
        interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
        image = cv2.resize(image, (size, size), interpolation=interpolation)
    return image


def _to_byte(channel: np.ndarray) -> np.ndarray:
    low, high = float(channel.min()), float(channel.max())
    if high - low < 1e-12:
        return np.zeros(channel.shape, dtype=np.uint8)
    return np.round((channel - low) * (255.0 / (high - low))).astype(np.uint8)


def flow_image(
    *,
    onset: np.ndarray,
    apex: np.ndarray,
    size: int = STSTNET_SIZE,
    motion_size: int = MOTION_SIZE,
) -> np.ndarray:
    """(size, size, 3) uint8 RGB: u, v and optical strain from ``onset`` to ``apex`` (BGR or
    grey uint8 face crops)."""
    first, second = _grey(onset, motion_size), _grey(apex, motion_size)
    flow = tvl1_flow(first, second)
    strain = optical_strain(flow)
    # Resizing shrinks displacements by the image's factor; stretching to 0..255 then undoes
    # the scale, but the factor keeps u, v and strain comparable before that.
    scale = size / motion_size
    u = cv2.resize(flow[..., 0], (size, size), interpolation=cv2.INTER_AREA) * scale
    v = cv2.resize(flow[..., 1], (size, size), interpolation=cv2.INTER_AREA) * scale
    s = cv2.resize(strain, (size, size), interpolation=cv2.INTER_AREA)
    image = np.stack([_to_byte(u), _to_byte(v), _to_byte(s)], axis=-1)
    assert image.shape == (size, size, 3), image.shape
    return image


@dataclass(frozen=True, slots=True)
class FlowSample:
    subject: str  # the LOSO folder name
    label: int
    name: str  # file name without .png, unique across the export
    image: np.ndarray  # (28, 28, 3) uint8 RGB


def write_ststnet(*, root: Path, samples: list[FlowSample]) -> list[Path]:
    """Write every sample into every subject's folder (u_test for its own, u_train otherwise).

    Returns the written paths in sorted order. Raises ValueError on repeated names.
    """
    root = Path(root)
    names = [sample.name for sample in samples]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"STSTNet file names must be unique; repeated: {', '.join(repeated)}")
    encoded = {}
    for sample in samples:
        assert sample.image.shape[2] == 3 and sample.image.dtype == np.uint8, sample.image.shape
        ok, data = cv2.imencode(".png", cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"cannot encode the flow image of {sample.name}")
        encoded[sample.name] = data.tobytes()
    by_subject: dict[str, list[FlowSample]] = defaultdict(list)
    for sample in samples:
        by_subject[sample.subject].append(sample)
    written = []
    for subject in sorted(by_subject):
        for sample in samples:
            split = "u_test" if sample.subject == subject else "u_train"
            folder = root / subject / split / str(sample.label)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{sample.name}.png"
            path.write_bytes(encoded[sample.name])
            written.append(path)
    return sorted(written)
