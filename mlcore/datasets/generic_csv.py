"""The generic CSV: any dataset whose frames are numbered image files in one folder per clip.

Format (UTF-8, comma-separated, one header row; column names are matched ignoring case)::

    subject,clip,onset,apex,offset,emotion,action_units,fps,frames,notes
    p01,take_03,12,20,31,happiness,R12B+6,30,,smiled at the joke
    p01,take_04,5,/,18,surprise,1+2,,p01/take_04_frames,

- required: ``subject``, ``clip``, ``onset``, ``offset``, ``emotion``
- optional: ``apex`` (empty or ``/`` when unknown), ``action_units`` (FACS codes joined with
  ``+``: ``4+L10``, ``R12B``), ``fps`` (default: the dataset's), ``frames`` (the clip's frame
  folder relative to the frames root; default ``<subject>/<clip>``), ``notes``
- every clip folder must lie inside the frames root, links resolved: an absolute ``frames``
  path or one that climbs out with ``..`` is refused for its row
- frame numbers are the numbers at the end of the image file names (``frame_0012.png`` is 12)
- emotions are free words; MEGC2019 words map to their composite class, others are excluded
  until their mapping is edited
"""

import csv
from pathlib import Path

from mlcore.datasets.common import (
    DatasetFormatError,
    FormatRules,
    SheetReadResult,
    SheetRecord,
    check_records,
)

REQUIRED_COLUMNS = ("subject", "clip", "onset", "offset", "emotion")
OPTIONAL_COLUMNS = ("apex", "action_units", "fps", "frames", "notes")


def read_generic_csv(*, annotations: Path, frames: Path, default_fps: float) -> SheetReadResult:
    path = Path(annotations)
    if not path.is_file():
        raise FileNotFoundError(f"annotation CSV {path} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{path}: not UTF-8 text ({error})") from error
    reader = csv.DictReader(text.splitlines())
    header = {name.strip().lower(): name for name in reader.fieldnames or [] if name}
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise DatasetFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(REQUIRED_COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})"
        )

    def value(row: dict[str, str], name: str) -> str:
        return (row.get(header[name]) or "").strip() if name in header else ""

    records = []
    for line, row in enumerate(reader, start=2):
        if not any((cell or "").strip() for cell in row.values() if isinstance(cell, str)):
            continue
        records.append(
            SheetRecord(
                row=line,
                subject=value(row, "subject"),
                clip=value(row, "clip"),
                onset=value(row, "onset"),
                apex=value(row, "apex"),
                offset=value(row, "offset"),
                emotion=value(row, "emotion"),
                aus=value(row, "action_units"),
                notes=value(row, "notes"),
                fps=value(row, "fps") or None,
                frames=value(row, "frames"),
            )
        )
    root = Path(frames)
    rules = FormatRules(
        source_format="generic",
        vocabulary=None,
        emotion_spelling=None,
        default_fps=default_fps,
    )
    return check_records(
        records=records,
        rules=rules,
        root=root,
        locate=lambda r: root / r.frames if r.frames else root / r.subject / r.clip,
    )
