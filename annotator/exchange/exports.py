"""Composite export (the worker half): the composite layout of `mlcore.composite` (manifest,
LOSO folds, PNG crops), MEGC2019's ``combined_3class_gt.csv``, optionally STSTNet flow
folders, and ``export.json`` with checksums. Everything is sorted and dated by the annotations,
never by the clock, so the same data exports to the same bytes.
"""

import json
import shutil
from collections import Counter
from pathlib import Path

import mlcore
from annotator import media
from annotator.corpus import selectors as corpus_selectors
from annotator.errors import ConflictError, InvalidRequestError
from annotator.exchange.jobs import (
    MIN_STATUSES,
    Progress,
    job_options,
    no_progress,
)
from annotator.exchange.selection import composite_selection
from annotator.jobs import services as jobs
from annotator.models import Clip, Dataset, JobRun
from mlcore.composite import CompositeSample, loso_folds, write_folds, write_manifest
from mlcore.composite_layout import (
    compute_flow_samples,
    layout_checksums,
    layout_zip,
    write_clip_frames,
)
from mlcore.datasets.megc import (
    GT_NAME,
    PUBLISHED_COUNTS,
    GroundTruthRow,
    ground_truth_bytes,
)
from mlcore.datasets.ststnet import ststnet_subject, write_ststnet
from mlcore.labels import MEGC2019_RULE, composite_label, megc2019_class

EXPORT_JSON = "export.json"
README_NAME = "README.md"
STSTNET_DIR = "ststnet"


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise InvalidRequestError(f"{out_dir} is a file, not a folder")
        if any(out_dir.iterdir()):
            if not (out_dir / EXPORT_JSON).is_file():
                raise InvalidRequestError(
                    f"{out_dir} is not empty and holds no {EXPORT_JSON}: refusing to overwrite "
                    "what is not an earlier export"
                )
            shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_clip_images(
    *, clip: Clip, sample: CompositeSample, out_dir: Path, layer: str, apex: int | None
) -> None:
    """The clip's folder from its preprocessed media: crops of `layer` from onset to offset,
    and the onset, apex and offset frames as recorded."""

    def source(frame: int, layer: str) -> Path | None:
        return corpus_selectors.clip_media_file(
            clip=clip, version=clip.media_version, layer=layer, frame=frame
        )

    key_frames = {sample.onset, sample.offset} | ({apex} if apex is not None else set())
    try:
        write_clip_frames(
            out_dir=out_dir,
            sample=sample,
            crops={
                frame: source(frame, layer)
                for frame in clip.frame_indices
                if sample.onset <= frame <= sample.offset
            },
            key_frames={frame: source(frame, "frame") for frame in key_frames},
        )
    except FileNotFoundError as missing:  # the clip's media changed under the export
        raise ConflictError(f"{clip} ({layer}): {missing}") from None


