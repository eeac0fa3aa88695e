"""SMIC-HS: no sheet. ``HS/s1/micro/negative/s1_ne_01/reg_image000123.bmp``.

The label is the folder name (negative, positive, surprise); a clip is cut from onset to offset,
so onset is its first frame and offset its last, and there is no apex. ``frames`` is the ``HS``
folder (a folder holding ``HS`` is accepted too). Non-micro folders are not read. Every
sub-folder read must lie inside ``frames``, links resolved: one that leads outside is an issue.
"""

import re
from pathlib import Path

from mlcore.datasets.common import (
    DEFAULT_FPS,
    ERROR,
    OUTSIDE_ROOT,
    OUTSIDE_ROOT_MESSAGE,
    DatasetFormatError,
    FormatRules,
    ImportIssue,
    OutsideRootError,
    SheetReadResult,
    SheetRecord,
    check_records,
    inside_root,
    list_frame_folder,
)
from mlcore.frame_files import ClipReadError
from mlcore.labels import DATASET_EMOTIONS

SUBJECT_FOLDER = re.compile(r"^s\d+$", re.IGNORECASE)

RULES = FormatRules(
    source_format="smic",
    vocabulary=tuple(DATASET_EMOTIONS["smic"]),
    emotion_spelling=str.lower,
    default_fps=DEFAULT_FPS["smic"],
    apex_expected=False,
)


def _outside_issue(*, subject: str, clip: str, folder: str) -> ImportIssue:
    return ImportIssue(
        row=None,
        subject=subject,
        clip=clip,
        severity=ERROR,
        code=OUTSIDE_ROOT,
        message=f"folder {folder} is {OUTSIDE_ROOT_MESSAGE}; not read",
    )


def _folders_inside(
    folder: Path,
    *,
    root: Path,
    issues: list[ImportIssue],
    subject: str | None,
    name_pattern: re.Pattern[str] | None = None,
) -> list[Path]:
    """``folder``'s sub-folders (named by ``name_pattern`` when given) in name order, less those
    that lead outside ``root``: each of those becomes an issue, decided before anything looks
    at where it points. ``subject`` is None when the sub-folders are the subjects."""
    inside = []
    for child in sorted(folder.iterdir()):
        if name_pattern is not None and not name_pattern.match(child.name):
            continue
        if not inside_root(child, root=root):
            issues.append(
                _outside_issue(
                    subject=subject or child.name,
                    clip=child.name if subject else "",
                    folder=child.name,
                )
            )
        elif child.is_dir():
            inside.append(child)
    return inside


def read_smic(*, frames: Path) -> SheetReadResult:
    frames_root = Path(frames).resolve()
    if not frames_root.is_dir():
        raise FileNotFoundError(f"SMIC-HS frame folder {frames} not found")
    root = Path(frames)
    holder = root / "HS"
    if (
        inside_root(holder, root=frames_root)
        and holder.is_dir()
        and not any(SUBJECT_FOLDER.match(p.name) for p in root.iterdir())
    ):
        root = holder
    records: list[SheetRecord] = []
    issues: list[ImportIssue] = []
    locations: dict[tuple[str, str], Path] = {}
    subjects = sorted(
        _folders_inside(
            root, root=frames_root, issues=issues, subject=None, name_pattern=SUBJECT_FOLDER
        ),
        key=lambda p: int(p.name[1:]),
    )
    for subject_dir in subjects:
        subject = subject_dir.name
        micro = subject_dir / "micro"
        if not inside_root(micro, root=frames_root):
            issues.append(_outside_issue(subject=subject, clip="", folder=f"{subject}/micro"))
            continue
        if not micro.is_dir():
            continue
        for label_dir in _folders_inside(micro, root=frames_root, issues=issues, subject=subject):
            clip_dirs = _folders_inside(label_dir, root=frames_root, issues=issues, subject=subject)
            for clip_dir in clip_dirs:
                try:
                    listing = list_frame_folder(clip_dir, root=frames_root)
                except (ClipReadError, OutsideRootError) as error:
                    issues.append(
                        ImportIssue(
                            row=None,
                            subject=subject,
                            clip=clip_dir.name,
                            severity=ERROR,
                            code=OUTSIDE_ROOT
                            if isinstance(error, OutsideRootError)
                            else "missing_frames",
                            message=str(error),
                        )
                    )
                    continue
                key = (subject, clip_dir.name)
                records.append(
                    SheetRecord(
                        row=None,
                        subject=subject,
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
        records=records,
        rules=RULES,
        root=frames_root,
        locate=lambda r: locations[(r.subject, r.clip)],
    )
    result.issues[:0] = issues
    result.rows_read += len(issues)
    return result
