"""Writing a composite's files (the layout `mlcore.composite` describes): each clip's aligned
crops and key frames, the STSTNet flow images, the checksums and a reproducible zip. Django-free:
the platform's export says which files go where, this module writes them. Apart from
`mlcore.composite` so that reading a manifest never loads OpenCV."""

import os
import shutil
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from mlcore.checksums import file_sha256
from mlcore.composite import CompositeSample, crop_name
from mlcore.datasets.ststnet import FlowSample, flow_image

KEY_FRAMES_DIR = "full"  # onset, apex and offset frames as recorded, inside each clip's folder
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FLOW_WORKERS = min(8, os.cpu_count() or 1)


def write_clip_frames(
    *,
    out_dir: Path,
    sample: CompositeSample,
    crops: dict[int, Path | None],
    key_frames: dict[int, Path | None],
) -> None:
    """One clip's folder: its aligned crops, re-encoded as `crop_name(frame)` PNGs, and its key
    frames copied as recorded under `full/`. A source that is missing (None) or unreadable
    raises FileNotFoundError naming the frame."""
    folder = out_dir / sample.frames_dir
    (folder / KEY_FRAMES_DIR).mkdir(parents=True, exist_ok=True)
    for frame, source in sorted(crops.items()):
        image = cv2.imread(str(source)) if source is not None else None
        if image is None:
            raise FileNotFoundError(f"aligned crop of frame {frame} is missing")
        if not cv2.imwrite(str(folder / crop_name(frame)), image):
            raise OSError(f"cannot write {folder / crop_name(frame)}")
    for frame, source in sorted(key_frames.items()):
        if source is None:
            raise FileNotFoundError(f"frame {frame} is missing from the preprocessed media")
        shutil.copyfile(source, folder / KEY_FRAMES_DIR / f"{frame:06d}{source.suffix}")


def compute_flow_samples(
    *,
    out_dir: Path,
    clips: list[tuple[CompositeSample, int, str]],
    on_each: Callable[[int], None] = lambda number: None,
) -> list[FlowSample]:
    """The STSTNet flow image, onset -> apex, of each (sample, apex, subject folder), read from
    the crops already written under `out_dir`, in the order given; `on_each(n)` after the n-th."""

    def compute(index: int) -> FlowSample:
        sample, apex, subject = clips[index]
        return FlowSample(
            subject=subject,
            label=sample.label,
            name=f"{subject}_{sample.clip}",
            image=flow_image(
                onset=cv2.imread(str(sample.frame_path(out_dir, sample.onset))),
                apex=cv2.imread(str(sample.frame_path(out_dir, apex))),
            ),
        )

    flows = []
    # TV-L1 dominates an export (~0.3 s a clip on one core); OpenCV releases the GIL.
    with ThreadPoolExecutor(max_workers=_FLOW_WORKERS) as pool:
        for number, flow in enumerate(pool.map(compute, range(len(clips))), start=1):
            flows.append(flow)
            on_each(number)
    return flows


def layout_checksums(out_dir: Path) -> dict[str, str]:
    """SHA-256 of every file under `out_dir`, by its path inside it, sorted."""
    return {
        path.relative_to(out_dir).as_posix(): file_sha256(path)
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    }


def layout_zip(*, out_dir: Path, zip_path: Path) -> Path:
    """Zip a layout with fixed timestamps and sorted entries: same files, same zip bytes."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w") as archive:
        for path in sorted(out_dir.rglob("*")):
            if path.is_file():
                entry = zipfile.ZipInfo(
                    f"{out_dir.name}/{path.relative_to(out_dir).as_posix()}", date_time=ZIP_DATE
                )
                # PNG and JPEG are compressed already; the CSV and JSON files are small.
                entry.compress_type = zipfile.ZIP_STORED
                archive.writestr(entry, path.read_bytes())
    temporary.replace(zip_path)
    return zip_path
