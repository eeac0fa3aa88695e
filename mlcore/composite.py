"""The composite dataset layout: what the platform exports and what training reads.

```
DIR/
  manifest.csv                      one row per clip (header below)
  loso_folds.json                   one fold per dataset-qualified subject
  <dataset>/<subject>/<clip>/       aligned face crops, ``{frame:06d}.png``, onset..offset
```

Frame numbers keep the source numbering (CASME II ``img46.jpg`` is frame 46). ``apex`` is
empty when unknown (SMIC-HS). Paths in the manifest are relative to DIR.
"""

import csv
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from mlcore.labels import CompositeClass

MANIFEST_NAME = "manifest.csv"
FOLDS_NAME = "loso_folds.json"


def crop_name(frame: int) -> str:
    return f"{frame:06d}.png"


@dataclass(frozen=True, slots=True)
class CompositeSample:
    dataset: str
    subject: str
    clip: str
    label: int
    emotion: str
    onset: int
    apex: int | None
    offset: int
    aus: str
    fps: float
    frames_dir: str

    def __post_init__(self) -> None:
        CompositeClass(self.label)
        if self.apex is not None and not self.onset <= self.apex <= self.offset:
            raise ValueError(f"{self.clip}: apex {self.apex} outside {self.onset}..{self.offset}")
        if self.onset > self.offset:
            raise ValueError(f"{self.clip}: onset {self.onset} after offset {self.offset}")

    @property
    def subject_key(self) -> str:
        """Dataset-qualified subject: user datasets may reuse subject codes."""
        return f"{self.dataset}/{self.subject}"

    def frame_path(self, root: Path, frame: int) -> Path:
        return root / self.frames_dir / crop_name(frame)

    def manifest_row(self) -> dict[str, str]:
        row = {key: "" if value is None else str(value) for key, value in asdict(self).items()}
        for name in ("onset", "apex", "offset"):
            frame = getattr(self, name)
            row[f"{name}_path"] = "" if frame is None else f"{self.frames_dir}/{crop_name(frame)}"
        return row


MANIFEST_COLUMNS = [f.name for f in fields(CompositeSample)] + [
    "onset_path",
    "apex_path",
    "offset_path",
]


def write_manifest(root: Path, samples: list[CompositeSample]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / MANIFEST_NAME
    ordered = sorted(samples, key=lambda s: (s.dataset, s.subject, s.clip))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(sample.manifest_row() for sample in ordered)
    return path


def read_manifest(root: Path) -> list[CompositeSample]:
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: not a composite dataset folder")
    samples = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                samples.append(
                    CompositeSample(
                        dataset=row["dataset"],
                        subject=row["subject"],
                        clip=row["clip"],
                        label=int(row["label"]),
                        emotion=row["emotion"],
                        onset=int(row["onset"]),
                        apex=int(row["apex"]) if row["apex"] else None,
                        offset=int(row["offset"]),
                        aus=row["aus"],
                        fps=float(row["fps"]),
                        frames_dir=row["frames_dir"],
                    )
                )
            except (KeyError, ValueError) as error:
                raise ValueError(f"{path}, line {line}: {error}") from error
    return samples


def loso_folds(samples: list[CompositeSample]) -> list[dict[str, object]]:
    """One fold per subject: its clips are the test set, every other clip trains.

    Clips are named `dataset/subject/clip`: CASME II reuses clip names across subjects.
    """
    subjects = sorted({s.subject_key for s in samples})
    return [
        {
            "test_subject": subject,
            "test_clips": sorted(
                f"{s.subject_key}/{s.clip}" for s in samples if s.subject_key == subject
            ),
        }
        for subject in subjects
    ]


def write_folds(root: Path, samples: list[CompositeSample]) -> Path:
    path = root / FOLDS_NAME
    path.write_text(json.dumps(loso_folds(samples), indent=2) + "\n", encoding="utf-8")
    return path
