"""The synthetic micro-expression generator: native layouts, labels, motion, determinism."""

import hashlib
import itertools
import re
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from mlcore.cli import main
from mlcore.composite import read_manifest
from mlcore.facs import parse_au_string
from mlcore.labels import default_mapping
from mlcore.models.frl_dgt import AU_REGION_NAMES, au_region_boxes
from mlcore.synth import SynthResult, generate, load_truth
from mlcore.synth.expressions import (
    ClipRenderer,
    Timing,
    displacement_field,
    draw_aus,
    draw_distractors,
)
from mlcore.synth.faces import make_identity
from mlcore.synth.layouts import preset_schedule

SMALL = (320, 240)


def _composite_class(emotion: str) -> str:
    return default_mapping([emotion])[emotion.lower()]


def _generate(out_dir: Path, **options) -> SynthResult:
    settings = dict(subjects=3, clips_per_subject=2, frames=10, seed=0, size=SMALL)
    settings.update(options)
    return generate(out_dir=out_dir, **settings)


@pytest.fixture(scope="module")
def casme2_run(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return _generate(tmp_path_factory.mktemp("synth") / "casme2", layout="casme2")


@pytest.fixture(scope="module")
def samm_run(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return _generate(
        tmp_path_factory.mktemp("synth") / "samm", layout="samm", clips_per_subject=3, frames=8
    )


@pytest.fixture(scope="module")
def smic_run(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return _generate(tmp_path_factory.mktemp("synth") / "smic", layout="smic")


@pytest.fixture(scope="module")
def composite_run(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return _generate(
        tmp_path_factory.mktemp("synth") / "composite",
        layout="composite",
        datasets=["smic", "casme2", "samm"],
        subjects=6,
        crop_size=48,
    )


def _frame_numbers(folder: Path, pattern: str) -> list[int]:
    numbers = []
    for path in folder.iterdir():
        match = re.fullmatch(pattern, path.name)
        assert match, f"unexpected file {path}"
        numbers.append(int(match[1]))
    return sorted(numbers)


def _tree_hash(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_casme2_layout_frames_and_coding_sheet(casme2_run: SynthResult) -> None:
    root = casme2_run.out_dir
    truth = load_truth(root)["clips"]
    assert len(truth) == 6
    assert sorted(p.name for p in (root / "CASME2_RAW").iterdir()) == ["sub01", "sub02", "sub03"]
    for clip in truth:
        folder = root / "CASME2_RAW" / clip["subject"] / clip["clip"]
        assert re.fullmatch(r"EP\d\d_\d\df?", clip["clip"])
        numbers = _frame_numbers(folder, r"img(\d+)\.jpg")
        assert numbers == clip["frame_indices"] == list(range(numbers[0], numbers[0] + 10))
        image = cv2.imread(str(folder / f"img{numbers[0]}.jpg"), cv2.IMREAD_UNCHANGED)
        assert image.shape == (240, 320, 3)
    assert any(clip["frame_indices"][0] != 1 for clip in truth)

    sheet = openpyxl.load_workbook(root / "CASME2-coding-20140508.xlsx").worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Subject",
        "Filename",
        None,
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        None,
        "Action Units",
        "Estimated Emotion",
    )
    by_key = {(c["subject"], c["clip"]): c for c in truth}
    assert len(rows) == 1 + len(truth)
    for subject, filename, blank_c, onset, apex, offset, blank_g, aus, emotion in rows[1:]:
        clip = by_key[(f"sub{subject}", filename)]
        assert isinstance(subject, str) and re.fullmatch(r"\d\d", subject)
        assert blank_c is None and blank_g is None
        assert (onset, apex, offset) == (clip["onset"], clip["apex"], clip["offset"])
        assert clip["frame_indices"][0] < onset < apex < offset <= clip["frame_indices"][-1]
        assert emotion == clip["emotion"]
        assert emotion in {"happiness", "surprise", "disgust", "repression", "others"}
        # CASME II codes carry laterality, not intensity.
        coded = [(c.number, c.laterality, c.intensity) for c in parse_au_string(aus)]
        expected = [(c["au"], c["laterality"], "") for c in clip["au_codes"]]
        assert coded == expected
        assert " " not in aus


def test_samm_layout_frames_and_micro_sheet(samm_run: SynthResult) -> None:
    root = samm_run.out_dir
    truth = load_truth(root)["clips"]
    assert sorted(p.name for p in (root / "SAMM").iterdir()) == ["006", "007", "008"]
    paddings = set()
    for clip in truth:
        folder = root / "SAMM" / clip["subject"] / clip["clip"]
        assert re.fullmatch(rf"{clip['subject']}_\d_\d+", clip["clip"])
        names = sorted(p.name for p in folder.iterdir())
        paddings |= {len(re.fullmatch(r"\d{3}_(\d+)\.jpg", n)[1]) for n in names}
        numbers = _frame_numbers(folder, rf"{clip['subject']}_(\d+)\.jpg")
        assert numbers == clip["frame_indices"]
        image = cv2.imread(str(folder / names[0]), cv2.IMREAD_UNCHANGED)
        assert image.shape == (240, 320)  # SAMM frames are greyscale
    assert paddings == {4, 5}, "the zero padding of SAMM frame numbers must vary between clips"

    workbook = openpyxl.load_workbook(root / "SAMM_Micro_FACS_Codes_v2.xlsx")
    assert workbook.sheetnames == ["MICRO_ONLY"]
    sheet = workbook["MICRO_ONLY"]
    assert sheet.cell(row=1, column=1).value  # a title, like the real preamble
    assert all(sheet.cell(row=r, column=c).value is None for r in (12, 13) for c in range(1, 13))
    header = [sheet.cell(row=14, column=c).value for c in range(1, 13)]
    assert header == [
        "Subject",
        "Filename",
        "Inducement Code",
        "Onset Frame",
        "Apex Frame",
        "Offset Frame",
        "Duration",
        "Micro",
        "Action Units",
        "Estimated Emotion",
        "Objective Classes",
        "Notes",
    ]
    rows = list(sheet.iter_rows(min_row=15, values_only=True))
    assert len(rows) == len(truth) == 9
    by_clip = {c["clip"]: c for c in truth}
    for subject, filename, inducement, onset, apex, offset, duration, _, aus, emotion, *_ in rows:
        clip = by_clip[filename]
        assert subject == clip["subject"] and re.fullmatch(r"0\d\d", subject)
        assert inducement == int(filename.split("_")[1])
        assert (onset, apex, offset) == (clip["onset"], clip["apex"], clip["offset"])
        assert duration == offset - onset + 1
        assert emotion == clip["emotion"] and emotion[0].isupper()
        assert [c.number for c in parse_au_string(aus)] == [c["au"] for c in clip["au_codes"]]
        assert "+" not in aus or " + " in aus


def test_smic_layout_label_folders_without_apex(smic_run: SynthResult) -> None:
    root = smic_run.out_dir
    truth = load_truth(root)["clips"]
    abbreviations = {"negative": "ne", "positive": "po", "surprise": "sur"}
    for clip in truth:
        label = clip["composite_class"]
        folder = root / "SMIC" / "HS" / clip["subject"] / "micro" / label / clip["clip"]
        assert re.fullmatch(rf"{clip['subject']}_{abbreviations[label]}_\d\d", clip["clip"])
        numbers = _frame_numbers(folder, r"reg_image(\d{6})\.bmp")
        assert numbers == clip["frame_indices"]
        assert clip["annotated"] == {"onset": numbers[0], "apex": None, "offset": numbers[-1]}
        assert numbers[0] < clip["onset"] < clip["apex"] < clip["offset"] < numbers[-1]
        assert clip["fps"] == 100
        assert cv2.imread(str(folder / f"reg_image{numbers[0]:06d}.bmp")).shape == (240, 320, 3)
    assert {c["composite_class"] for c in truth} == {"negative", "positive", "surprise"}
    assert smic_run.annotation_path is None


def test_composite_layout_reads_back(composite_run: SynthResult) -> None:
    root = composite_run.out_dir
    samples = read_manifest(root)
    truth = {(c["dataset"], c["subject"], c["clip"]): c for c in load_truth(root)["clips"]}
    assert len(samples) == len(truth) == 12
    assert {s.dataset for s in samples} == {"casme2", "samm", "smic"}
    assert {s.dataset: s.fps for s in samples} == {"casme2": 200.0, "samm": 200.0, "smic": 100.0}
    for sample in samples:
        clip = truth[(sample.dataset, sample.subject, sample.clip)]
        assert sample.label == clip["label"] is not None
        assert _composite_class(sample.emotion) == clip["composite_class"]
        assert (sample.onset, sample.apex, sample.offset) == tuple(clip["annotated"].values())
        if sample.dataset == "smic":
            assert sample.apex is None
        nose_x, nose_y = clip["crop_landmarks"]["nose_tip"]
        assert 0.35 * 48 < nose_x < 0.65 * 48 and 0.4 * 48 < nose_y < 0.8 * 48
        for frame in range(sample.onset, sample.offset + 1):
            crop = cv2.imread(str(sample.frame_path(root, frame)), cv2.IMREAD_UNCHANGED)
            assert crop is not None and crop.shape == (48, 48) and crop.dtype == np.uint8
        written = sorted(p.name for p in (root / sample.frames_dir).iterdir())
        assert written == [f"{n:06d}.png" for n in range(sample.onset, sample.offset + 1)]
    folds = (root / "loso_folds.json").read_text()
    assert all(f'"{s.subject_key}"' in folds for s in samples)


# Each AU region of FRL-DGT and the synthetic landmarks that move its AUs. Image-left is the
# subject's right (FACS sides), and the template's first eye is the image-left one.
REGION_LANDMARKS = {
    "left brow": ["brow_inner_right", "brow_mid_right", "brow_outer_right"],
    "right brow": ["brow_inner_left", "brow_mid_left", "brow_outer_left"],
    "glabella": ["glabella"],
    "left eye": ["eye_right", "upper_lid_right", "lower_lid_right"],
    "right eye": ["eye_left", "upper_lid_left", "lower_lid_left"],
    "nose": ["nose_tip", "nose_wing_left", "nose_wing_right"],
    "left mouth corner": ["mouth_corner_right"],
    "right mouth corner": ["mouth_corner_left"],
    "chin and mouth": ["chin_boss"],
}


def test_aligned_crops_put_brows_eyes_nose_and_mouth_corners_in_their_au_boxes(
    composite_run: SynthResult,
) -> None:
    truth = load_truth(composite_run.out_dir)
    assert truth["landmark_noise"] == 0.02
    boxes = dict(zip(AU_REGION_NAMES, au_region_boxes(), strict=True))
    for clip in truth["clips"]:
        assert len(clip["alignment"]) == 2 and len(clip["alignment"][0]) == 3
        for region, names in REGION_LANDMARKS.items():
            x1, y1, x2, y2 = (48 * v for v in boxes[region])
            for name in names:
                x, y = clip["crop_landmarks"][name]
                assert x1 <= x <= x2 and y1 <= y <= y2, (clip["clip"], region, name, (x, y))


def test_the_au_boxes_hold_most_of_the_synthetic_motion(tmp_path: Path) -> None:
    """With distractors off, the onset-apex difference is the AU motion alone."""
    result = _generate(
        tmp_path / "still",
        layout="composite",
        datasets=["casme2", "samm"],
        subjects=4,
        frames=16,
        seed=1,
        distractors=False,
    )
    size = 112
    inside = np.zeros((size, size), bool)
    for x1, y1, x2, y2 in au_region_boxes():
        inside[round(y1 * size) : round(y2 * size), round(x1 * size) : round(x2 * size)] = True
    area = inside.mean()
    shares = []
    for sample in read_manifest(result.out_dir):
        onset, apex = (
            cv2.imread(str(sample.frame_path(result.out_dir, frame)), cv2.IMREAD_GRAYSCALE)
            for frame in (sample.onset, sample.apex)
        )
        difference = np.abs(apex.astype(np.float32) - onset.astype(np.float32))
        shares.append(difference[inside].sum() / difference.sum())
    # Chance would be the area share (about 27 %): the boxes hold far more than that.
    assert 0.2 < area < 0.35
    assert np.mean(shares) > 0.7 and min(shares) > 1.8 * area, (area, shares)


def test_labels_follow_the_emotion_au_rules(
    casme2_run: SynthResult, samm_run: SynthResult, composite_run: SynthResult
) -> None:
    clips = [
        clip
        for run in (casme2_run, samm_run, composite_run)
        for clip in load_truth(run.out_dir)["clips"]
    ]
    negative_aus = {1, 4, 5, 7, 9, 10, 12, 14, 15, 17}
    for clip in clips:
        aus = {code["au"] for code in clip["au_codes"]}
        assert clip["composite_class"] == _composite_class(clip["emotion"])
        if clip["composite_class"] == "positive":
            assert 12 in aus
        elif clip["composite_class"] == "surprise":
            assert {1, 2} <= aus
        elif clip["composite_class"] == "negative":
            assert aus <= negative_aus and aus & {4, 7, 9, 10, 14, 15, 17}
    assert {c["composite_class"] for c in clips} >= {"negative", "positive", "surprise", "excluded"}


def test_thirty_distinct_identities(tmp_path: Path) -> None:
    result = generate(
        out_dir=tmp_path / "many",
        layout="casme2",
        subjects=30,
        clips_per_subject=1,
        frames=7,
        size=(128, 96),
        seed=3,
    )
    firsts = []
    for clip in load_truth(result.out_dir)["clips"]:
        path = result.out_dir / clip["frames_dir"] / f"img{clip['frame_indices'][0]}.jpg"
        firsts.append(cv2.imread(str(path)).astype(np.float32))
    assert len(firsts) == 30
    for a, b in itertools.combinations(range(30), 2):
        assert np.abs(firsts[a] - firsts[b]).mean() > 8, f"identities {a} and {b} look alike"


def _still_renderer(identity, aus: str, *, distractors: bool = False, amplitude: float = 3.0):
    timing = Timing(frames=24, onset=6, apex=12, offset=18)
    return ClipRenderer(
        identity=identity,
        aus=parse_au_string(aus),
        amplitude=amplitude,
        timing=timing,
        distractors=draw_distractors(
            rng=np.random.default_rng(5), frames=24, fps=200, frame_scale=1.0, enabled=distractors
        ),
        noise_seed=np.random.SeedSequence(9),
    )


def test_haar_cascade_finds_the_faces() -> None:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found, total = 0, 0
    for index in range(6):
        identity = make_identity(index=index, seed=11)
        renderer = _still_renderer(identity, "6+12", distractors=True)
        for frame in (0, 12):
            grey = cv2.cvtColor(renderer.render(frame), cv2.COLOR_BGR2GRAY)
            nose_x, nose_y = identity.landmarks["nose_tip"]
            boxes = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3)
            found += any(x < nose_x < x + w and y < nose_y < y + h for x, y, w, h in boxes)
            total += 1
    assert found / total >= 0.8


def _region_energy(diff: np.ndarray, identity, names: list[str], radius: int) -> float:
    values = []
    for name in names:
        x, y = (round(v) for v in identity.landmarks[name])
        values.append(diff[y - radius : y + radius, x - radius : x + radius].mean())
    return float(np.mean(values))


@pytest.mark.parametrize(
    ("aus", "moving", "still"),
    [
        (
            "12",
            ["mouth_corner_left", "mouth_corner_right"],
            ["brow_inner_left", "brow_outer_right"],
        ),
        (
            "1+2",
            ["brow_inner_left", "brow_outer_right"],
            ["mouth_corner_left", "mouth_corner_right"],
        ),
    ],
)
def test_motion_is_region_specific(aus: str, moving: list[str], still: list[str]) -> None:
    identity = make_identity(index=2, seed=0)
    renderer = _still_renderer(identity, aus)
    onset = renderer.render(6).astype(np.float32)
    apex = renderer.render(12).astype(np.float32)
    diff = np.abs(apex - onset).mean(axis=-1)
    assert _region_energy(diff, identity, moving, 12) > 1.0
    assert _region_energy(diff, identity, moving, 12) > 8 * _region_energy(
        diff, identity, still, 12
    )


def test_laterality_moves_one_side_only() -> None:
    identity = make_identity(index=4, seed=0, size=SMALL)
    left = displacement_field(
        identity=identity, aus=parse_au_string("L12"), amplitude=3, region=(0, 0, *SMALL)
    )
    magnitude = np.linalg.norm(left, axis=-1)
    nose_x = int(identity.landmarks["nose_tip"][0])
    # FACS left is the subject's left: the image's right half.
    assert magnitude[:, nose_x:].max() > 20 * magnitude[:, : nose_x - 10].max()


def test_amplitude_and_intensity_scale_the_apex_displacement() -> None:
    identity = make_identity(index=1, seed=0)
    region = (0, 0, 640, 480)

    def peak(code: str, amplitude: float) -> float:
        field = displacement_field(
            identity=identity, aus=parse_au_string(code), amplitude=amplitude, region=region
        )
        return float(np.linalg.norm(field, axis=-1).max())

    assert 2.7 <= peak("15", 3.0) <= 3.6
    assert peak("15", 6.0) == pytest.approx(2 * peak("15", 3.0), rel=1e-4)
    assert peak("15E", 3.0) == pytest.approx(3 * peak("15A", 3.0), rel=1e-4)


def test_no_motion_outside_onset_offset_except_distractors() -> None:
    identity = make_identity(index=0, seed=0, size=SMALL)
    clean = _still_renderer(identity, "4+7")
    frames = [clean.render(i).astype(np.int16) for i in range(24)]
    for i in list(range(0, 7)) + list(range(18, 24)):
        assert np.array_equal(frames[i], frames[0]), f"frame {i} moved outside onset..offset"
    assert np.abs(frames[12] - frames[0]).max() > 20

    profile = Timing(frames=24, onset=6, apex=12, offset=18).profile()
    assert profile[12] == 1.0 and profile[6] == profile[18] == 0.0
    assert np.all(np.diff(profile[6:13]) > 0) and np.all(np.diff(profile[12:19]) < 0)

    noisy = _still_renderer(identity, "4+7", distractors=True)
    frames = [noisy.render(i).astype(np.float32) for i in range(24)]
    brow = ["brow_inner_left", "brow_inner_right"]
    still = np.abs(frames[5] - frames[0]).mean(axis=-1)
    moved = np.abs(frames[12] - frames[6]).mean(axis=-1)
    assert _region_energy(still, identity, brow, 8) < 0.5 * _region_energy(moved, identity, brow, 8)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for layout in ("samm", "composite"):
        first = _generate(tmp_path / f"{layout}-a", layout=layout, subjects=2, frames=8)
        second = _generate(tmp_path / f"{layout}-b", layout=layout, subjects=2, frames=8)
        assert _tree_hash(first.out_dir) == _tree_hash(second.out_dir)
    other = _generate(tmp_path / "samm-seed1", layout="samm", subjects=2, frames=8, seed=1)
    assert _tree_hash(other.out_dir) != _tree_hash(tmp_path / "samm-a")


def test_composite_preset_has_megc2019_counts() -> None:
    schedule = preset_schedule(preset="composite", datasets=["casme2", "samm", "smic"], seed=0)
    expected = {"casme2": (24, 88, 32, 25), "samm": (28, 92, 26, 15), "smic": (16, 70, 51, 43)}
    totals = np.zeros(3, int)
    for dataset, (subjects, *classes) in expected.items():
        per_subject = schedule[dataset]
        assert len(per_subject) == subjects and all(per_subject)
        emotions = [e.lower() for clips in per_subject for e in clips]
        counts = [
            sum(_composite_class(e) == c for e in emotions)
            for c in ("negative", "positive", "surprise")
        ]
        assert counts == classes
        totals += counts
    assert totals.tolist() == [250, 109, 83]


def test_cli_writes_a_layout_and_reports_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    argv = ["synth", "--out", str(out), "--layout", "smic", "--subjects", "1"]
    assert main([*argv, "--clips-per-subject", "1", "--frames", "8", "--size", "160", "120"]) == 0
    assert len(list((out / "SMIC" / "HS" / "s1" / "micro").glob("*/*/reg_image*.bmp"))) == 8
    assert main([*argv, "--frames", "8"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path / "x"), "--layout", "casme2", "--frames", "3"]) == 2
    assert "frames 3" in capsys.readouterr().err
    with pytest.raises(ValueError, match="datasets only apply to the composite"):
        generate(out_dir=tmp_path / "y", layout="samm", datasets=["samm"])
    with pytest.raises(ValueError, match="no AU templates"):
        draw_aus(rng=np.random.default_rng(0), emotion="boredom")
