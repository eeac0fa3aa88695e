"""What every dataset reader returns: rows it could take and issues with the rows it could not.

Readers turn a published annotation sheet (or SMIC-HS's label folders) into `SheetRecord`s, raw
values with their row numbers; `check_records` then applies the same rules to every dataset:
frames on disk, marks inside the clip, emotions in the vocabulary, AU codes, duplicates. A bad
row becomes an `ImportIssue` and never stops the good ones.

Confinement: an import reads only inside its frames root (the folder the admin named). Every
clip folder a row leads to and every frame file in it is resolved, symlinks included, and must
lie inside that root, checked before anything else looks at the path: a refusal reads the same
whether or not something exists outside, and never names the resolved path.

Severity: ``error`` means the row was not taken; ``warning`` means it was taken after an
interpretation the report states (a missing apex left empty, an offset clamped to the last
frame on disk, an unknown emotion kept but excluded from the composite, ...).
"""

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mlcore.facs import AUEntry, parse_au_entries
from mlcore.frame_files import IMAGE_SUFFIXES, ClipReadError, frame_number
from mlcore.labels import COMPOSITE_CHOICES, GENERIC_MAPPING

FORMATS = ("casme2", "samm", "smic", "generic")
DEFAULT_FPS = {"casme2": 200.0, "samm": 200.0, "smic": 100.0}

ERROR = "error"
WARNING = "warning"
OUTSIDE_ROOT = "outside_root"  # the issue code of a row or folder that leads outside the root
OUTSIDE_ROOT_MESSAGE = "outside the import root"
# Names a sheet may give that are path steps, not folder names: a subject named ".." would
# lead from the frames root to its parent.
NOT_FOLDER_NAMES = frozenset({".", ".."})


class DatasetFormatError(ValueError):
    """The annotation file or frame folder is not in the layout of the dataset named."""


class OutsideRootError(ValueError):
    """A folder or frame file that an import would read resolves outside its frames root."""


def inside_root(path: Path, *, root: Path) -> bool:
    """Whether ``path``, symlinks resolved, lies inside ``root`` (itself already resolved).

    Resolving follows the links on the way and reports nothing of what it meets; callers ask
    this before any ``is_dir`` or ``exists`` on ``path``, so what they report cannot tell an
    existing outside folder from a missing one.
    """
    try:
        return Path(path).resolve(strict=False).is_relative_to(root)
    except (OSError, RuntimeError, ValueError):
        # A symlink loop or a NUL byte in a name: nothing shown to lie inside, so not read.
        return False


@dataclass(frozen=True, slots=True)
class ImportIssue:
    row: int | None  # the sheet's row number as a spreadsheet shows it; None for folders
    subject: str
    clip: str
    severity: str  # ERROR: not taken; WARNING: taken as the message says
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SheetRecord:
    """One row as the source wrote it; values are the cells' raw contents."""

    row: int | None
    subject: str
    clip: str
    onset: object
    apex: object
    offset: object
    emotion: str
    aus: str
    notes: str = ""
    fps: object = None
    frames: str = ""  # generic CSV only: the frame folder relative to the frames root


@dataclass(frozen=True, slots=True)
class FrameFolder:
    path: Path
    frame_indices: tuple[int, ...]
    checksum: str  # SHA-256 of the listing (names and sizes): cheap, and changes with the frames


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One clip's published label, checked against its frames on disk."""

    row: int | None
    subject: str
    clip: str
    frames: FrameFolder
    fps: float
    onset: int
    apex: int | None
    offset: int
    emotion: str  # lower case
    action_units: tuple[AUEntry, ...]  # in the sheet's order; non-codes kept verbatim
    notes: str


@dataclass
class SheetReadResult:
    source_format: str
    rows: list[ImportRow] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)  # the dataset's native emotion words
    rows_read: int = 0


