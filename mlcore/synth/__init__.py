"""Synthetic micro-expression clips in the native layouts of CASME II, SAMM and SMIC-HS, and in
the composite layout of :mod:`mlcore.composite`.

The real datasets cannot be shipped, so tests and benchmarks use procedurally drawn identities
(:mod:`.faces`) that make small, region-specific AU movements with known onset, apex and offset
(:mod:`.expressions`), filed exactly like the real datasets (:mod:`.layouts`). Every run writes
``synth_truth.json`` with what was generated, for comparison. The same seed gives the same bytes.
"""

import contextlib
import itertools
import json
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

from mlcore.composite import CompositeSample, crop_name, write_folds, write_manifest
from mlcore.labels import EXCLUDED, composite_label
from mlcore.synth.alignment import CropAlignment, align_identity
from mlcore.synth.expressions import ClipRenderer, amplitude_for_peak
from mlcore.synth.faces import Identity, make_identity
from mlcore.synth.layouts import (
    COMPOSITE_DATASETS,
    LAYOUTS,
    PRESETS,
    ClipPlan,
    build_plan,
    composite_class,
    preset_schedule,
    regular_schedule,
)
from mlcore.synth.realism import (
    REALISM_PRESETS,
    SynthRealism,
    camera_jpeg,
    crop_pixels_per_frame_pixel,
    resolve_realism,
)
from mlcore.synth.sheets import write_casme2_sheet, write_samm_sheet

__all__ = [
    "LAYOUTS",
    "PRESETS",
    "REALISM_PRESETS",
    "TRUTH_NAME",
    "SynthRealism",
    "SynthResult",
    "generate",
    "load_truth",
]

TRUTH_NAME = "synth_truth.json"
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SynthResult:
    out_dir: Path
    layout: str
    truth_path: Path
    annotation_path: Path | None  # coding sheet or manifest.csv; SMIC-HS has none
    subjects: int
    clips: int
    frames_written: int
    seconds: float


def _check_options(
    *,
    out_dir: Path,
    layout: str,
    subjects: int,
    clips_per_subject: int,
    fps: int | None,
    frames: int,
    amplitude: float,
    size: tuple[int, int],
    crop_size: int,
    datasets: Sequence[str] | None,
    preset: str | None,
    landmark_noise: float,
) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if subjects < 1 or clips_per_subject < 1:
        raise ValueError(
            f"need at least one subject and one clip per subject, got {subjects} and "
            f"{clips_per_subject}"
        )
    if fps is not None and not 25 <= fps <= 1000:
        raise ValueError(f"fps {fps} is outside 25..1000 (CASME II and SAMM: 200, SMIC-HS: 100)")
    if amplitude < 0:
        raise ValueError(f"amplitude {amplitude} must not be negative (pixels at apex)")
    if len(size) != 2 or min(size) < 64:
        raise ValueError(f"frame size {size} must be (width, height), each >= 64")
    if crop_size < 8:
        raise ValueError(f"crop size {crop_size} is too small (minimum 8)")
    if not 0 <= landmark_noise <= 0.2:
        raise ValueError(
            f"landmark noise {landmark_noise} is outside 0..0.2 (std as a fraction of the eye "
            "distance; detectors err by about 0.02)"
        )
    if datasets is not None:
        if layout != "composite":
            raise ValueError("datasets only apply to the composite layout")
        unknown = sorted(set(datasets) - set(COMPOSITE_DATASETS))
        if unknown or not datasets:
            raise ValueError(f"datasets {unknown or '[]'} not in {', '.join(COMPOSITE_DATASETS)}")
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"{out_dir} exists and is not an empty folder: refusing to mix runs")
    if frames < 7:
        raise ValueError(f"frames {frames} is too short for a micro-expression (need >= 7)")


