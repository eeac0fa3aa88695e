"""MEGC2019's composite rule on sheets written in the published layouts: the per-dataset class
mapping, the CASME II omissions by marks, and AU codes as the real sheets write them."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from mlcore.datasets import read_dataset
from mlcore.datasets.megc import megc2019_omission
from mlcore.datasets.ststnet import ststnet_subject
from mlcore.facs import (
    AUCode,
    AUCodeError,
    UnparsedAU,
    au_entry_from_dict,
    format_au_string,
    parse_au_code,
    parse_au_entries,
    parse_au_string,
)
from mlcore.labels import default_mapping, megc2019_class
from tests.megc_sheets import casme2_sheet_write, samm_sheet_write


def _frames(folder: Path, numbers: range, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    image = np.full((8, 8, 3), 128, dtype=np.uint8)
    for number in numbers:
        cv2.imwrite(str(folder / name.format(number)), image)


def test_megc2019_maps_each_dataset_by_its_own_rule() -> None:
    # CASME II: negatives are disgust and repression only; fear and sadness are left out.
    assert default_mapping(
        ["disgust", "repression", "happiness", "surprise", "fear", "sadness", "others"],
        source_format="casme2",
    ) == {
        "disgust": "negative",
        "repression": "negative",
        "happiness": "positive",
        "surprise": "surprise",
        "fear": "excluded",
        "sadness": "excluded",
        "others": "excluded",
    }
    # SAMM: anger, contempt, disgust, fear and sadness are negative (its sheet capitalises).
    samm = ["Anger", "Contempt", "Disgust", "Fear", "Sadness", "Happiness", "Surprise", "Other"]
    assert default_mapping(samm, source_format="samm") == {
        "anger": "negative",
        "contempt": "negative",
        "disgust": "negative",
        "fear": "negative",
        "sadness": "negative",
        "happiness": "positive",
        "surprise": "surprise",
        "other": "excluded",
    }
    # SMIC-HS's folders are the classes; other datasets get every MEGC2019 word.
    assert default_mapping(["negative", "positive", "surprise"], source_format="smic") == {
        "negative": "negative",
        "positive": "positive",
        "surprise": "surprise",
    }
    assert megc2019_class("fear", source_format="generic") == "negative"
    assert megc2019_class("tense", source_format="casme2") == "excluded"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("A12", AUCode(12, "A")),  # asymmetric AU 12
        ("A12B", AUCode(12, "A", "B")),  # asymmetric, intensity B
        ("T18", AUCode(18, "T")),  # top (upper lip)
        ("B28", AUCode(28, "B")),  # bottom (lower lip)
        ("U14", AUCode(14, "U")),  # unilateral, side not recorded
        ("R14A", AUCode(14, "R", "A")),
        ("AU12", AUCode(12)),
        ("4", AUCode(4)),
    ],
)
def test_au_prefixes_the_sheets_use_are_parsed(text, code) -> None:
    assert parse_au_code(text) == code
    assert str(code) == text.removeprefix("AU")


def test_au_notations_that_are_not_codes_are_kept_verbatim_and_flagged() -> None:
    text = "A12B+T18+(R6 or R12)+L12 or L14+ref(7B)+?+12+12"
    entries, flagged = parse_au_entries(text)
    assert [str(entry) for entry in entries] == [
        "A12B",
        "T18",
        "(R6 or R12)",
        "L12 or L14",
        "ref(7B)",
        "?",
        "12",
        "12",
    ]
    assert flagged == ["(R6 or R12)", "L12 or L14", "ref(7B)", "?", "12"]
    assert isinstance(entries[-1], UnparsedAU) and isinstance(entries[-2], AUCode)
    # Stored and read back, then written: the same codes.
    stored = [entry.as_dict() for entry in entries]
    assert format_au_string([au_entry_from_dict(item) for item in stored]) == text
    # A "+" inside brackets belongs to its part; coders typing a non-code are still refused.
    assert [str(e) for e in parse_au_entries("(R6+R12) + 4")[0]] == ["(R6+R12)", "4"]
    with pytest.raises(AUCodeError):
        parse_au_string("4+ref(7B)")


def test_casme2_sheet_gives_megc2019s_clips_and_says_why_others_are_left_out(tmp_path) -> None:
    frames = tmp_path / "CASME2_RAW"
    rows = [
        ("01", "EP02_01f", 10, 15, 25, "4+L10", "disgust"),
        ("01", "EP03_02", 10, 15, 25, "14", "repression"),
        ("01", "EP09_05f", 10, 10, 25, "12", "happiness"),  # apex equal to onset
        ("02", "EP12_01f", 10, "/", 25, "1+2", "surprise"),  # apex missing
        ("02", "EP13_01", 10, 15, 25, "R12", "happiness"),
        ("02", "EP16_01", 10, 15, 25, "?", "others"),
        ("10", "EP01_01", 10, 15, 25, "4+?", "fear"),
        ("10", "EP02_02", 10, 15, 25, "1+4", "sadness"),
    ]
    for subject, clip, *_ in rows:
        _frames(frames / f"sub{subject}" / clip, range(10, 26), "img{}.jpg")
    sheet = casme2_sheet_write(path=tmp_path / "CASME2-coding-20140508.xlsx", rows=rows)
    result = read_dataset(source_format="casme2", annotations=sheet, frames=frames)
    assert len(result.rows) == 8
    verdicts = {
        row.clip: megc2019_omission(
            dataset="casme2", emotion=row.emotion, onset=row.onset, apex=row.apex
        )
        for row in result.rows
    }
    assert verdicts == {
        "EP02_01f": None,
        "EP03_02": None,
        "EP09_05f": "apex equal to onset",
        "EP12_01f": "apex missing",
        "EP13_01": None,
        "EP16_01": "excluded class: megc2019 leaves 'others' out of casme2",
        "EP01_01": "excluded class: megc2019 leaves 'fear' out of casme2",
        "EP02_02": "excluded class: megc2019 leaves 'sadness' out of casme2",
    }
    # The '?' is on the annotation, flagged in the report, not dropped.
    fear = next(row for row in result.rows if row.clip == "EP01_01")
    assert format_au_string(list(fear.action_units)) == "4+?"
    assert [(i.clip, i.code) for i in result.issues if i.code == "unknown_au"] == [
        ("EP16_01", "unknown_au"),
        ("EP01_01", "unknown_au"),
    ]


def test_samm_sheet_takes_all_five_negatives_and_keeps_its_au_notation(tmp_path) -> None:
    frames = tmp_path / "SAMM"
    rows = [
        ("006", "006_1_2", 5562, 5566, 5570, "A12B + T18", "Anger"),
        ("006", "006_1_3", 5562, 5566, 5570, "(R6 or R12)", "Contempt"),
        ("006", "006_2_4", 5562, 5566, 5570, "L12 or L14", "Disgust"),
        ("007", "007_3_1", 5562, 5566, 5570, "ref(7B)", "Fear"),
        ("007", "007_5_3", 5562, 5566, 5570, "R15", "Sadness"),
        ("007", "007_6_1", 5562, 5562, 5570, "A12", "Happiness"),  # apex = onset: SAMM keeps it
        ("025", "025_1_1", 5562, 5566, 5570, "4", "Other"),
    ]
    for subject, clip, *_ in rows:
        _frames(frames / subject / clip, range(5560, 5575), subject + "_{:05d}.jpg")
    sheet = samm_sheet_write(path=tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", rows=rows)
    result = read_dataset(source_format="samm", annotations=sheet, frames=frames)
    taken = {
        row.clip: megc2019_class(row.emotion, source_format="samm")
        for row in result.rows
        if megc2019_omission(dataset="samm", emotion=row.emotion, onset=row.onset, apex=row.apex)
        is None
    }
    assert taken == {
        "006_1_2": "negative",
        "006_1_3": "negative",
        "006_2_4": "negative",
        "007_3_1": "negative",
        "007_5_3": "negative",
        "007_6_1": "positive",
    }
    codes = {row.clip: format_au_string(list(row.action_units)) for row in result.rows}
    assert codes["006_1_2"] == "A12B+T18"
    assert codes["006_1_3"] == "(R6 or R12)" and codes["007_3_1"] == "ref(7B)"
    flagged = sorted(i.clip for i in result.issues if i.code == "unknown_au")
    assert flagged == ["006_1_3", "006_2_4", "007_3_1"]


def test_ststnet_spells_subjects_as_its_own_data() -> None:
    assert ststnet_subject(dataset="samm", subject="006") == "006"
    assert ststnet_subject(dataset="samm", subject="6") == "006"
    assert ststnet_subject(dataset="casme2", subject="01") == "sub01"
    assert ststnet_subject(dataset="smic", subject="s1") == "s01"
    assert ststnet_subject(dataset="lab", subject="p7") == "p7"
