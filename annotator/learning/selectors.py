"""Reads of training: runs with their attempts, reports and plots, model versions and their
scores, and the simulated active-learning curves shown beside them."""

import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db.models import (
    Prefetch,
)

from annotator import media
from annotator.models import (
    JobRun,
    ModelVersion,
    TrainingRun,
)

# The figures mlcore writes for a run (mlcore.training.report.write_plots), by their URL name.
TRAINING_RUN_PLOTS = {
    "confusion": "Confusion matrix (pooled over the folds)",
    "per_fold": "Per-fold UF1 and accuracy",
    "losses": "Training loss per epoch",
}


def _attempts_prefetch() -> Prefetch:
    return Prefetch("job_runs", queryset=JobRun.objects.order_by("-created_at"), to_attr="attempts")


def training_run_list(*, limit: int = 50) -> list[TrainingRun]:
    """The latest runs, newest first; `run.attempts[0]` is the current attempt's JobRun."""
    return list(
        TrainingRun.objects.select_related("created_by", "model_version", "warm_start_from")
        .prefetch_related("datasets", _attempts_prefetch())
        .order_by("-created_at")[:limit]
    )


def training_run_get(*, training_run_id: int) -> TrainingRun:
    return (
        TrainingRun.objects.select_related("created_by", "model_version", "warm_start_from")
        .prefetch_related("datasets", _attempts_prefetch())
        .get(pk=training_run_id)
    )


def training_run_report(*, training_run: TrainingRun) -> dict | None:
    """The finished run's scores as tables: pooled (full and per dataset part), per fold, and
    the confusion matrix with its class names. None until the run has metrics."""
    metrics = training_run.metrics
    if not metrics:
        return None
    pooled = metrics.get("pooled", {})
    class_names = metrics.get("class_names", [])
    return {
        "full": pooled.get("full"),
        "parts": [(name, scores) for name, scores in sorted(pooled.items()) if name != "full"],
        "per_fold": metrics.get("per_fold", []),
        "class_names": class_names,
        "confusion": list(zip(class_names, metrics.get("confusion_matrix", []), strict=False)),
        "n_clips": metrics.get("n_clips"),
        "n_folds": metrics.get("n_folds"),
        "apex_policy": metrics.get("apex_policy"),
        "skipped": metrics.get("n_clips_skipped_without_apex", 0),
        "proposed_apexes": len(metrics.get("proposed_apexes", [])),
        "device": metrics.get("device"),
        "wall_time_s": metrics.get("wall_time_s"),
    }


def training_run_plot_file(*, training_run: TrainingRun, name: str) -> Path | None:
    """The PNG mlcore wrote for one of TRAINING_RUN_PLOTS, or None (unknown name, no file)."""
    if name not in TRAINING_RUN_PLOTS:
        return None
    path = media.training_root(training_run=training_run) / "run" / "plots" / f"{name}.png"
    return path if path.is_file() else None


def training_run_plots(*, training_run: TrainingRun) -> list[tuple[str, str]]:
    """(name, title) of the run's figures that are on disk."""
    return [
        (name, title)
        for name, title in TRAINING_RUN_PLOTS.items()
        if training_run_plot_file(training_run=training_run, name=name) is not None
    ]


def model_version_list() -> list[ModelVersion]:
    """Every version, newest first; `version.infer_runs[0]` is its latest scoring job."""
    return list(
        ModelVersion.objects.select_related("training_run")
        .prefetch_related(
            "training_run__datasets",
            Prefetch(
                "job_runs",
                queryset=JobRun.objects.filter(kind=JobRun.Kind.INFER).order_by("-created_at"),
                to_attr="infer_runs",
            ),
        )
        .order_by("-created_at")
    )


def model_version_get(*, version_id: int) -> ModelVersion:
    return ModelVersion.objects.get(pk=version_id)


# The simulated strategies drawn on the training page: the baseline and the queue's two orders.
SIMULATED_STRATEGIES = ("random", "platform", "platform-diversity")


def loop_simulation_curves() -> dict | None:
    """The simulated learning curves (mean and spread of UF1 against labelled clips) of
    `settings.LOOP_SIMULATION_RESULT`; None without one, `{"problem": ...}` for one that cannot
    be read, so the page says so instead of drawing nothing."""
    path = settings.LOOP_SIMULATION_RESULT
    if path is None or not path.is_file():
        return None
    # Read once per version of the file: the training page and its figures ask on every load.
    return _loop_simulation_curves_of(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _loop_simulation_curves_of(path: Path, mtime_ns: int) -> dict:
    """`loop_simulation_curves` for one version of the file (`mtime_ns` keys the cache)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        summary = result["summary"]
        curves = {
            name: {
                "labels": list(summary["strategies"][name]["labels"]),
                "mean": [point["mean"] for point in summary["strategies"][name]["uf1"]],
                "std": [point["std"] for point in summary["strategies"][name]["uf1"]],
            }
            for name in SIMULATED_STRATEGIES
            if name in summary["strategies"]
        }
        described = {
            "clips": result["n_clips"],
            "subjects": result["n_subjects"],
            "seeds": len(result["runs"]),
            "model": result["settings"]["model_name"],
            "verdict": summary["goal"]["verdict"],
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        problem = f"{path} is not a simulate-loop result ({type(error).__name__}: {error})"
        return {"problem": problem}
    if not curves:
        return {"problem": f"{path} has none of the strategies {', '.join(SIMULATED_STRATEGIES)}"}
    return {"curves": curves, **described}


def model_version_scores() -> list[dict]:
    """Pooled UF1/UAR of every version that has them, oldest first, for the comparison plots."""
    rows = []
    for version in ModelVersion.objects.order_by("created_at", "pk"):
        full = version.metrics.get("pooled", {}).get("full", {})
        if "uf1" not in full or "uar" not in full:
            continue
        rows.append(
            {
                "label": f"v{version.pk}",
                "created_at": version.created_at,
                "labelled_clips": version.labelled_clips,
                "uf1": full["uf1"],
                "uar": full["uar"],
                "is_active": version.is_active,
            }
        )
    return rows
