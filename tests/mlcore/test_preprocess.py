"""Preprocessing of real small clips, through the library and the CLI."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from mlcore.cli import main
from mlcore.faces import FaceNotFoundError
from mlcore.faces.haar import HaarFaceDetector
from mlcore.preprocess import preprocess_clip

# The head drifts right and back: frame 50 (shift 4 px) is furthest from the onset, frame 46.
SHIFTS = [0, 0, 1, 2, 4, 2, 1, 0]
FIRST_FRAME = 46
PEAK_FRAME = 50
META_KEYS = {
    "frame_indices",
    "fps",
    "width",
    "height",
    "detector",
    "box",
    "score",
    "landmarks",
    "onset_frame",
    "sizes",
    "transforms",
    "motion_peak_frame",
}


@pytest.fixture(autouse=True)
def haar_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs without an explicit detector use Haar, whatever the developer's environment says."""
    monkeypatch.delenv("RETINAFACE_WEIGHTS", raising=False)


def jpeg_names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.jpg"))


def image_size(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image.shape[1], image.shape[0]


def test_preprocess_writes_the_contract_layout(tmp_path: Path, write_moving_face_folder) -> None:
    source = write_moving_face_folder(tmp_path / "EP02_01f", shifts=SHIFTS, first=FIRST_FRAME)
    out = tmp_path / "out"
    reports: list[tuple[float, str]] = []

    result = preprocess_clip(
        source=source,
        out_dir=out,
        detector=HaarFaceDetector(),
        sizes=(112, 224),
        progress=lambda fraction, message: reports.append((fraction, message)),
    )

    frames = list(range(FIRST_FRAME, FIRST_FRAME + len(SHIFTS)))
    names = [f"{frame:06d}.jpg" for frame in frames]
    assert jpeg_names(out / "frames") == names
    assert jpeg_names(out / "aligned" / "112") == names
    assert jpeg_names(out / "aligned" / "224") == names
    assert jpeg_names(out / "motion") == names
    assert image_size(out / "frames" / names[0]) == (320, 240)
    assert image_size(out / "aligned" / "112" / names[0]) == (112, 112)
    assert image_size(out / "aligned" / "224" / names[-1]) == (224, 224)
    assert image_size(out / "motion" / names[3]) == (112, 112)

    meta = json.loads((out / "meta.json").read_text())
    assert set(meta) >= META_KEYS
    assert meta["frame_indices"] == frames
    assert meta["fps"] is None
    assert (meta["width"], meta["height"]) == (320, 240)
    assert meta["detector"] == "haar"
    assert meta["onset_frame"] == FIRST_FRAME
    assert meta["sizes"] == [112, 224]
    assert set(meta["transforms"]) == {"112", "224"}
    assert np.array(meta["transforms"]["224"]).shape == (2, 3)
    assert np.array(meta["landmarks"]).shape == (5, 2)
    assert meta["motion_peak_frame"] == PEAK_FRAME
    assert result.motion_peak_frame == PEAK_FRAME and result.frame_indices == frames

    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_aligned_crops_hold_the_face(tmp_path: Path, write_moving_face_folder) -> None:
    source = write_moving_face_folder(tmp_path / "clip", shifts=[0, 0])

    preprocess_clip(
        source=source, out_dir=tmp_path / "out", detector=HaarFaceDetector(), sizes=(112,)
    )

    crop = cv2.imread(str(tmp_path / "out" / "aligned" / "112" / "000001.jpg"))
    (face,) = HaarFaceDetector().detect(crop)
    x1, y1, x2, y2 = face.box
    # The crop is the face, centred: the detector finds it filling most of the crop.
    assert x2 - x1 > 60 and abs((x1 + x2) / 2 - 56) < 10 and abs((y1 + y2) / 2 - 60) < 15


def test_motion_heat_map_is_cold_at_onset_and_warm_at_the_peak(
    tmp_path: Path, write_moving_face_folder
) -> None:
    source = write_moving_face_folder(tmp_path / "clip", shifts=SHIFTS, first=FIRST_FRAME)
    out = tmp_path / "out"

    preprocess_clip(source=source, out_dir=out, detector=HaarFaceDetector(), sizes=(112,))

    def redness(frame: int) -> float:
        heat = cv2.imread(str(out / "motion" / f"{frame:06d}.jpg")).astype(float)
        face = cv2.imread(str(out / "aligned" / "112" / f"{frame:06d}.jpg")).astype(float)
        return float((heat[..., 2] - face[..., 2]).mean())

    assert redness(PEAK_FRAME) > redness(FIRST_FRAME) + 5


def test_onset_frame_moves_detection_and_reference(
    tmp_path: Path, write_moving_face_folder
) -> None:
    source = write_moving_face_folder(tmp_path / "clip", shifts=SHIFTS, first=FIRST_FRAME)

    result = preprocess_clip(
        source=source,
        out_dir=tmp_path / "out",
        detector=HaarFaceDetector(),
        sizes=(112,),
        onset_frame=PEAK_FRAME,
    )

    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["onset_frame"] == PEAK_FRAME == result.onset_frame
    # Relative to the shifted frame, the unshifted frames at either end move the most.
    assert meta["motion_peak_frame"] in {FIRST_FRAME, FIRST_FRAME + 1, FIRST_FRAME + 7}
    with pytest.raises(ValueError, match=r"onset frame 3 is not in the clip \(frames 46\.\.53\)"):
        preprocess_clip(source=source, out_dir=tmp_path / "out2", sizes=(112,), onset_frame=3)


def test_video_clip_records_its_fps(tmp_path: Path, write_moving_face_video) -> None:
    source = write_moving_face_video(tmp_path / "take.avi", shifts=SHIFTS)

    result = preprocess_clip(source=source, out_dir=tmp_path / "out", sizes=(64,))

    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["fps"] == pytest.approx(200.0) and result.fps == pytest.approx(200.0)
    assert meta["frame_indices"] == list(range(1, len(SHIFTS) + 1))
    assert meta["motion_peak_frame"] == 5


def test_no_face_names_the_clip_and_leaves_no_meta(tmp_path: Path) -> None:
    source = tmp_path / "wall"
    source.mkdir()
    for number in (1, 2, 3):
        cv2.imwrite(str(source / f"img{number}.jpg"), np.full((120, 160, 3), 90, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    (out / "meta.json").write_text("{}")  # from an earlier, successful run

    with pytest.raises(
        FaceNotFoundError, match=r"wall: no face found on frame 1 \(detector: haar\)"
    ):
        preprocess_clip(source=source, out_dir=out, detector=HaarFaceDetector())

    assert not (out / "meta.json").exists()


def test_rerun_replaces_a_longer_previous_output(tmp_path: Path, write_moving_face_folder) -> None:
    long_clip = write_moving_face_folder(tmp_path / "long", shifts=[0, 1, 2, 3])
    short_clip = write_moving_face_folder(tmp_path / "short", shifts=[0, 1])
    out = tmp_path / "out"
    (out / "frames").mkdir(parents=True)
    (out / "frames" / "keep.txt").write_text("not ours")

    preprocess_clip(source=long_clip, out_dir=out, sizes=(64,))
    preprocess_clip(source=short_clip, out_dir=out, sizes=(64,))

    assert jpeg_names(out / "frames") == ["000001.jpg", "000002.jpg"]
    assert jpeg_names(out / "motion") == ["000001.jpg", "000002.jpg"]
    assert (out / "frames" / "keep.txt").exists()


def test_bad_sizes_are_refused(tmp_path: Path, write_moving_face_folder) -> None:
    source = write_moving_face_folder(tmp_path / "clip", shifts=[0])

    with pytest.raises(ValueError, match=r"crop sizes .* got \(112, 112\)"):
        preprocess_clip(source=source, out_dir=tmp_path / "out", sizes=(112, 112))


def test_cli_preprocesses_one_clip(tmp_path: Path, write_moving_face_folder, capsys) -> None:
    source = write_moving_face_folder(tmp_path / "EP02_01f", shifts=SHIFTS, first=FIRST_FRAME)
    out = tmp_path / "out"

    code = main(["preprocess", str(source), "--out", str(out), "--sizes", "64", "128"])

    assert code == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sizes"] == [64, 128] and meta["onset_frame"] == FIRST_FRAME
    assert jpeg_names(out / "aligned" / "128")[0] == f"{FIRST_FRAME:06d}.jpg"
    assert f"EP02_01f: {len(SHIFTS)} frames" in capsys.readouterr().out


def test_cli_onset_option(tmp_path: Path, write_moving_face_folder) -> None:
    source = write_moving_face_folder(tmp_path / "clip", shifts=SHIFTS, first=FIRST_FRAME)

    code = main(["preprocess", str(source), "--out", str(tmp_path / "out"), "--onset", "48"])

    assert code == 0
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["onset_frame"] == 48


def test_cli_preprocesses_a_folder_of_clips(
    tmp_path: Path, write_moving_face_folder, write_moving_face_video, capsys
) -> None:
    root = tmp_path / "sessions"
    write_moving_face_folder(root / "sub01" / "EP02_01f", shifts=[0, 1, 2])
    write_moving_face_video(root / "take2.avi", shifts=[0, 2, 0])
    (root / "broken").mkdir()
    (root / "broken" / "img1.jpg").write_bytes(b"garbage")
    out = tmp_path / "out"

    code = main(["preprocess", str(root), "--out", str(out), "--sizes", "64"])

    assert code == 1  # one clip failed, the others were still processed
    assert (out / "sub01" / "EP02_01f" / "meta.json").exists()
    assert json.loads((out / "take2" / "meta.json").read_text())["fps"] == pytest.approx(200.0)
    assert not (out / "broken" / "meta.json").exists()
    error = capsys.readouterr().err
    assert "broken: FAILED:" in error and "img1.jpg: not a readable image" in error
    assert "1 of 3 clips failed" in error


def test_cli_reports_bad_input_without_a_traceback(tmp_path: Path, capsys) -> None:
    assert main(["preprocess", str(tmp_path / "absent"), "--out", str(tmp_path / "out")]) == 2
    assert "clip not found" in capsys.readouterr().err

    (tmp_path / "clip").mkdir()
    cv2.imwrite(str(tmp_path / "clip" / "img1.jpg"), np.zeros((32, 32, 3), np.uint8))
    weights = tmp_path / "missing.pth"
    argv = ["preprocess", str(tmp_path / "clip"), "--out", str(tmp_path / "out")]
    assert main([*argv, "--retinaface-weights", str(weights)]) == 2
    error = capsys.readouterr().err
    assert "missing.pth" in error and "RETINAFACE_WEIGHTS" in error


def test_jpeg_source_frames_are_served_byte_for_byte(tmp_path):
    from skimage import data

    folder = tmp_path / "EP01_01"
    folder.mkdir()
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    for number in (46, 47):
        cv2.imwrite(str(folder / f"img{number}.jpg"), face)
    out = tmp_path / "out"
    preprocess_clip(source=folder, out_dir=out, sizes=(112,))
    assert (out / "frames" / "000046.jpg").read_bytes() == (folder / "img46.jpg").read_bytes()
