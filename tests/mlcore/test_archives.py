import zipfile

import cv2
import numpy as np
import pytest

from mlcore.archives import ArchiveLimits, UnsafeArchiveError, extract_frames, inspect_zip


def frame_bytes(value: int) -> bytes:
    ok, encoded = cv2.imencode(".png", np.full((8, 8), value, np.uint8))
    assert ok
    return encoded.tobytes()


def make_zip(path, members: dict[str, bytes], *, symlink: str | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return path


def test_extracts_frames_flat_keeping_names(tmp_path):
    archive = make_zip(
        tmp_path / "clip.zip",
        {"EP02_01f/img46.jpg": frame_bytes(1), "EP02_01f/img47.jpg": frame_bytes(2)},
    )
    target = extract_frames(archive, tmp_path / "out")
    assert sorted(p.name for p in target.iterdir()) == ["img46.jpg", "img47.jpg"]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil.jpg": b"x"}, "points outside the clip"),
        ({"/abs/evil.jpg": b"x"}, "points outside the clip"),
        ({"a/../../evil.jpg": b"x"}, "points outside the clip"),
        ({"frames/readme.txt": b"x"}, "is not a frame image"),
        ({}, "holds no frame images"),
        ({"a/img1.jpg": b"x", "b/img2.jpg": b"x"}, "one clip per archive"),
    ],
)
def test_refuses_unsafe_or_wrong_archives(tmp_path, members, message):
    archive = make_zip(tmp_path / "bad.zip", members)
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_frames(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "evil.jpg").exists()


def test_refuses_symlinks(tmp_path):
    archive = make_zip(tmp_path / "link.zip", {"img1.jpg": frame_bytes(1)}, symlink="img2.jpg")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        inspect_zip(archive)


def test_refuses_zip_bombs(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {"img1.png": b"\0" * 50_000_000})
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        inspect_zip(archive)


def test_refuses_archives_over_the_size_limit(tmp_path):
    archive = make_zip(tmp_path / "big.zip", {f"img{i}.png": frame_bytes(i) for i in range(5)})
    with pytest.raises(UnsafeArchiveError, match="unpacks to more than"):
        inspect_zip(archive, limits=ArchiveLimits(max_total_bytes=100))
    with pytest.raises(UnsafeArchiveError, match="at most 3"):
        inspect_zip(archive, limits=ArchiveLimits(max_members=3))


def test_refuses_non_zip(tmp_path):
    path = tmp_path / "clip.zip"
    path.write_bytes(b"this is not a zip")
    with pytest.raises(UnsafeArchiveError, match="not a readable zip"):
        inspect_zip(path)