def _truth_entry(
    *,
    plan: ClipPlan,
    identity: Identity,
    frames_dir: str,
    written: list[int],
    annotated: tuple[int, int | None, int],
    alignment: CropAlignment | None,
    amplitude: float,
) -> dict[str, object]:
    composite = plan.composite_class
    onset, apex, offset = annotated
    entry: dict[str, object] = {
        "dataset": plan.dataset,
        "subject": plan.subject,
        "identity": plan.identity_index,
        "clip": plan.clip,
        "frames_dir": frames_dir,
        "frame_indices": written,
        "fps": plan.fps,
        "onset": plan.onset,
        "apex": plan.apex,
        "offset": plan.offset,
        "annotated": {"onset": onset, "apex": apex, "offset": offset},
        "aus": plan.aus_text,
        "au_codes": [code.as_dict() for code in plan.aus],
        "emotion": plan.emotion,
        "composite_class": composite,
        "label": None if composite == EXCLUDED else int(composite_label(composite)),
        "distractors": plan.distractors.as_dict(),
        "landmarks": {
            name: [round(x, 2), round(y, 2)] for name, (x, y) in identity.landmarks.items()
        },
    }
    if plan.nuisance is not None:
        # Realistic preset: what the files say (label noise) and the clip's nuisances; the
        # fields above stay the truth.
        written = composite_class(plan.label_emotion)
        entry["written"] = {
            "emotion": plan.label_emotion,
            "composite_class": written,
            "label": None if written == EXCLUDED else int(composite_label(written)),
            "label_noise": plan.label_noise,
        }
        entry["amplitude"] = round(amplitude, 6)
        entry["subject_style"] = plan.subject_style.as_dict()
        entry["nuisance"] = plan.nuisance.as_dict()
    if alignment is not None:
        # True landmarks in crop pixels: where each AU's motion sits in the aligned crop.
        entry["alignment"] = [[round(v, 6) for v in row] for row in alignment.transform]
        entry["crop_landmarks"] = {
            name: [round(v, 2) for v in alignment.to_crop(point)]
            for name, point in identity.landmarks.items()
        }
    return entry


def _jpeg_quality(plan: ClipPlan) -> int | None:
    return plan.nuisance.jpeg_quality if plan.nuisance is not None else None


def _write_native(plan: ClipPlan, renderer: ClipRenderer, out_dir: Path) -> list[int]:
    folder = out_dir / plan.native_frame_dir()
    folder.mkdir(parents=True, exist_ok=True)
    quality = _jpeg_quality(plan)
    for position, number in enumerate(plan.frame_numbers):
        image = renderer.render(position)
        if plan.dataset == "samm":  # SAMM frames are greyscale
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        path = folder / plan.native_frame_name(number)
        params: list[int] = []
        if quality is not None:
            if path.suffix == ".jpg":  # the camera's own compression: written once, at quality
                params = [cv2.IMWRITE_JPEG_QUALITY, quality]
            else:  # SMIC-HS ships BMPs decoded from a compressed recording
                image = camera_jpeg(image, quality)
        if not cv2.imwrite(str(path), image, params):
            raise OSError(f"could not write {path}")
    return list(plan.frame_numbers)


