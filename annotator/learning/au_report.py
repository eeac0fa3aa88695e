"""A finished run's per-AU F1 (mlcore's `metrics["au"]`, where the run trained the AU head) as
the run's page shows it: a bar chart and a table beside it."""

from annotator.models import TrainingRun
from mlcore.facs import AU_NAMES


def training_run_au_report(*, training_run: TrainingRun) -> dict | None:
    """Each head AU's F1, coded and proposed counts over the folds' AU-coded test clips, in the
    head's AU order; None for a run without AU scores (no AU head, or not finished)."""
    scores = training_run.metrics.get("au")
    if not scores:
        return None
    per_au = scores["per_au"]
    # The head's own order: the stored JSON (jsonb) does not keep the order of its keys.
    rows = [
        {"au": f"AU{unit}", "name": AU_NAMES.get(unit, ""), **per_au[f"AU{unit}"]}
        for unit in scores["units"]
    ]
    return {
        "rows": rows,
        "mean_f1": scores["mean_f1"],
        "n_clips": scores["n_clips"],
        "n_clips_without_au_label": scores["n_clips_without_au_label"],
        "threshold": scores["threshold"],
    }
