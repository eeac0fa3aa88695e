"""SMIC-HS: no sheet. ``HS/s1/micro/negative/s1_ne_01/reg_image000123.bmp``.

The label is the folder name (negative, positive, surprise); a clip is cut from onset to offset,
so onset is its first frame and offset its last, and there is no apex. ``frames`` is the ``HS``
folder (a folder holding ``HS`` is accepted too). Non-micro folders are not read.
"""

import re
from pathlib import Path

from mlcore.datasets.common import (
    DEFAULT_FPS,
    DatasetFormatError,
    FormatRules,
    ImportIssue,
    SheetReadResult,
    SheetRecord,
    check_records,
    list_frame_folder,
)
from mlcore.io import ClipReadError
from mlcore.labels import DATASET_EMOTIONS

SUBJECT_FOLDER = re.compile(r"^s\d+$", re.IGNORECASE)

RULES = FormatRules(
    source_format="smic",
    vocabulary=tuple(DATASET_EMOTIONS["smic"]),
    emotion_spelling=str.lower,
    default_fps=DEFAULT_FPS["smic"],
    apex_expected=False,
)


def read_smic(*, frames: Path) -> SheetReadResult:
    root = Path(frames)
    if not root.is_dir():
        raise FileNotFoundError(f"SMIC-HS frame folder {root} not found")
    if (root / "HS").is_dir() and not any(SUBJECT_FOLDER.match(p.name) for p in root.iterdir()):
        root = root / "HS"
    records: list[SheetRecord] = []
    issues: list[ImportIssue] = []
    locations: dict[tuple[str, str], Path] = {}
    subjects = sorted(
        (p for p in root.iterdir() if p.is_dir() and SUBJECT_FOLDER.match(p.name)),
        key=lambda p: int(p.name[1:]),
    )
    for subject_dir in subjects:
        micro = subject_dir / "micro"
        if not micro.is_dir():
            continue
        for label_dir in sorted(p for p in micro.iterdir() if p.is_dir()):
            for clip_dir in sorted(p for p in label_dir.iterdir() if p.is_dir()):
                try:
                    listing = list_frame_folder(clip_dir)
                except ClipReadError as error:
                    issues.append(
                        ImportIssue(
                            row=None,
                            subject=subject_dir.name,
                            clip=clip_dir.name,
                            severity="error",
                            code="missing_frames",
                            message=str(error),
                        )
                    )
                    continue
                key = (subject_dir.name, clip_dir.name)
                records.append(
                    SheetRecord(
                        row=None,
                        subject=subject_dir.name,
                        clip=clip_dir.name,
                        onset=listing.frame_indices[0],
                        apex=None,
                        offset=listing.frame_indices[-1],
                        emotion=label_dir.name,
                        aus="",
                    )
                )
                # A clip filed under two labels is a duplicate; the first folder is read.
                locations.setdefault(key, clip_dir)
    if not records and not issues:
        raise DatasetFormatError(
            f"{root}: no <subject>/micro/<label>/<clip>/ frame folders (SMIC-HS layout, e.g. "
            "s1/micro/negative/s1_ne_01/reg_image000123.bmp)"
        )
    result = check_records(
        records=records, rules=RULES, locate=lambda r: locations[(r.subject, r.clip)]
    )
    result.issues[:0] = issues
    result.rows_read += len(issues)
    return result
