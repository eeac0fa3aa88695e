"""Dataset readers on the synthetic native layouts and on hand-made sheets with every quirk of
the design notes; the MEGC2019 ground-truth writer and the STSTNet flow folders."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from openpyxl import Workbook

from mlcore.datasets import DatasetFormatError, read_dataset
from mlcore.datasets.megc import (
    GroundTruthRow,
    ground_truth_bytes,
    megc_clip,
    megc_subject,
    read_ground_truth,
)
from mlcore.datasets.ststnet import FlowSample, flow_image, write_ststnet
from mlcore.facs import UnparsedAU, parse_au_string
from mlcore.synth import generate, load_truth
from mlcore.synth.sheets import CASME2_HEADER, SAMM_HEADER, SAMM_HEADER_ROW

SMALL = {"subjects": 2, "clips_per_subject": 2, "frames": 12, "size": (160, 120)}


@pytest.fixture(scope="module")
def synth_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    for layout in ("casme2", "samm", "smic"):
        generate(out_dir=root / layout, layout=layout, **SMALL)
    return {layout: root / layout for layout in ("casme2", "samm", "smic")}


def _truth(folder: Path) -> dict[str, dict]:
    return {clip["clip"]: clip for clip in load_truth(folder)["clips"]}


@pytest.mark.parametrize(
    ("layout", "sheet", "frames", "subjects"),
    [
        ("casme2", "CASME2-coding-20140508.xlsx", "CASME2_RAW", {"01", "02"}),
        ("samm", "SAMM_Micro_FACS_Codes_v2.xlsx", "SAMM", {"006", "007"}),
        ("smic", None, "SMIC/HS", {"s1", "s2"}),
    ],
)
def test_native_layouts_read_as_generated(synth_sets, layout, sheet, frames, subjects) -> None:
    folder = synth_sets[layout]
    result = read_dataset(
        source_format=layout,
        annotations=folder / sheet if sheet else None,
        frames=folder / frames,
    )
    truth = _truth(folder)
    assert result.issues == []
    assert result.rows_read == len(truth) == len(result.rows) == 4
    assert {row.subject for row in result.rows} == subjects
    for row in result.rows:
        expected = truth[row.clip]
        marks = expected["annotated"]
        assert (row.onset, row.apex, row.offset) == (marks["onset"], marks["apex"], marks["offset"])
        assert row.emotion == expected["emotion"].lower()
        # As the sheet writes them: CASME II codes no intensity, SMIC-HS no AUs at all.
        assert list(row.action_units) == parse_au_string(expected["aus"])
        assert list(row.frames.frame_indices) == expected["frame_indices"]
        assert row.fps == (100.0 if layout == "smic" else 200.0)


def _frames(folder: Path, numbers: range, name: str = "img{}.jpg") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    image = np.full((8, 8, 3), 128, dtype=np.uint8)
    for number in numbers:
        cv2.imwrite(str(folder / name.format(number)), image)


def _casme2_sheet(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(CASME2_HEADER))
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_casme2_quirks_are_reported_and_never_stop_good_rows(tmp_path: Path) -> None:
    frames = tmp_path / "CASME2_RAW"
    for clip in ("EP01_01", "EP01_02", "EP01_03", "EP01_04", "EP01_05", "EP01_06", "EP01_07"):
        _frames(frames / "sub01" / clip, range(10, 31))
    _frames(frames / "sub02" / "EP02_01f", range(46, 60))
    sheet = _casme2_sheet(
        tmp_path / "CASME2-coding.xlsx",
        [
            ["01", "EP01_01", None, 12, 20, 28, None, "4+L10", "disgust"],  # row 2: good
            ["01", "EP01_02", None, 12, "/", 28, None, "12", "happiness"],  # 3: apex "/"
            ["01", "EP01_03", None, 12, 40, 28, None, "1+2", "surprise"],  # 4: apex outside
            ["01", "EP01_04", None, 12, 20, 45, None, "R12", "happiness"],  # 5: offset > 30
            ["01", "EP09_09", None, 12, 20, 28, None, "4", "disgust"],  # 6: no folder
            ["01", "EP01_05", None, 12, 20, 28, None, "4+X9+R12", "Happiness"],  # 7: AU, case
            ["01", "EP01_06", None, 12, 20, 28, None, "14", "hapiness"],  # 8: unknown word
            ["01", "EP01_01", None, 12, 20, 28, None, "4+L10", "disgust"],  # 9: same as 2
            ["01", "EP01_01", None, 13, 20, 28, None, "4+L10", "disgust"],  # 10: conflicts
            ["01", "EP01_07", None, 25, 26, 20, None, "4", "disgust"],  # 11: onset > offset
            ["01", "EP01_07", None, 12, 20, 28, None, "4", None],  # 12: no emotion
            [2, "EP02_01f", None, 46.0, 50, 59, None, "", "repression"],  # 13: numeric subject
            [None, None, None, None, None, None, None, None, None],  # blank rows are skipped
        ],
    )
    result = read_dataset(source_format="casme2", annotations=sheet, frames=frames)
    issues = {(issue.row, issue.code): issue for issue in result.issues}
    rows = {row.row: row for row in result.rows}

    assert rows[2].apex == 20 and rows[2].subject == "01"
    assert rows[3].apex is None and issues[(3, "missing_apex")].severity == "warning"
    assert rows[4].apex is None and "outside onset..offset" in issues[(4, "apex_outside")].message
    assert rows[5].offset == 30
    assert "past the last frame on disk (30)" in issues[(5, "offset_past_end")].message
    assert 6 not in rows and issues[(6, "missing_frames")].severity == "error"
    # A non-code stays in its place, verbatim, and the report flags it.
    assert [str(code) for code in rows[7].action_units] == ["4", "X9", "R12"]
    assert isinstance(rows[7].action_units[1], UnparsedAU)
    assert "'X9'" in issues[(7, "unknown_au")].message
    assert "kept verbatim" in issues[(7, "unknown_au")].message
    assert rows[7].emotion == "happiness" and (7, "emotion_case") in issues
    assert rows[8].emotion == "hapiness" and (8, "unknown_emotion") in issues
    assert 9 not in rows and issues[(9, "duplicate")].severity == "warning"
    assert 10 not in rows and "row 2 was taken" in issues[(10, "duplicate")].message
    assert 11 not in rows and issues[(11, "onset_after_offset")].severity == "error"
    assert 12 not in rows and issues[(12, "missing_emotion")].severity == "error"
    assert rows[13].subject == "02" and rows[13].onset == 46
    assert result.rows_read == 12
    assert sorted(rows) == [2, 3, 4, 5, 7, 8, 13]


def test_samm_sheet_with_preamble_capitalised_emotions_and_varying_padding(tmp_path) -> None:
    frames = tmp_path / "SAMM"
    _frames(frames / "006" / "006_1_2", range(5560, 5575), name="006_{:05d}.jpg")
    _frames(frames / "006" / "006_1_3", range(990, 1005), name="006_{:04d}.jpg")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MICRO_ONLY"
    sheet.cell(row=1, column=1, value="SAMM micro-movement codes")
    for column, name in enumerate(SAMM_HEADER, start=1):
        sheet.cell(row=SAMM_HEADER_ROW, column=column, value=name)
    rows = [
        ("006", "006_1_2", 1, 5562, 5566, 5570, 9, "Micro", "R12 + R15", "Anger", 3, "blink"),
        (6, "006_1_3", 1, 992, 995, 1000, 9, "Micro", "R14A", "anger", 3, None),
    ]
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            sheet.cell(row=SAMM_HEADER_ROW + offset, column=column, value=value)
    workbook.save(tmp_path / "samm.xlsx")

    result = read_dataset(source_format="samm", annotations=tmp_path / "samm.xlsx", frames=frames)
    first, second = result.rows
    assert (first.row, first.subject, first.clip) == (15, "006", "006_1_2")
    assert [str(c) for c in first.action_units] == ["R12", "R15"] and first.notes == "blink"
    assert second.subject == "006" and second.frames.frame_indices[0] == 990
    assert [str(c) for c in second.action_units] == ["R14A"]
    assert [(i.row, i.code) for i in result.issues] == [(16, "emotion_case")]


def test_smic_label_folders_empty_folders_and_unknown_labels(tmp_path: Path) -> None:
    hs = tmp_path / "HS"
    _frames(hs / "s1/micro/negative/s1_ne_01", range(100, 120), "reg_image{:06d}.bmp")
    _frames(hs / "s1/micro/happy/s1_ha_01", range(5, 15), "reg_image{:06d}.bmp")
    (hs / "s2/micro/positive/s2_po_01").mkdir(parents=True)
    result = read_dataset(source_format="smic", frames=tmp_path)  # a folder holding HS/
    rows = {row.clip: row for row in result.rows}
    assert (rows["s1_ne_01"].onset, rows["s1_ne_01"].apex, rows["s1_ne_01"].offset) == (
        100,
        None,
        119,
    )
    codes = {(issue.clip, issue.code, issue.severity) for issue in result.issues}
    assert codes == {
        ("s2_po_01", "missing_frames", "error"),
        ("s1_ha_01", "unknown_emotion", "warning"),
    }


def test_generic_csv_documented_columns(tmp_path: Path) -> None:
    _frames(tmp_path / "frames/p01/take_03", range(1, 40), "frame_{:04d}.png")
    _frames(tmp_path / "frames/elsewhere", range(0, 20), "f{}.png")
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text(
        "Subject,Clip,Onset,Apex,Offset,Emotion,Action_Units,FPS,Frames,Notes\n"
        "p01,take_03,12,20,31,happiness,R12B+6,30,,smiled\n"
        "p01,take_04,5,/,18,tense,1+2,,elsewhere,\n"
        "p02,take_01,5,6,7,surprise,,abc,,\n",
        encoding="utf-8",
    )
    result = read_dataset(
        source_format="generic", annotations=csv_path, frames=tmp_path / "frames", default_fps=25
    )
    first, second = result.rows
    assert (first.fps, first.notes, [str(c) for c in first.action_units]) == (
        30.0,
        "smiled",
        ["R12B", "6"],
    )
    assert second.fps == 25.0 and second.frames.path.name == "elsewhere" and second.apex is None
    codes = [(issue.row, issue.code) for issue in result.issues]
    assert codes == [(3, "missing_apex"), (3, "unknown_emotion"), (4, "missing_frames")]


def test_unreadable_inputs_raise_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "frames").mkdir()
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("subject,clip\n", encoding="utf-8")
    with pytest.raises(DatasetFormatError, match=r"missing column.*onset"):
        read_dataset(
            source_format="generic", annotations=bad_csv, frames=tmp_path / "frames", default_fps=30
        )
    not_xlsx = tmp_path / "sheet.xlsx"
    not_xlsx.write_text("hello")
    with pytest.raises(DatasetFormatError, match=r"not a readable \.xlsx"):
        read_dataset(source_format="casme2", annotations=not_xlsx, frames=tmp_path / "frames")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_dataset(source_format="smic", frames=tmp_path / "nowhere")
    with pytest.raises(DatasetFormatError, match="SMIC-HS layout"):
        read_dataset(source_format="smic", frames=tmp_path / "frames")
    wrong = _casme2_sheet(tmp_path / "w.xlsx", [])
    wrong_book = Workbook()
    wrong_book.active.append(["Subject", "Clip"])
    wrong_book.save(wrong)
    with pytest.raises(DatasetFormatError, match="OnsetFrame"):
        read_dataset(source_format="casme2", annotations=wrong, frames=tmp_path / "frames")


def test_megc_spelling_and_ground_truth_bytes(tmp_path: Path) -> None:
    assert megc_subject(dataset="casme2", subject="01") == "sub01"
    assert megc_subject(dataset="samm", subject="006") == "6"
    assert megc_subject(dataset="smic", subject="s1") == "s01"
    assert megc_clip(dataset="smic", subject="s1", clip="s1_ne_01") == "s01_ne_01"
    assert megc_clip(dataset="casme2", subject="01", clip="EP02_01f") == "EP02_01f"
    rows = [
        GroundTruthRow("smic", "s01", "s01_ne_01", 0),
        GroundTruthRow("casme2", "sub10", "EP01_01", 2),
        GroundTruthRow("casme2", "sub01", "EP02_01f", 1),
        GroundTruthRow("samm", "6", "006_1_2", 0),
    ]
    data = ground_truth_bytes(rows)
    assert data == (
        b"casme2,sub01,EP02_01f,1\r\ncasme2,sub10,EP01_01,2\r\n"
        b"samm,6,006_1_2,0\r\nsmic,s01,s01_ne_01,0\r\n"
    )
    (tmp_path / "gt.csv").write_bytes(data)
    assert sorted(read_ground_truth(tmp_path / "gt.csv"), key=GroundTruthRow.sort_key) == sorted(
        rows, key=GroundTruthRow.sort_key
    )
    with pytest.raises(ValueError, match="3"):
        GroundTruthRow("casme2", "sub01", "x", 3)


def test_ststnet_flow_images_and_folders(tmp_path: Path, face_photo_bgr) -> None:
    onset = cv2.resize(face_photo_bgr, (112, 112), interpolation=cv2.INTER_AREA)
    shifted = np.roll(onset, 2, axis=1)  # the face moves two pixels right
    image = flow_image(onset=onset, apex=shifted)
    assert image.shape == (28, 28, 3) and image.dtype == np.uint8
    assert image[..., 0].max() == 255  # u spans the range
    still = flow_image(onset=onset, apex=onset)
    assert still.max() <= 255 and np.array_equal(still, flow_image(onset=onset, apex=onset))

    samples = [
        FlowSample(subject="sub01", label=0, name="casme2_sub01_EP01", image=image),
        FlowSample(subject="sub01", label=1, name="casme2_sub01_EP02", image=still),
        FlowSample(subject="6", label=2, name="samm_6_006_1_2", image=image),
    ]
    written = write_ststnet(root=tmp_path / "st", samples=samples)
    relative = sorted(p.relative_to(tmp_path / "st").as_posix() for p in written)
    assert relative == [
        "6/u_test/2/samm_6_006_1_2.png",
        "6/u_train/0/casme2_sub01_EP01.png",
        "6/u_train/1/casme2_sub01_EP02.png",
        "sub01/u_test/0/casme2_sub01_EP01.png",
        "sub01/u_test/1/casme2_sub01_EP02.png",
        "sub01/u_train/2/samm_6_006_1_2.png",
    ]
    back = cv2.cvtColor(
        cv2.imread(str(tmp_path / "st/6/u_test/2/samm_6_006_1_2.png")), cv2.COLOR_BGR2RGB
    )
    assert np.array_equal(back, image)  # RGB (u, v, strain) survives the PNG round trip
    with pytest.raises(ValueError, match="repeated"):
        write_ststnet(root=tmp_path / "again", samples=[samples[0], samples[0]])
