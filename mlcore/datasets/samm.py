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
    check_records,
)
from mlcore.datasets.sheets import sheet_records
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


def read_samm(*, annotations: Path, frames: Path) -> SheetReadResult:
    records = sheet_records(
        path=Path(annotations),
        columns=COLUMNS,
        subject_digits=3,
        sheet_name=SHEET_NAME,
        search_rows=HEADER_SEARCH_ROWS,
    )
    root = Path(frames)
    return check_records(
        records=records, rules=RULES, root=root, locate=lambda r: root / r.subject / r.clip
    )
