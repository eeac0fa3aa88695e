"""Readers of the published annotation files of micro-expression datasets, and export writers.

`read_dataset` reads CASME II, SAMM, SMIC-HS or the generic CSV into checked rows and a list of
issues (see `mlcore.datasets.common`); `mlcore.datasets.megc` writes the MEGC2019 ground-truth
file and `mlcore.datasets.ststnet` the STSTNet optical-flow folders.
"""

from pathlib import Path

from mlcore.datasets.casme2 import read_casme2
from mlcore.datasets.common import (
    DEFAULT_FPS,
    FORMATS,
    DatasetFormatError,
    ImportIssue,
    ImportRow,
    SheetReadResult,
)
from mlcore.datasets.generic_csv import read_generic_csv
from mlcore.datasets.samm import read_samm
from mlcore.datasets.smic import read_smic

__all__ = [
    "DEFAULT_FPS",
    "FORMATS",
    "DatasetFormatError",
    "ImportIssue",
    "ImportRow",
    "SheetReadResult",
    "read_dataset",
]


def read_dataset(
    *,
    source_format: str,
    frames: Path,
    annotations: Path | None = None,
    default_fps: float | None = None,
) -> SheetReadResult:
    """Read a dataset's labels and check them against its frame folders.

    ``annotations`` is the coding sheet (CASME II, SAMM) or CSV (generic); SMIC-HS has none.
    ``default_fps`` is required for the generic format (rows may override it).
    """
    if source_format not in FORMATS:
        raise ValueError(f"unknown format {source_format!r}; choose from {', '.join(FORMATS)}")
    frames = Path(frames)
    if not frames.is_dir():
        raise FileNotFoundError(f"frames folder {frames} not found")
    if source_format == "smic":
        return read_smic(frames=frames)
    if annotations is None:
        raise ValueError(f"the {source_format} format needs an annotation file")
    if source_format == "casme2":
        return read_casme2(annotations=annotations, frames=frames)
    if source_format == "samm":
        return read_samm(annotations=annotations, frames=frames)
    if default_fps is None:
        raise ValueError("the generic format needs a default frame rate (fps)")
    return read_generic_csv(annotations=annotations, frames=frames, default_fps=default_fps)