def _flow_apex(clip: Clip, sample: CompositeSample) -> tuple[int, bool]:
    """The apex the flow goes to; without one (SMIC-HS), the frame of largest motion that
    preprocessing measured, else the middle frame."""
    if sample.apex is not None:
        return sample.apex, False
    peak = clip.preprocess_meta.get("motion_peak_frame")
    if isinstance(peak, int) and sample.onset <= peak <= sample.offset:
        return peak, True
    inside = [f for f in clip.frame_indices if sample.onset <= f <= sample.offset]
    return inside[len(inside) // 2], True


def _mapping_rules(datasets: dict[str, Dataset]) -> dict[str, dict[str, object]]:
    """Per export key: the rule the dataset's emotion mapping follows and any edits to it."""
    rules = {}
    for key, dataset in sorted(datasets.items()):
        edits = {
            emotion.name: {"megc2019": default, "used": emotion.composite_class}
            for emotion in dataset.emotions.order_by("name")
            if (default := megc2019_class(emotion.name, source_format=dataset.source_format))
            != emotion.composite_class
        }
        rules[key] = {"rule": MEGC2019_RULE + (" (edited)" if edits else ""), "edits": edits}
    return rules


def composite_export_run(
    *,
    out_dir: Path,
    datasets: list[Dataset] | None = None,
    min_status: str = "adjudicated",
    flows: bool = False,
    megc2019: bool = False,
    crop_size: int = 112,
    progress: Progress | None = None,
) -> dict:
    """Write the composite export of ``datasets`` (default all) to ``out_dir``; returns the
    contents of ``export.json``. ``out_dir`` must be empty, new, or an earlier export.

    Labels come from each dataset's emotion mapping (``megc2019`` unless an admin edited it).
    With ``megc2019``, the export is MEGC2019's official composite list instead: the published
    rule whatever the mappings say, CASME II clips whose apex is missing or equal to the onset
    left out (`mlcore.datasets.megc.megc2019_omission`), and every clip it adds, omits or
    relabels compared with the mappings listed with the reason under ``megc2019``."""
    if min_status not in MIN_STATUSES:
        raise InvalidRequestError(
            f"min status {min_status!r}: choose from {', '.join(MIN_STATUSES)}"
        )
    report_progress = progress or no_progress
    out_dir = Path(out_dir)
    selection = composite_selection(
        datasets=datasets, min_status=min_status, megc2019=megc2019, crop_size=crop_size
    )
    _prepare_out_dir(out_dir)
    keys, samples = selection.keys, selection.samples
    left_out, rule_report = selection.left_out, selection.rule_report
    layer = f"aligned-{crop_size}"

    total = max(len(samples), 1)
    images_share = 0.45 if flows else 0.9
    for number, (clip, _annotation, sample) in enumerate(samples, start=1):
        _write_clip_images(clip=clip, sample=sample, out_dir=out_dir, layer=layer, apex=sample.apex)
        report_progress(images_share * number / total, f"{sample.subject_key}/{sample.clip}")

    apex_estimated = []
    flow_samples = []
    if flows:
        subject_folders = _ststnet_subject_folders(
            {s.subject_key: c.subject.code for c, _, s in samples}
        )
        apexes = [_flow_apex(clip, sample) for clip, _, sample in samples]
        apex_estimated = [
            f"{sample.subject_key}/{sample.clip}:{apex}"
            for (_, _, sample), (apex, estimated) in zip(samples, apexes, strict=True)
            if estimated
        ]

        flow_samples = compute_flow_samples(
            out_dir=out_dir,
            clips=[
                (sample, apex, subject_folders[sample.subject_key])
                for (_, _, sample), (apex, _) in zip(samples, apexes, strict=True)
            ],
            on_each=lambda number: report_progress(
                0.45 + 0.45 * number / total, f"flow {number}/{len(samples)}"
            ),
        )

    composite = [sample for _, _, sample in samples]
    write_manifest(out_dir, composite)
    write_folds(out_dir, composite)
    (out_dir / GT_NAME).write_bytes(
        ground_truth_bytes(
            [GroundTruthRow(s.dataset, s.subject, s.clip, s.label) for s in composite]
        )
    )
    if flows:
        report_progress(0.92, "writing STSTNet folders")
        write_ststnet(root=out_dir / STSTNET_DIR, samples=flow_samples)

    snapshot = max((a.updated_at for _, a, _ in samples), default=None)
    counts = selection.counts()
    (out_dir / README_NAME).write_text(
        _readme_text(megc2019=megc2019, flows=flows), encoding="utf-8"
    )
    report_progress(0.95, "checksums")
    files = layout_checksums(out_dir)
    summary = {
        "platform_version": mlcore.__version__,
        "annotation_snapshot": snapshot.isoformat() if snapshot else None,
        "min_status": min_status,
        "crop_size": crop_size,
        "flows": flows,
        "datasets": {key: keys[key].name for key in sorted(keys)},
        "clips": len(composite),
        "subjects": len({s.subject_key for s in composite}),
        "folds": len(loso_folds(composite)),
        "counts": {"per_class": counts["per_class"], "per_dataset": counts["per_dataset"]},
        "composite_rule": "megc2019 official list" if megc2019 else "dataset mappings",
        "mappings": _mapping_rules(keys),
        "left_out": _by_clip(left_out),
        "flow_apex_estimated": apex_estimated,
        "files": files,
    }
    if megc2019:
        summary["megc2019"] = {
            **{change: _by_clip(items) for change, items in rule_report.items()},
            "published": _published_comparison(composite),
        }
    (out_dir / EXPORT_JSON).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    report_progress(1.0, f"{len(composite)} clips exported")
    return summary


def _by_clip(items: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(items, key=lambda i: (i["dataset"], i["subject"], i["clip"]))


def _published_comparison(composite: list[CompositeSample]) -> dict[str, dict[str, object]]:
    """Per MEGC2019 dataset: the exported counts beside the published ones."""
    comparison = {}
    for key, published in PUBLISHED_COUNTS.items():
        own = [s for s in composite if s.dataset == key]
        labels = Counter(s.label for s in own)
        exported = {
            "clips": len(own),
            "subjects": len({s.subject for s in own}),
            **{
                name: labels[int(composite_label(name))]
                for name in ("negative", "positive", "surprise")
            },
        }
        comparison[key] = {
            "published": published,
            "exported": exported,
            "matches": exported == published,
        }
    return comparison


def _readme_text(*, megc2019: bool, flows: bool) -> str:
    """What each file is and how it spells subjects and clips (they differ on purpose)."""
    rule = (
        "MEGC2019's official composite list (megc2019 rule; CASME II clips whose apex is "
        "missing or equal to the onset left out; see export.json 'megc2019')"
        if megc2019
        else "each dataset's emotion mapping (export.json 'mappings' names the rule, megc2019, "
        "and any edits)"
    )
    lines = [
        "# MEStudio composite export",
        "",
        f"Labels: {rule}.",
        "",
        "| file | subjects and clips spelled as |",
        "|---|---|",
        f"| {GT_NAME} | MEGC2019's ground truth: casme2 `sub01`, samm `6` (unpadded), "
        "smic `s01` with clip `s01_ne_01`; no header, CRLF |",
        "| manifest.csv, loso_folds.json, <dataset>/<subject>/<clip>/ | the same MEGC2019 "
        "spelling (`samm/6/006_1_2/`) |",
    ]
    if flows:
        lines.append(
            f"| {STSTNET_DIR}/<subject>/u_train, u_test/<label>/<subject>_<clip>.png | STSTNet's "
            "own spelling, as its published weights and subject list: `sub01`, `006` (SAMM "
            "zero-padded), `s01`; e.g. `006/u_test/0/006_006_1_2.png` |"
        )
    lines += [
        f"| {EXPORT_JSON} | counts, what was left out and why, SHA-256 of every other file |",
        "",
        "Labels: 0 negative, 1 positive, 2 surprise.",
        "",
    ]
    return "\n".join(lines)


def _ststnet_subject_folders(source_subjects: dict[str, str]) -> dict[str, str]:
    """LOSO folder per dataset-qualified subject (``samm/6``), from the subject as the source
    writes it (``006``): STSTNet's spelling, qualified by the dataset only where two datasets
    share a spelling."""
    spelled = {
        key: ststnet_subject(dataset=key.split("/", 1)[0], subject=source)
        for key, source in source_subjects.items()
    }
    counts = Counter(spelled.values())
    return {
        key: name if counts[name] == 1 else f"{key.split('/', 1)[0]}_{name}"
        for key, name in sorted(spelled.items())
    }


def composite_export_job(*, job_run: JobRun) -> None:
    """The export task's service: export, zip for download, keep the summary on the job."""
    options = job_options(job_run=job_run)
    jobs.job_run_report_progress(job_run=job_run, progress=0.0, message="Exporting")
    dataset_ids = options.get("dataset_ids")
    datasets = list(Dataset.objects.filter(pk__in=dataset_ids)) if dataset_ids else None
    folder = media.export_folder(job_run=job_run)
    summary = composite_export_run(
        out_dir=folder / "composite",
        datasets=datasets,
        min_status=options.get("min_status", "adjudicated"),
        flows=bool(options.get("flows")),
        megc2019=bool(options.get("megc2019")),
        progress=jobs.job_run_progress_reporter(job_run=job_run, end=0.95),
    )
    layout_zip(out_dir=folder / "composite", zip_path=media.export_zip_path(job_run=job_run))
    shutil.rmtree(folder / "composite")
    result = {key: value for key, value in summary.items() if key != "files"}
    result["file_count"] = len(summary["files"])
    jobs.job_run_finish(
        job_run=job_run,
        result=result,
        message=f"{summary['clips']} clips from {summary['subjects']} subjects exported",
    )
