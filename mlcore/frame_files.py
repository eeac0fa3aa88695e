"""Frame files by their names, without decoding anything (so no OpenCV): which suffixes are
images and videos, which folders hold frames, a frame's source number from its file name, and the
error a clip that cannot be read raises. `mlcore.io` reads the frames themselves."""

import re
from pathlib import Path

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
_TRAILING_NUMBER = re.compile(r"(\d+)$")


class ClipReadError(ValueError):
    """The clip cannot be read as a sequence of same-sized frames."""


def is_frame_folder(path: Path) -> bool:
    """Whether ``path`` is a folder holding at least one frame image directly."""
    return path.is_dir() and any(is_frame_file(child) for child in path.iterdir())


def find_clips(root: Path) -> list[Path]:
    """Every clip under ``root``: frame folders and video files, in name order.

    A folder holding frame images is one clip (its subfolders are not searched); other folders
    are searched recursively, so a dataset root such as CASME II's yields ``sub01/EP02_01f``.
    """
    if is_frame_folder(root):
        return [root]
    clips: list[Path] = []
    for child in sorted(root.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            clips.extend(find_clips(child))
        elif child.suffix.lower() in VIDEO_SUFFIXES:
            clips.append(child)
    return clips


def frame_number(path: Path) -> int:
    """The source frame number at the end of a frame file's name (``reg_img46.jpg`` -> 46)."""
    match = _TRAILING_NUMBER.search(path.stem)
    if match is None:
        raise ClipReadError(f"{path}: the file name does not end with a frame number")
    return int(match.group(1))


def is_frame_file(path: Path) -> bool:
    # Names starting with a dot are macOS resource forks ("._img46.jpg") and other hidden files
    # that ride along when datasets are copied; they carry an image suffix but are not images.
    return (
        path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )
