"""Clip readers on real files: frame folders named like the datasets, and encoded videos."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from mlcore.frame_files import ClipReadError, find_clips
from mlcore.io import ClipLimits, open_clip
from tests.clip_files import png_declaring


def numbered_frame(number: int, *, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A frame whose brightness encodes its number, so reading order can be checked."""
    width, height = size
    frame = np.full((height, width, 3), (number * 7) % 250, dtype=np.uint8)
    frame[:, : width // 4, 2] = 255  # a red band on the left tells BGR from RGB
    return frame


def write_frames(folder: Path, names: dict[str, int], *, size: tuple[int, int] = (64, 48)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, number in names.items():
        assert cv2.imwrite(str(folder / name), numbered_frame(number, size=size))


def brightness(frame: np.ndarray) -> float:
    return float(frame[:, frame.shape[1] // 2 :].mean())


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # CASME II raw frames: natural order, not text order (img10 after img9).
        ({"img46.jpg": 46, "img9.jpg": 9, "img10.jpg": 10, "img100.jpg": 100}, [9, 10, 46, 100]),
        # CASME II cropped frames.
        ({"reg_img46.jpg": 46, "reg_img47.jpg": 47, "reg_img49.jpg": 49}, [46, 47, 49]),
        # SAMM: subject prefix, frame padding that varies inside one clip.
        ({"006_05562.jpg": 5562, "006_5563.jpg": 5563, "006_005564.jpg": 5564}, [5562, 5563, 5564]),
        # SMIC-HS bitmaps.
        ({"reg_image000123.bmp": 123, "reg_image000124.bmp": 124}, [123, 124]),
        ({"frame_1.png": 1, "frame_2.PNG": 2, "frame_3.jpeg": 3}, [1, 2, 3]),
    ],
)
def test_frame_folder_keeps_source_numbers_in_natural_order(
    tmp_path: Path, names: dict[str, int], expected: list[int]
) -> None:
    write_frames(tmp_path / "clip", names)

    clip = open_clip(tmp_path / "clip")

    assert clip.frame_indices == expected
    assert clip.fps is None
    assert clip.size == (64, 48)
    for index, frame in clip.iter_frames():
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
        assert brightness(frame) == pytest.approx((index * 7) % 250, abs=3)
        assert frame[:, 0].mean(axis=0)[2] > 240  # red band in BGR channel 2
    last = expected[-1]
    assert brightness(clip.read(last)) == pytest.approx((last * 7) % 250, abs=3)


def test_grayscale_frames_come_back_as_bgr(tmp_path: Path) -> None:
    """SAMM stores 8-bit grayscale JPEGs; every reader output is 3-channel BGR."""
    (tmp_path / "006_1_2").mkdir()
    for number in (5562, 5563):
        gray = np.full((48, 64), number % 200, dtype=np.uint8)
        assert cv2.imwrite(str(tmp_path / "006_1_2" / f"006_{number:05d}.jpg"), gray)

    frame = open_clip(tmp_path / "006_1_2").read(5563)

    assert frame.shape == (48, 64, 3)
    assert np.abs(frame.astype(int) - 5563 % 200).max() <= 2


def test_frame_folder_skips_hidden_and_non_image_files(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1, "img2.jpg": 2})
    (tmp_path / "clip" / "._img3.jpg").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (tmp_path / "clip" / "Thumbs.db").write_bytes(b"not an image")
    (tmp_path / "clip" / "notes.txt").write_text("onset 1")

    assert open_clip(tmp_path / "clip").frame_indices == [1, 2]


def test_two_files_with_the_same_frame_number_are_refused(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img46.jpg": 46, "reg_img46.jpg": 46})

    with pytest.raises(ClipReadError, match=r"img46\.jpg and .*img46\.jpg are both frame 46"):
        open_clip(tmp_path / "clip")


def test_frame_file_without_a_number_is_named(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1, "face.jpg": 2})

    with pytest.raises(ClipReadError, match=r"face\.jpg: the file name does not end with a frame"):
        open_clip(tmp_path / "clip")


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(ClipReadError, match=r"empty: no frame images"):
        open_clip(tmp_path / "empty")


def test_mixed_frame_sizes_name_the_odd_file(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1, "img2.jpg": 2})
    write_frames(tmp_path / "clip", {"img3.jpg": 3}, size=(80, 48))

    with pytest.raises(ClipReadError, match=r"img3\.jpg: frame 3 is 80x48, but frame 1"):
        open_clip(tmp_path / "clip")


def test_corrupt_jpeg_is_named_when_opening(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1, "img2.jpg": 2})
    rng = np.random.default_rng(0)
    (tmp_path / "clip" / "img3.jpg").write_bytes(rng.integers(0, 256, 2000, np.uint8).tobytes())

    with pytest.raises(ClipReadError, match=r"img3\.jpg: not a readable image"):
        open_clip(tmp_path / "clip")


def test_empty_image_file_is_named(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1})
    (tmp_path / "clip" / "img2.jpg").write_bytes(b"")

    with pytest.raises(ClipReadError, match=r"img2\.jpg"):
        open_clip(tmp_path / "clip")


def test_truncated_jpeg_fails_when_its_frame_is_read(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1, "img3.jpg": 3})
    # Noise makes the compressed data much longer than the header, which survives the cut.
    noise = np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    whole = cv2.imencode(".jpg", noise)[1].tobytes()
    (tmp_path / "clip" / "img2.jpg").write_bytes(whole[: len(whole) * 3 // 4])
    clip = open_clip(tmp_path / "clip")  # the header is intact

    frames = clip.iter_frames()
    assert next(frames)[0] == 1
    with pytest.raises(ClipReadError, match=r"img2\.jpg: truncated JPEG"):
        next(frames)


def test_missing_frame_number_is_refused(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {"img1.jpg": 1, "img3.jpg": 3})

    with pytest.raises(ClipReadError, match=r"no frame 2 \(frames 1\.\.3\)"):
        open_clip(tmp_path / "clip").read(2)


def write_video(path: Path, fourcc: str, *, count: int, size: tuple[int, int] = (64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 200.0, size)
    assert writer.isOpened(), f"this OpenCV build cannot write {fourcc} into {path.suffix}"
    for number in range(1, count + 1):
        writer.write(numbered_frame(number * 4, size=size))
    writer.release()


# The fourccs this OpenCV build (FFmpeg back end) writes and reads; H.264 (avc1) has no encoder.
VIDEO_FORMATS = [("clip.mp4", "mp4v"), ("clip.avi", "MJPG"), ("clip.mov", "mp4v")]


@pytest.mark.parametrize(("name", "fourcc"), VIDEO_FORMATS)
def test_video_frames_are_numbered_from_one(tmp_path: Path, name: str, fourcc: str) -> None:
    write_video(tmp_path / name, fourcc, count=12)

    clip = open_clip(tmp_path / name)

    assert clip.frame_indices == list(range(1, 13))
    assert clip.fps == pytest.approx(200.0)
    assert clip.size == (64, 48)
    frames = dict(clip.iter_frames())
    assert list(frames) == list(range(1, 13))
    for index, frame in frames.items():
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3)
        assert brightness(frame) == pytest.approx((index * 4 * 7) % 250, abs=8)
    assert np.array_equal(clip.read(7), frames[7])
    with pytest.raises(ClipReadError, match=r"no frame 13 \(frames 1\.\.12\)"):
        clip.read(13)


def test_truncated_avi_fails_at_the_first_missing_frame(tmp_path: Path) -> None:
    writer = cv2.VideoWriter(
        str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (64, 48)
    )
    rng = np.random.default_rng(3)
    # Noise frames compress badly, so the cut lands in frame data, not in the header.
    for _ in range(20):
        writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    writer.release()
    whole = (tmp_path / "clip.avi").read_bytes()
    (tmp_path / "clip.avi").write_bytes(whole[: len(whole) // 2])
    clip = open_clip(tmp_path / "clip.avi")  # the AVI header still announces 20 frames

    with pytest.raises(ClipReadError, match=r"clip\.avi: frame \d+ of 20 could not be decoded"):
        list(clip.iter_frames())


def test_truncated_mp4_is_refused_when_opening(tmp_path: Path) -> None:
    write_video(tmp_path / "clip.mp4", "mp4v", count=20)
    whole = (tmp_path / "clip.mp4").read_bytes()
    (tmp_path / "clip.mp4").write_bytes(whole[: len(whole) * 9 // 10])

    with pytest.raises(ClipReadError, match=r"clip\.mp4: cannot open the video"):
        open_clip(tmp_path / "clip.mp4")


def test_corrupt_and_empty_videos_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    (tmp_path / "noise.mov").write_bytes(rng.integers(0, 256, 5000, np.uint8).tobytes())
    (tmp_path / "empty.mp4").write_bytes(b"")

    with pytest.raises(ClipReadError, match=r"noise\.mov"):
        open_clip(tmp_path / "noise.mov")
    with pytest.raises(ClipReadError, match=r"empty\.mp4"):
        open_clip(tmp_path / "empty.mp4")


def test_missing_and_unsupported_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"clip not found: .*nowhere"):
        open_clip(tmp_path / "nowhere")
    write_frames(tmp_path, {"img1.jpg": 1})
    with pytest.raises(ClipReadError, match=r"img1\.jpg: not a frame folder or a video file"):
        open_clip(tmp_path / "img1.jpg")


def test_find_clips_walks_a_dataset_tree(tmp_path: Path) -> None:
    write_frames(tmp_path / "sub01" / "EP02_01f", {"img1.jpg": 1})
    write_frames(tmp_path / "sub01" / "EP03_02", {"img1.jpg": 1})
    write_frames(tmp_path / "sub02" / "EP01_11f", {"reg_img5.jpg": 5})
    (tmp_path / "extra").mkdir()
    write_video(tmp_path / "extra" / "take1.avi", "MJPG", count=2)
    (tmp_path / "sub02" / "notes.txt").write_text("not a clip")

    found = [path.relative_to(tmp_path).as_posix() for path in find_clips(tmp_path)]

    assert found == ["extra/take1.avi", "sub01/EP02_01f", "sub01/EP03_02", "sub02/EP01_11f"]


@pytest.mark.parametrize(("side", "message"), [(12000, "144.0 megapixels"), (30000, "too large")])
def test_a_frame_declaring_a_huge_image_is_refused_before_decoding(
    tmp_path: Path, side: int, message: str
) -> None:
    folder = tmp_path / "bomb"
    folder.mkdir()
    for number in (1, 2):
        (folder / f"img{number}.png").write_bytes(png_declaring(side, side))
    with pytest.raises(ClipReadError, match=message):
        open_clip(folder)


def test_a_clip_with_more_frames_than_the_limit_is_refused(tmp_path: Path) -> None:
    write_frames(tmp_path / "clip", {f"img{number}.jpg": number for number in range(1, 6)})
    with pytest.raises(ClipReadError, match="5 frames; at most 4 per clip"):
        open_clip(tmp_path / "clip", limits=ClipLimits(max_frames=4))
    assert len(open_clip(tmp_path / "clip", limits=ClipLimits(max_frames=5)).frame_indices) == 5


def test_a_video_past_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200, (64, 48))
    for number in range(3):
        writer.write(numbered_frame(number))
    writer.release()
    with pytest.raises(ClipReadError, match=r"64x48 \(0.0 megapixels\)"):
        open_clip(path, limits=ClipLimits(max_frame_pixels=64 * 47))
    assert open_clip(path).size == (64, 48)
