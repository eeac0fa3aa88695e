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
    check_records,
)
from mlcore.datasets.sheets import sheet_records
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


def read_casme2(*, annotations: Path, frames: Path) -> SheetReadResult:
    records = sheet_records(path=Path(annotations), columns=COLUMNS, subject_digits=2)
    root = Path(frames)
    return check_records(
        records=records,
        rules=RULES,
        root=root,
        locate=lambda r: root / f"sub{r.subject}" / r.clip,
    )
