"""Real clip files for platform tests: a real face photo (skimage's astronaut) moved a little per
frame, written as a video or as a zip of CASME II-style frames."""

import io
import struct
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
from skimage import data


def face_frames(*, count: int = 12, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[0:300, 80:380]
    width, height = size
    frames = []
    for index in range(count):
        canvas = np.full((height, width, 3), 90, np.uint8)
        shift = index % 3  # a pixel or two of motion, like a micro-expression's scale
        top, left = 90 + shift, 170 + shift
        canvas[top : top + face.shape[0], left : left + face.shape[1]] = face
        frames.append(canvas)
    return frames


def write_video(path: Path, *, count: int = 12, fps: float = 200.0) -> Path:
    frames = face_frames(count=count)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def frames_zip_bytes(*, count: int = 8, first: int = 46, folder: str = "EP02_01f") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for offset, frame in enumerate(face_frames(count=count)):
            ok, encoded = cv2.imencode(".jpg", frame)
            assert ok
            archive.writestr(f"{folder}/img{first + offset}.jpg", encoded.tobytes())
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A real PNG header that declares a huge image over a few bytes of data: what a
    decompression bomb sends (zlib would inflate a full one from a few hundred kilobytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )
