"""Clip readers: a video file or a folder of frames, behind one `ClipSource` interface.

Frame numbers are the SOURCE numbers, because annotation sheets refer to them:
- frame folders: the number at the end of the file name (CASME II ``img46.jpg`` and
  ``reg_img46.jpg`` are frame 46, SAMM ``006_05562.jpg`` is frame 5562, SMIC-HS
  ``reg_image000123.bmp`` is frame 123). Numbers are parsed, never formatted, because the zero
  padding varies between datasets and even within SAMM. Gaps in the numbering are kept.
- video files: frames are numbered 1..N in decoding order (the first frame is frame 1), the
  convention of CASME II and SAMM whose first image on disk is numbered from 1 upwards.

Every frame comes back as a BGR uint8 array of the clip's `size`; anything else (a file that is
empty, truncated, corrupt, or of another size) raises `ClipReadError` naming the file and frame.
So does a clip past its `ClipLimits`, checked from the headers before any frame is decoded.
"""

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from mlcore.frame_files import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    ClipReadError,
    frame_number,
    is_frame_file,
)

_JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})
_JPEG_END_OF_IMAGE = b"\xff\xd9"
# Some encoders pad after the end-of-image marker; 0xFFD9 cannot occur inside entropy-coded data
# (a 0xFF there is always stuffed with 0x00), so finding it near the end means the file is whole.
_JPEG_TAIL_BYTES = 1024


@dataclass(frozen=True)
class ClipLimits:
    """What a clip may declare in its headers. A small file can declare a huge image (a 0.8 MB
    zip of two 12000x12000 PNGs took a worker to 1.28 GB), so both bounds are checked before
    anything is decoded. The defaults hold every public ME dataset with room to spare (SAMM,
    the largest, is 2040x1088; a long clip at 200 fps is a few thousand frames)."""

    max_frame_pixels: int = 4096 * 4096
    max_frames: int = 20_000

    def check(self, *, path: Path, size: tuple[int, int], frames: int) -> None:
        width, height = size
        if width * height > self.max_frame_pixels:
            raise ClipReadError(
                f"{path}: frames are {width}x{height} ({width * height / 1e6:.1f} megapixels); "
                f"at most {self.max_frame_pixels / 1e6:.1f} megapixels per frame are accepted"
            )
        if frames > self.max_frames:
            raise ClipReadError(
                f"{path}: {frames} frames; at most {self.max_frames} per clip are accepted"
            )


class ClipSource(abc.ABC):
    """A clip: ordered source frame numbers and random or sequential access to their images.

    Attributes:
        path: the video file or frame folder.
        frame_indices: source frame numbers in playback order.
        fps: frames per second stored in a video; None for a frame folder (the dataset knows it).
        size: (width, height) of every frame.
    """

    path: Path
    frame_indices: list[int]
    fps: float | None
    size: tuple[int, int]
    _index_set: frozenset[int]

    @abc.abstractmethod
    def read(self, index: int) -> np.ndarray:
        """The BGR uint8 image of source frame ``index``."""

    @abc.abstractmethod
    def iter_frames(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(source frame number, BGR uint8 image)`` in playback order."""

    def _check_index(self, index: int) -> None:
        if index not in self._index_set:
            first, last = self.frame_indices[0], self.frame_indices[-1]
            raise ClipReadError(f"{self.path}: no frame {index} (frames {first}..{last})")

    def _check_size(self, image: np.ndarray, *, where: str) -> np.ndarray:
        height, width = image.shape[:2]
        if (width, height) != self.size:
            raise ClipReadError(
                f"{where}: frame is {width}x{height}, the clip is {self.size[0]}x{self.size[1]}"
            )
        return image

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(path={str(self.path)!r}, frames={len(self.frame_indices)}, "
            f"fps={self.fps}, size={self.size})"
        )


def open_clip(path: str | Path, *, limits: ClipLimits = ClipLimits()) -> ClipSource:
    """Open a video file (mp4, avi, mov) or a folder of frames (jpg, jpeg, png, bmp)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"clip not found: {path}")
    if path.is_dir():
        return FrameFolderClip(path=path, limits=limits)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoClip(path=path, limits=limits)
    supported = ", ".join(sorted(VIDEO_SUFFIXES))
    raise ClipReadError(f"{path}: not a frame folder or a video file ({supported})")


