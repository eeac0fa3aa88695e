"""SAMM: ``SAMM_Micro_FACS_Codes_v2.xlsx`` and ``006/006_1_2/006_05562.jpg``.

The codes are on sheet ``MICRO_ONLY`` below a preamble (13 rows in v2; the header row is found,
not assumed). Emotions are capitalised (``Anger``); AUs look like ``R12 + R15`` or ``R14A``.
The frame number's zero padding varies between clips, so frames are listed, never formatted.
"""

from pathlib import Path

from mlcore.datasets.common import (
    DEFAULT_FPS,
    FormatRules,
    SheetReadResult,
    SheetRecord,
    cell_text,
    check_records,
)
from mlcore.datasets.sheets import iter_sheet_rows, open_sheet
from mlcore.labels import DATASET_EMOTIONS

SHEET_NAME = "MICRO_ONLY"
# The v2 sheet has its header on row 14; search a little further for edited copies.
HEADER_SEARCH_ROWS = 30

COLUMNS = {
    "subject": "Subject",
    "clip": "Filename",
    "onset": "Onset Frame",
    "apex": "Apex Frame",
    "offset": "Offset Frame",
    "aus": "Action Units",
    "emotion": "Estimated Emotion",
    "notes": "Notes",
}

RULES = FormatRules(
    source_format="samm",
    vocabulary=tuple(DATASET_EMOTIONS["samm"]),
    emotion_spelling=str.capitalize,
    default_fps=DEFAULT_FPS["samm"],
)


def subject_code(value: object) -> str:
    text = cell_text(value)
    return f"{int(text):03d}" if text.isdigit() else text


def read_samm(*, annotations: Path, frames: Path) -> SheetReadResult:
    path = Path(annotations)
    sheet = open_sheet(path, sheet_name=SHEET_NAME)
    records = [
        SheetRecord(
            row=number,
            subject=subject_code(cells["subject"]),
            clip=cell_text(cells["clip"]),
            onset=cells["onset"],
            apex=cells["apex"],
            offset=cells["offset"],
            emotion=cell_text(cells["emotion"]),
            aus=cell_text(cells["aus"]),
            notes=cell_text(cells["notes"]),
        )
        for number, cells in iter_sheet_rows(
            sheet=sheet, path=path, columns=COLUMNS, search_rows=HEADER_SEARCH_ROWS
        )
    ]
    root = Path(frames)
    return check_records(records=records, rules=RULES, locate=lambda r: root / r.subject / r.clip)
