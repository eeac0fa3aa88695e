"""Fixtures of the preprocessing tests (readers, faces, motion, preprocess)."""

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data


@pytest.fixture(scope="session")
def face_photo_bgr() -> np.ndarray:
    """A real face photo (NASA portrait of Eileen Collins), 512x512 BGR."""
    return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))


def face_frame(
    astronaut: np.ndarray, *, shift_x: int, size: tuple[int, int] = (320, 240)
) -> np.ndarray:
    """The astronaut at half size on a grey canvas, moved ``shift_x`` pixels to the right."""
    width, height = size
    face = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 180, dtype=np.uint8)
    left = (width - 256) // 2 + shift_x
    canvas[:, left : left + 256] = face[: min(256, height)]
    return canvas


@pytest.fixture
def write_moving_face_folder(face_photo_bgr: np.ndarray) -> Callable[..., Path]:
    """Write a CASME II-style frame folder (``img{n}.jpg``) of the astronaut moving sideways.

    ``shifts`` gives the horizontal shift of each frame; frames are numbered from ``first``.
    """

    def write(folder: Path, *, shifts: list[int], first: int = 1) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for offset, shift in enumerate(shifts):
            frame = face_frame(face_photo_bgr, shift_x=shift)
            assert cv2.imwrite(str(folder / f"img{first + offset}.jpg"), frame)
        return folder

    return write


@pytest.fixture
def write_moving_face_video(face_photo_bgr: np.ndarray) -> Callable[..., Path]:
    """Write an MJPG AVI at 200 fps of the astronaut moving sideways by ``shifts``."""

    def write(path: Path, *, shifts: list[int]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (320, 240))
        assert writer.isOpened()
        for shift in shifts:
            writer.write(face_frame(face_photo_bgr, shift_x=shift))
        writer.release()
        return path

    return write