class FrameFolderClip(ClipSource):
    """A folder of numbered frame images, ordered by the number at the end of each name."""

    def __init__(self, *, path: Path, limits: ClipLimits = ClipLimits()) -> None:
        self.path = path
        self.fps = None
        files: dict[int, Path] = {}
        for file in path.iterdir():
            if not is_frame_file(file):
                continue
            number = frame_number(file)
            if number in files:
                raise ClipReadError(
                    f"{path}: {files[number].name} and {file.name} are both frame {number}"
                )
            files[number] = file
        if not files:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise ClipReadError(f"{path}: no frame images ({suffixes}) in the folder")
        self.frame_indices = sorted(files)
        self._index_set = frozenset(files)
        self._files = files
        first = self.frame_indices[0]
        # Reading only the headers catches mixed sizes, non-images and bombs before any decoding.
        self.size = _image_header_size(files[first])
        limits.check(path=path, size=self.size, frames=len(files))
        sizes = {number: _image_header_size(file) for number, file in files.items()}
        for number in self.frame_indices:
            if sizes[number] != self.size:
                width, height = sizes[number]
                raise ClipReadError(
                    f"{files[number]}: frame {number} is {width}x{height}, but frame {first} "
                    f"({files[first].name}) is {self.size[0]}x{self.size[1]}"
                )

    def file(self, index: int) -> Path:
        """The image file of source frame ``index``."""
        self._check_index(index)
        return self._files[index]

    def read(self, index: int) -> np.ndarray:
        file = self.file(index)
        return self._check_size(_decode_image(file), where=f"{file} (frame {index})")

    def iter_frames(self) -> Iterator[tuple[int, np.ndarray]]:
        for index in self.frame_indices:
            yield index, self.read(index)


def _image_header_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            return image.size
    except Image.DecompressionBombError as error:  # past Pillow's own bound, far past ours
        raise ClipReadError(f"{path}: the image is far too large to decode ({error})") from error
    except (UnidentifiedImageError, OSError) as error:
        raise ClipReadError(f"{path}: not a readable image ({error})") from error


def _decode_image(path: Path) -> np.ndarray:
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise ClipReadError(f"{path}: cannot read the file ({error})") from error
    if data.size == 0:
        raise ClipReadError(f"{path}: the file is empty")
    # libjpeg decodes a truncated JPEG "successfully", filling the missing rows with grey.
    is_jpeg = path.suffix.lower() in _JPEG_SUFFIXES
    if is_jpeg and _JPEG_END_OF_IMAGE not in data[-_JPEG_TAIL_BYTES:].tobytes():
        raise ClipReadError(f"{path}: truncated JPEG (no end-of-image marker)")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ClipReadError(f"{path}: corrupt image (the decoder rejected it)")
    return image


class VideoClip(ClipSource):
    """A video file decoded with OpenCV (FFmpeg); frames are numbered 1..N.

    N is the frame count stored in the container. A video that decodes fewer frames than it
    announces (a truncated download, say) raises `ClipReadError` at the first missing frame.
    Reading is sequential: `read` decodes from the start up to the frame asked for, so iterate
    with `iter_frames` to visit many frames.
    """

    def __init__(self, *, path: Path, limits: ClipLimits = ClipLimits()) -> None:
        self.path = path
        capture = self._open()
        try:
            fps = capture.get(cv2.CAP_PROP_FPS)
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            limits.check(path=path, size=(width, height), frames=max(count, 0))
            if count <= 0:
                # Some streams do not store a count: decode once to know it (at most the limit).
                count = 0
                while count <= limits.max_frames and capture.grab():
                    count += 1
                limits.check(path=path, size=(width, height), frames=count)
        finally:
            capture.release()
        if count <= 0 or width <= 0 or height <= 0:
            raise ClipReadError(f"{path}: the video holds no decodable frames")
        self.fps = float(fps) if fps > 0 else None
        self.size = (width, height)
        self.frame_indices = list(range(1, count + 1))
        self._index_set = frozenset(self.frame_indices)

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise ClipReadError(
                f"{self.path}: cannot open the video (unreadable, truncated or corrupt)"
            )
        return capture

    def _missing(self, index: int) -> ClipReadError:
        return ClipReadError(
            f"{self.path}: frame {index} of {len(self.frame_indices)} could not be decoded "
            "(truncated or corrupt video)"
        )

    def read(self, index: int) -> np.ndarray:
        self._check_index(index)
        capture = self._open()
        try:
            for current in range(1, index):
                if not capture.grab():
                    raise self._missing(current)
            ok, image = capture.read()
        finally:
            capture.release()
        if not ok:
            raise self._missing(index)
        return self._check_size(image, where=f"{self.path} (frame {index})")

    def iter_frames(self) -> Iterator[tuple[int, np.ndarray]]:
        capture = self._open()
        try:
            for index in self.frame_indices:
                ok, image = capture.read()
                if not ok:
                    raise self._missing(index)
                yield index, self._check_size(image, where=f"{self.path} (frame {index})")
        finally:
            capture.release()