def list_frame_folder(path: Path, *, root: Path) -> FrameFolder:
    """Frame numbers of a folder by file name only (no image is opened: fast on big datasets).

    ``root`` is the import's frames root, resolved: the folder and each frame file must lie
    inside it (see the module docstring). Raises OutsideRootError when one does not,
    FileNotFoundError when the folder is missing and ClipReadError when it holds no numbered
    frames or two files claim the same frame number.
    """
    if not inside_root(path, root=root):
        raise OutsideRootError(f"the clip's frame folder is {OUTSIDE_ROOT_MESSAGE}")
    if not path.is_dir():
        raise FileNotFoundError(f"frame folder {path} not found")
    files: dict[int, Path] = {}
    for file in path.iterdir():
        if file.name.startswith(".") or file.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        # A frame that is a link out of the root refuses the whole clip: dropping it would
        # import a clip with a hole, and reading it would serve a file from elsewhere.
        if not inside_root(file, root=root):
            raise OutsideRootError(f"frame file {file.name} links to a file {OUTSIDE_ROOT_MESSAGE}")
        if not file.is_file():
            continue
        number = frame_number(file)
        if number in files:
            raise ClipReadError(
                f"{path}: {files[number].name} and {file.name} are both frame {number}"
            )
        files[number] = file
    if not files:
        raise ClipReadError(f"{path}: no frame images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    digest = hashlib.sha256()
    for number in sorted(files):
        digest.update(f"{files[number].name}\t{files[number].stat().st_size}\n".encode())
    return FrameFolder(path=path, frame_indices=tuple(sorted(files)), checksum=digest.hexdigest())


MISSING_MARKS = {"", "/", "-", "none", "n/a", "na", "nan"}


def parse_frame(value: object) -> int | None:
    """A frame number from a cell: ints, whole floats and digit strings; None when missing."""
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING_MARKS):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a frame number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole frame number")
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(".0"):
            text = text[:-2]
        if not text.isdigit():
            raise ValueError(f"{value!r} is not a frame number")
        value = int(text)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a frame number")
    return value