def _write_crops(
    plan: ClipPlan, renderer: ClipRenderer, folder: Path, alignment: CropAlignment
) -> list[int]:
    folder.mkdir(parents=True, exist_ok=True)
    onset, _, offset = plan.annotated()
    quality = _jpeg_quality(plan)
    written = []
    for number in range(onset, offset + 1):
        image = renderer.render(number - plan.first_frame)
        if quality is not None:  # the camera compressed the frame before it was cropped
            image = camera_jpeg(image, quality)
        crop = alignment.warp(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        path = folder / crop_name(number)
        if not cv2.imwrite(str(path), crop):
            raise OSError(f"could not write {path}")
        written.append(number)
    return written


@dataclass(frozen=True)
class _RenderJob:
    """Renders and writes the clips of one identity (picklable, for worker processes)."""

    out_dir: Path
    layout: str
    seed: int
    size: tuple[int, int]
    crop_size: int
    amplitude: float
    landmark_noise: float
    realism: SynthRealism | None

    def render_identity(
        self, plans: list[ClipPlan]
    ) -> tuple[list[dict[str, object]], list[CompositeSample], int]:
        knobs, layout, out_dir = self.realism, self.layout, self.out_dir
        first = plans[0]
        frame_size = knobs.frame_size(first.dataset, self.size) if knobs else self.size
        identity = make_identity(index=first.identity_index, seed=self.seed, size=frame_size)
        entries, samples, frames_written = [], [], 0
        for plan in plans:
            alignment = None
            if layout == "composite":
                alignment = align_identity(
                    identity=identity,
                    crop_size=self.crop_size,
                    landmark_error=plan.landmark_error,
                    landmark_noise=self.landmark_noise,
                )
            region = alignment.region if alignment is not None else None
            clip_amplitude = self.amplitude
            style = None
            if plan.nuisance is not None:
                style = plan.subject_style.au_style
                clip_amplitude = amplitude_for_peak(
                    identity=identity,
                    aus=list(plan.aus),
                    region=region or (0, 0, *identity.size),
                    style=style,
                    peak=plan.nuisance.au_peak_px / crop_pixels_per_frame_pixel(identity),
                )
            renderer = ClipRenderer(
                identity=identity,
                aus=list(plan.aus),
                amplitude=clip_amplitude,
                timing=plan.timing,
                distractors=plan.distractors,
                noise_seed=plan.noise_seed,
                region=region,
                style=style,
                nuisance=plan.nuisance,
            )
            annotated = plan.annotated()
            if layout == "composite":
                frames_dir = f"{plan.dataset}/{plan.subject}/{plan.clip}"
                written = _write_crops(plan, renderer, out_dir / frames_dir, alignment)
                samples.append(
                    CompositeSample(
                        dataset=plan.dataset,
                        subject=plan.subject,
                        clip=plan.clip,
                        label=int(composite_label(composite_class(plan.label_emotion))),
                        emotion=plan.label_emotion.lower(),
                        onset=annotated[0],
                        apex=annotated[1],
                        offset=annotated[2],
                        aus=plan.aus_text,
                        fps=float(plan.fps),
                        frames_dir=frames_dir,
                    )
                )
            else:
                frames_dir = plan.native_frame_dir()
                written = _write_native(plan, renderer, out_dir)
            frames_written += len(written)
            entries.append(
                _truth_entry(
                    plan=plan,
                    identity=identity,
                    frames_dir=frames_dir,
                    written=written,
                    annotated=annotated,
                    alignment=alignment,
                    amplitude=clip_amplitude,
                )
            )
        return entries, samples, frames_written


def generate(
    *,
    out_dir: Path,
    layout: str,
    subjects: int = 30,
    clips_per_subject: int = 2,
    fps: int | None = None,
    frames: int = 60,
    amplitude: float = 3.0,
    seed: int = 0,
    size: tuple[int, int] = (640, 480),
    crop_size: int = 112,
    datasets: Sequence[str] | None = None,
    preset: str | None = None,
    distractors: bool = True,
    landmark_noise: float = 0.02,
    realism: str | SynthRealism = "clean",
    workers: int = 1,
    progress: Progress | None = None,
) -> SynthResult:
    """Generate synthetic micro-expression clips under ``out_dir`` (created; must be empty).

    ``layout`` is casme2, samm, smic or composite. ``fps`` None uses each dataset's rate (200,
    SMIC-HS 100). ``amplitude`` is the apex displacement in pixels of an intensity-C AU on a
    640x480 frame. For the composite, ``datasets`` picks the parts (default: one generic
    ``synth`` dataset) and subjects are split among them; ``preset="composite"`` reproduces the
    MEGC2019 composite counts (then ``subjects`` and ``clips_per_subject`` are not used).
    Composite crops are aligned by `mlcore.faces.align` from the five landmarks with a
    detector-like error of ``landmark_noise`` (std, fraction of the eye distance) per clip.

    ``realism`` is ``clean`` (the original generator, same bytes for the same seed),
    ``realistic`` or a `SynthRealism` with its own knobs (see :mod:`.realism`). Then the AU
    motion comes from ``SynthRealism.au_motion_px`` (``amplitude`` is not used), the CASME II,
    SAMM and SMIC-HS parts are drawn at their real frame sizes (``size`` is for the generic
    part) unless ``dataset_frame_sizes`` is None, ``distractors`` is not used (the knobs say
    which nuisances there are) and label noise changes only the written labels: the truth file
    keeps the generator's labels and records the written ones beside them.

    ``workers`` > 1 renders identities in that many processes; the bytes are the same.
    """
    out_dir = Path(out_dir)
    knobs = resolve_realism(realism)
    if workers < 1:
        raise ValueError(f"workers {workers} must be at least 1")
    _check_options(
        out_dir=out_dir,
        layout=layout,
        subjects=subjects,
        clips_per_subject=clips_per_subject,
        fps=fps,
        frames=frames,
        amplitude=amplitude,
        size=size,
        crop_size=crop_size,
        datasets=datasets,
        preset=preset,
        landmark_noise=landmark_noise,
    )
    started = time.perf_counter()
    if layout == "composite":
        parts = (
            list(datasets) if datasets else (["casme2", "samm", "smic"] if preset else ["synth"])
        )
    else:
        parts = [layout]
    parts = [name for name in COMPOSITE_DATASETS if name in parts]
    if preset:
        schedule = preset_schedule(preset=preset, datasets=parts, seed=seed)
    else:
        schedule = regular_schedule(
            datasets=parts,
            subjects=subjects,
            clips_per_subject=clips_per_subject,
            composite_only=layout == "composite",
        )
    plans = build_plan(
        schedule=schedule,
        fps=fps,
        frames=frames,
        seed=seed,
        size=tuple(size),
        distractors=distractors,
        realism=knobs,
    )
    out_dir.mkdir(parents=True, exist_ok=True)

    job = _RenderJob(
        out_dir=out_dir,
        layout=layout,
        seed=seed,
        size=tuple(size),
        crop_size=crop_size,
        amplitude=amplitude,
        landmark_noise=landmark_noise,
        realism=knobs,
    )
    # One task per identity (plans are ordered by identity): each clip's pixels depend only on
    # its own seeds, so the workers write the same bytes as one process would.
    groups = [list(g) for _, g in itertools.groupby(plans, key=lambda p: p.identity_index)]
    total_frames = sum(plan.timing.frames for plan in plans)
    done_frames = 0
    truth_clips = []
    samples = []
    frames_written = 0
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(
                ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            )
            results = pool.map(job.render_identity, groups)
        else:
            results = map(job.render_identity, groups)
        for group, (entries, group_samples, count) in zip(groups, results, strict=True):
            truth_clips += entries
            samples += group_samples
            frames_written += count
            done_frames += sum(plan.timing.frames for plan in group)
            if progress is not None:
                last = group[-1]
                progress(done_frames / total_frames, f"{last.dataset} {last.subject}")

    annotation_path: Path | None = None  # SMIC-HS has no annotation file
    if layout == "casme2":
        annotation_path = write_casme2_sheet(out_dir, plans)
    elif layout == "samm":
        annotation_path = write_samm_sheet(out_dir, plans)
    elif layout == "composite":
        annotation_path = write_manifest(out_dir, samples)
        write_folds(out_dir, samples)
    truth = {
        "generator": "mlcore.synth",
        "layout": layout,
        "seed": seed,
        "size": list(size),
        "crop_size": crop_size if layout == "composite" else None,
        "amplitude": amplitude,
        "distractors": distractors,
        "landmark_noise": landmark_noise if layout == "composite" else None,
        "clips": truth_clips,
    }
    if knobs is not None:  # the clean preset's truth file stays as it always was
        truth["realism"] = knobs.as_dict()
    truth_path = out_dir / TRUTH_NAME
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return SynthResult(
        out_dir=out_dir,
        layout=layout,
        truth_path=truth_path,
        annotation_path=annotation_path,
        subjects=len({plan.identity_index for plan in plans}),
        clips=len(plans),
        frames_written=frames_written,
        seconds=time.perf_counter() - started,
    )


def load_truth(out_dir: Path) -> dict[str, object]:
    """The ``synth_truth.json`` of a generated folder."""
    path = Path(out_dir) / TRUTH_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: not a folder written by mlcore synth")
    return json.loads(path.read_text(encoding="utf-8"))
