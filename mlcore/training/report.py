"""What a run reports: ``metrics.json`` (pooled UF1/UAR, per-fold numbers, per-AU F1) and its
plots, the class names and clip ids they are given in, and the atomic JSON writer every file of
a run folder goes through."""

import json
from pathlib import Path

import numpy as np

from mlcore.checksums import file_sha256
from mlcore.composite import CompositeSample
from mlcore.facs import AU_HEAD_UNITS
from mlcore.labels import CompositeClass
from mlcore.models.base import InputSpec
from mlcore.training.metrics import au_scores, confusion_matrix, pooled_scores, score
from mlcore.training.plots import plot_confusion, plot_losses, plot_per_fold

CLASS_NAMES = [member.name.lower() for member in CompositeClass]


def clip_id(sample: CompositeSample) -> str:
    return f"{sample.dataset}/{sample.subject}/{sample.clip}"


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)


def run_metrics(
    *,
    spec: InputSpec,
    records: list[dict],
    samples: list[CompositeSample],
    ids: list[str],
    aus: tuple[np.ndarray, np.ndarray] | None,
    model_name: str,
    model_options: dict[str, object],
    preset: str,
    warm_start: str | None,
    protocol: str,
    seed: int,
    epochs: int,
    apex_policy: str,
    n_skipped: int,
    proposals: list[dict[str, object]],
    final_path: Path | None,
    device: str,
    wall_time: float,
) -> dict[str, object]:
    dataset_of = {clip_id(sample): sample.dataset for sample in samples}
    y_true = np.array([y for record in records for y in record["y_true"]], dtype=np.int64)
    y_pred = np.array([y for record in records for y in record["y_pred"]], dtype=np.int64)
    datasets = [dataset_of[clip] for record in records for clip in record["test_clips"]]
    num_classes = len(CLASS_NAMES)
    per_fold = []
    for record in records:
        fold_scores = score(
            np.array(record["y_true"]), np.array(record["y_pred"]), num_classes=num_classes
        )
        per_fold.append(
            {
                "fold": record["index"],
                "name": record["name"],
                "test_subjects": record["test_subjects"],
                **fold_scores.as_dict(),
                "selected_epoch": record["selected_epoch"],
                "start": record["start"],
            }
        )
    metrics: dict[str, object] = {
        "model": model_name,
        "model_options": model_options,
        "preset": preset,
        "warm_start": warm_start,
        "input": spec.as_dict(),
        "protocol": protocol,
        "seed": seed,
        "epochs": epochs,
        "device": device,
        "class_names": CLASS_NAMES,
        "n_clips": len(samples),
        "apex_policy": apex_policy,
        "n_clips_skipped_without_apex": n_skipped,
        "proposed_apexes": proposals,
        "n_folds": len(records),
        "pooled": pooled_scores(
            y_true=y_true, y_pred=y_pred, datasets=datasets, num_classes=num_classes
        ),
        "confusion_matrix": confusion_matrix(y_true, y_pred, num_classes=num_classes).tolist(),
        "per_fold_note": "per-fold scores; the MEGC score is the pooled one above",
        "per_fold": per_fold,
        "mean_of_per_fold_uf1_nonstandard": float(np.mean([f["uf1"] for f in per_fold])),
        "wall_time_s": round(wall_time, 2),
    }
    if protocol != "holdout":
        tested = sorted(clip for record in records for clip in record["test_clips"])
        assert tested == sorted(ids), "every clip must be tested exactly once"
    if aus is not None:
        metrics["au"] = _au_metrics(records=records, ids=ids, aus=aus)
    if final_path is not None:
        metrics["final_model"] = {"path": final_path.name, "sha256": file_sha256(final_path)}
    return metrics


def _au_metrics(
    *, records: list[dict], ids: list[str], aus: tuple[np.ndarray, np.ndarray]
) -> dict[str, object]:
    """Per-AU F1 pooled over the folds' test clips that carry an AU label."""
    row_of = {clip: row for row, clip in enumerate(ids)}
    rows = np.array([row_of[clip] for record in records for clip in record["test_clips"]])
    probabilities = np.array(
        [p for record in records for p in record["au_probabilities"]], dtype=np.float32
    ).reshape(len(rows), len(AU_HEAD_UNITS))
    targets, labelled = aus
    keep = labelled[rows]
    return {
        "units": list(AU_HEAD_UNITS),
        "n_clips_without_au_label": int((~keep).sum()),
        **au_scores(
            targets=targets[rows][keep], probabilities=probabilities[keep], units=AU_HEAD_UNITS
        ),
    }


def write_plots(out_dir: Path, metrics: dict, records: list[dict]) -> None:
    plots = out_dir / "plots"
    full = metrics["pooled"]["full"]
    plot_confusion(
        plots / "confusion.png",
        matrix=np.array(metrics["confusion_matrix"]),
        class_names=metrics["class_names"],
        title=f"{metrics['model']} {metrics['protocol']}: "
        f"UF1 {full['uf1']:.3f} UAR {full['uar']:.3f}",
    )
    plot_per_fold(
        plots / "per_fold.png",
        names=[fold["name"] for fold in metrics["per_fold"]],
        uf1=[fold["uf1"] for fold in metrics["per_fold"]],
        accuracy=[fold["accuracy"] for fold in metrics["per_fold"]],
    )
    curves = {record["name"]: record["epoch_losses"] for record in records}
    plot_losses(plots / "losses.png", curves=curves)