def cell_text(value: object) -> str:
    """A cell as text: whole floats lose their ``.0`` (spreadsheets store 46 as 46.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class FormatRules:
    """How one dataset writes things; `check_records` uses it to tell quirks from the norm."""

    source_format: str
    vocabulary: tuple[str, ...] | None  # None: any word is accepted (generic CSV)
    emotion_spelling: Callable[[str], str] | None  # the native spelling, to report other cases
    default_fps: float
    apex_expected: bool = True


def _marks_issue(
    record: SheetRecord, code: str, message: str, *, severity: str = ERROR
) -> ImportIssue:
    return ImportIssue(
        row=record.row,
        subject=record.subject,
        clip=record.clip,
        severity=severity,
        code=code,
        message=message,
    )


def check_records(
    *,
    records: list[SheetRecord],
    rules: FormatRules,
    root: Path,
    locate: Callable[[SheetRecord], Path],
) -> SheetReadResult:
    """Turn raw records into checked rows and issues (see the module docstring for severity).

    ``locate`` gives a record's clip folder; only folders inside the frames root ``root`` are
    read (see the module docstring)."""
    root = Path(root).resolve()
    result = SheetReadResult(
        source_format=rules.source_format,
        vocabulary=list(rules.vocabulary or ()),
        rows_read=len(records),
    )
    seen: dict[tuple[str, str], SheetRecord] = {}
    for record in records:
        row, issues = _check_record(record=record, rules=rules, root=root, locate=locate, seen=seen)
        result.issues.extend(issues)
        if row is not None:
            result.rows.append(row)
    return result


def _check_record(
    *,
    record: SheetRecord,
    rules: FormatRules,
    root: Path,
    locate: Callable[[SheetRecord], Path],
    seen: dict[tuple[str, str], SheetRecord],
) -> tuple[ImportRow | None, list[ImportIssue]]:
    issues: list[ImportIssue] = []

    def fail(code: str, message: str) -> tuple[None, list[ImportIssue]]:
        issues.append(_marks_issue(record, code, message))
        return None, issues

    def warn(code: str, message: str) -> None:
        issues.append(_marks_issue(record, code, message, severity=WARNING))

    if not record.subject or not record.clip:
        return fail("bad_value", "the row names no subject or no clip")
    for field_name, name in (("subject", record.subject), ("clip", record.clip)):
        if name in NOT_FOLDER_NAMES:
            return fail(
                OUTSIDE_ROOT,
                f"the {field_name} is named {name!r}, a step between folders, not a folder: "
                f"refused so that no row leads {OUTSIDE_ROOT_MESSAGE}",
            )
    key = (record.subject, record.clip)
    if key in seen:
        first = seen[key]
        if _same_values(first, record):
            warn("duplicate", f"repeats row {first.row}; taken once")
            return None, issues
        return fail(
            "duplicate",
            f"same clip as row {first.row} with other values; row {first.row} was taken",
        )

    try:
        onset = parse_frame(record.onset)
        offset = parse_frame(record.offset)
    except ValueError as error:
        return fail("bad_value", f"onset/offset: {error}")
    if onset is None or offset is None:
        return fail("missing_mark", "onset and offset are required")
    if onset > offset:
        return fail("onset_after_offset", f"onset {onset} comes after offset {offset}")
    try:
        apex = parse_frame(record.apex)
    except ValueError:
        warn("missing_apex", f"apex {record.apex!r} is not a frame number; left empty")
        apex = None
    else:
        if apex is None and rules.apex_expected:
            shown = "empty" if record.apex in (None, "") else repr(cell_text(record.apex))
            warn("missing_apex", f"apex is {shown}; left empty")

    folder_path = locate(record)
    try:
        frames = list_frame_folder(folder_path, root=root)
    except OutsideRootError as error:
        return fail(OUTSIDE_ROOT, str(error))
    except (FileNotFoundError, ClipReadError) as error:
        return fail("missing_frames", str(error))
    first, last = frames.frame_indices[0], frames.frame_indices[-1]
    if onset < first or onset > last:
        return fail(
            "onset_outside_frames", f"onset {onset} is not among the frames {first}..{last} on disk"
        )
    if offset > last:
        warn(
            "offset_past_end",
            f"offset {offset} is past the last frame on disk ({last}); taken as {last}",
        )
        offset = last
    available = set(frames.frame_indices)
    for name, frame in (("onset", onset), ("offset", offset)):
        if frame not in available:
            return fail("frame_missing", f"{name} frame {frame} is missing from {folder_path}")
    if apex is not None and not onset <= apex <= offset:
        warn(
            "apex_outside", f"apex {apex} is outside onset..offset ({onset}..{offset}); left empty"
        )
        apex = None
    if apex is not None and apex not in available:
        warn("frame_missing", f"apex frame {apex} is missing from {folder_path}; left empty")
        apex = None

    emotion = _check_emotion(record=record, rules=rules, warn=warn)
    if emotion is None:
        return fail("missing_emotion", "the row has no emotion")

    codes, flagged = parse_au_entries(record.aus)
    for part in flagged:
        warn(
            "unknown_au",
            f"{part!r} is not a FACS code (or repeats one); kept verbatim on the annotation",
        )

    fps = rules.default_fps
    if record.fps not in (None, ""):
        try:
            fps = float(record.fps)
        except (TypeError, ValueError):
            fps = 0.0
        if fps < 1.0:
            return fail("bad_value", f"fps {record.fps!r} is not a frame rate")
    # Only a taken row makes later rows of the same clip duplicates.
    seen[key] = record
    return (
        ImportRow(
            row=record.row,
            subject=record.subject,
            clip=record.clip,
            frames=frames,
            fps=fps,
            onset=onset,
            apex=apex,
            offset=offset,
            emotion=emotion,
            action_units=tuple(codes),
            notes=record.notes,
        ),
        issues,
    )


def _check_emotion(
    *, record: SheetRecord, rules: FormatRules, warn: Callable[[str, str], None]
) -> str | None:
    text = record.emotion.strip()
    if not text:
        return None
    emotion = text.lower()
    if rules.emotion_spelling is not None and text != rules.emotion_spelling(text):
        warn("emotion_case", f"emotion {text!r} is spelled in another case; taken as {emotion!r}")
    known = rules.vocabulary
    if known is not None and emotion not in known:
        warn(
            "unknown_emotion",
            f"{text!r} is not in the {rules.source_format} vocabulary; kept, and excluded from "
            "the composite until its mapping is edited",
        )
    elif known is None and emotion not in GENERIC_MAPPING and emotion not in COMPOSITE_CHOICES:
        warn(
            "unknown_emotion",
            f"{text!r} is not a MEGC2019 emotion; kept, and excluded from the composite until "
            "its mapping is edited",
        )
    return emotion


def _same_values(first: SheetRecord, second: SheetRecord) -> bool:
    ignored = {"row"}
    return all(
        cell_text(getattr(first, name)) == cell_text(getattr(second, name))
        for name in SheetRecord.__slots__
        if name not in ignored
    )
