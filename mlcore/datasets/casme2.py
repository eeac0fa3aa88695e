"""CASME II: ``CASME2-coding-*.xlsx`` (sheet 1, header on row 1) and ``sub01/EP02_01f/img46.jpg``.

The sheet's Subject is text (``01``); a re-saved sheet may hold the number 1, read as ``01``.
Frames live in ``<frames>/sub<subject>/<Filename>/`` (raw ``img46.jpg`` or cropped
``reg_img46.jpg``); the number in the file name is the frame number the sheet uses.
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

COLUMNS = {
    "subject": "Subject",
    "clip": "Filename",
    "onset": "OnsetFrame",
    "apex": "ApexFrame",
    "offset": "OffsetFrame",
    "aus": "Action Units",
    "emotion": "Estimated Emotion",
}

RULES = FormatRules(
    source_format="casme2",
    vocabulary=tuple(DATASET_EMOTIONS["casme2"]),
    emotion_spelling=str.lower,
    default_fps=DEFAULT_FPS["casme2"],
)


def subject_code(value: object) -> str:
    text = cell_text(value)
    return f"{int(text):02d}" if text.isdigit() else text


def read_casme2(*, annotations: Path, frames: Path) -> SheetReadResult:
    path = Path(annotations)
    sheet = open_sheet(path)
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
        )
        for number, cells in iter_sheet_rows(sheet=sheet, path=path, columns=COLUMNS)
    ]
    root = Path(frames)
    return check_records(
        records=records, rules=RULES, locate=lambda r: root / f"sub{r.subject}" / r.clip
    )
