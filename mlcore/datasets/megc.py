"""The MEGC2019 composite's ground-truth file and its spelling of subjects and clips.

``combined_3class_gt.csv``: no header, CRLF line ends, ``dataset,subject,clip,label`` with label
0 negative, 1 positive, 2 surprise. Subjects are spelled as MEGC does: CASME II ``sub01``,
SAMM an unpadded integer (``6`` for folder ``006``), SMIC-HS ``s01`` (folder ``s1``, whose clip
``s1_ne_01`` becomes ``s01_ne_01``). Other datasets keep their own spelling.

The official composite list (`megc2019_omission`): the ``megc2019`` class rule of
`mlcore.labels` on each dataset's own words, and for CASME II two more omissions MEGC2019 made
from the marks: a clip whose apex is its onset (EP09_05f) and one whose apex is missing
(EP12_01f, apex ``/``). SAMM's v2 sheet gives MEGC2019's 133 clips with the class rule alone, and
SMIC-HS publishes no apex at all, so neither is checked for marks. Published counts are in
`PUBLISHED_COUNTS`.
"""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from mlcore.labels import EXCLUDED, CompositeClass, megc2019_class

GT_NAME = "combined_3class_gt.csv"
MEGC2019_DATASETS = ("casme2", "samm", "smic")
# The datasets whose clips MEGC2019 also left out by their marks (see the module docstring).
APEX_CHECKED_DATASETS = frozenset({"casme2"})
# MEGC2019's composite: clips and subjects per dataset, clips per class.
PUBLISHED_COUNTS: dict[str, dict[str, int]] = {
    "casme2": {"clips": 145, "subjects": 24, "negative": 88, "positive": 32, "surprise": 25},
    "samm": {"clips": 133, "subjects": 28, "negative": 92, "positive": 26, "surprise": 15},
    "smic": {"clips": 164, "subjects": 16, "negative": 70, "positive": 51, "surprise": 43},
}
_SMIC_SUBJECT = re.compile(r"^s(\d+)$", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)")


def megc_subject(*, dataset: str, subject: str) -> str:
    """MEGC2019's spelling of a subject stored as the source writes it (``01``, ``006``, ``s1``)."""
    if dataset == "casme2" and subject.isdigit():
        return f"sub{int(subject):02d}"
    if dataset == "samm" and subject.isdigit():
        return str(int(subject))
    match = _SMIC_SUBJECT.match(subject)
    if dataset == "smic" and match:
        return f"s{int(match.group(1)):02d}"
    return subject


def megc_clip(*, dataset: str, subject: str, clip: str) -> str:
    """MEGC2019's spelling of a clip: SMIC-HS clips carry the padded subject (``s01_ne_01``)."""
    if dataset == "smic" and clip.lower().startswith(subject.lower() + "_"):
        return megc_subject(dataset=dataset, subject=subject) + clip[len(subject) :]
    return clip


def megc2019_omission(
    *, dataset: str, emotion: str, onset: int | None, apex: int | None
) -> str | None:
    """Why MEGC2019's composite leaves a clip out, or None when it takes it. ``dataset`` is the
    export key (casme2, samm, smic, or another dataset's name)."""
    if dataset not in MEGC2019_DATASETS:
        return f"not one of MEGC2019's datasets ({', '.join(MEGC2019_DATASETS)})"
    if megc2019_class(emotion, source_format=dataset) == EXCLUDED:
        return f"excluded class: megc2019 leaves {emotion!r} out of {dataset}"
    if dataset in APEX_CHECKED_DATASETS:
        if apex is None:
            return "apex missing"
        if apex == onset:
            return "apex equal to onset"
    return None


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key putting ``sub2`` before ``sub10``."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))


@dataclass(frozen=True, slots=True)
class GroundTruthRow:
    dataset: str
    subject: str
    clip: str
    label: int

    def __post_init__(self) -> None:
        CompositeClass(self.label)
        for name in ("dataset", "subject", "clip"):
            value = getattr(self, name)
            if not value or any(char in value for char in ',"\r\n'):
                raise ValueError(f"{name} {value!r} cannot be written to {GT_NAME}")

    def sort_key(self) -> tuple[object, ...]:
        return (self.dataset, natural_key(self.subject), natural_key(self.clip))


def ground_truth_bytes(rows: list[GroundTruthRow]) -> bytes:
    """The file's bytes: rows sorted by dataset, subject and clip (numbers in natural order)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in sorted(rows, key=GroundTruthRow.sort_key):
        writer.writerow([row.dataset, row.subject, row.clip, row.label])
    return buffer.getvalue().encode("utf-8")


def write_ground_truth(path: Path, rows: list[GroundTruthRow]) -> Path:
    path = Path(path)
    path.write_bytes(ground_truth_bytes(rows))
    return path


def read_ground_truth(path: Path) -> list[GroundTruthRow]:
    path = Path(path)
    rows = []
    text = path.read_bytes().decode("utf-8")
    for line, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not cells:
            continue
        if len(cells) != 4:
            raise ValueError(f"{path}, line {line}: expected 4 columns, got {len(cells)}")
        try:
            rows.append(GroundTruthRow(cells[0], cells[1], cells[2], int(cells[3])))
        except ValueError as error:
            raise ValueError(f"{path}, line {line}: {error}") from error
    return rows
