"""Safe handling of uploaded zip archives of frames.

Checked before anything is written: no absolute paths or `..` parts (nothing may land outside the
target), no symbolic links, only image files, a bounded number of members, a bounded total size
and a bounded compression ratio (zip bombs declare sizes honestly in their headers or fail the
CRC check while being extracted, which also stops the extraction).
"""

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


class UnsafeArchiveError(ValueError):
    """An archive that cannot be extracted safely or holds no frames."""


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_members: int = 20_000
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0


def inspect_zip(
    source: Path | BinaryIO, *, name: str | None = None, limits: ArchiveLimits = ArchiveLimits()
) -> list[zipfile.ZipInfo]:
    """The archive's frame members, or :class:`UnsafeArchiveError` naming the first problem.

    `source` is a path or a seekable file (an upload not yet saved); `name` is used in messages.
    """
    label = name or Path(getattr(source, "name", "archive.zip")).name
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise UnsafeArchiveError(f"{label} is not a readable zip archive ({error})") from None
    with archive:
        members = archive.infolist()
    if len(members) > limits.max_members:
        raise UnsafeArchiveError(
            f"{label} holds {len(members)} entries; at most {limits.max_members} are allowed"
        )
    frames, total = [], 0
    for member in members:
        name = PurePosixPath(member.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or ":" in member.filename:
            raise UnsafeArchiveError(f"{label}: {member.filename!r} points outside the clip")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeArchiveError(f"{label}: {member.filename!r} is a symbolic link")
        if member.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
            continue
        if name.suffix.lower() not in IMAGE_SUFFIXES:
            raise UnsafeArchiveError(
                f"{label}: {member.filename!r} is not a frame image "
                f"({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        total += member.file_size
        if total > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"{label} unpacks to more than {limits.max_total_bytes // 1024**2} MiB"
            )
        if member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise UnsafeArchiveError(
                f"{label}: {member.filename!r} is compressed {member.file_size} : "
                f"{member.compress_size}, more than frames ever are (a zip bomb?)"
            )
        frames.append(member)
    if not frames:
        raise UnsafeArchiveError(f"{label} holds no frame images")
    folders = {PurePosixPath(m.filename).parent for m in frames}
    if len(folders) > 1:
        raise UnsafeArchiveError(
            f"{label} holds frames in {len(folders)} folders; one clip per archive"
        )
    return frames


def extract_frames(path: Path, target: Path, *, limits: ArchiveLimits = ArchiveLimits()) -> Path:
    """Extract the frames flat into `target` (created empty); returns `target`."""
    frames = inspect_zip(path, limits=limits)
    target.mkdir(parents=True, exist_ok=False)
    with zipfile.ZipFile(path) as archive:
        for member in frames:
            destination = target / PurePosixPath(member.filename).name
            # zipfile stops at the declared size and checks the CRC, so a member that lies
            # about its size fails here instead of filling the disk.
            try:
                with archive.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, length=1024 * 1024)
            except (zipfile.BadZipFile, OSError) as error:
                raise UnsafeArchiveError(f"{path.name}: {member.filename!r}: {error}") from None
    return target
