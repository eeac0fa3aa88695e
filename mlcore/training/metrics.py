"""MEGC scores on pooled predictions: UF1 (macro F1) and UAR (mean per-class recall).

Classes are those present in the truth or the predictions, as in scikit-learn's macro
averages: a class absent from both is not counted, one that is only predicted scores 0.
AU detection is scored the same way per AU (`au_scores`): F1 of each AU over the clips with an
AU label, and their mean over the AUs present in the truth or the predictions.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Scores:
    uf1: float
    uar: float
    accuracy: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {"uf1": self.uf1, "uar": self.uar, "accuracy": self.accuracy, "n": self.n}


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, num_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.shape[0]} labels but {y_pred.shape[0]} predictions")
    for name, values in (("label", y_true), ("prediction", y_pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} outside 0..{num_classes - 1}: {sorted(set(values.tolist()))}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def score(y_true: np.ndarray, y_pred: np.ndarray, *, num_classes: int) -> Scores:
    matrix = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    total = int(matrix.sum())
    if total == 0:
        raise ValueError("no predictions to score")
    true_positive = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    present = (support + predicted) > 0
    f1 = 2 * true_positive[present] / (support[present] + predicted[present])
    recall = np.divide(
        true_positive[present],
        support[present],
        out=np.zeros(int(present.sum())),
        where=support[present] > 0,
    )
    return Scores(
        uf1=float(f1.mean()),
        uar=float(recall.mean()),
        accuracy=float(true_positive.sum() / total),
        n=total,
    )


def pooled_scores(
    *,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    datasets: Sequence[str],
    num_classes: int,
) -> dict[str, dict[str, float | int]]:
    """``{"full": ..., "<dataset>": ...}``: parts restrict the same pooled predictions."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    datasets = np.asarray(datasets)
    result = {"full": score(y_true, y_pred, num_classes=num_classes).as_dict()}
    for dataset in sorted(set(datasets.tolist())):
        mask = datasets == dataset
        result[dataset] = score(y_true[mask], y_pred[mask], num_classes=num_classes).as_dict()
    return result


def au_scores(
    *, targets: np.ndarray, probabilities: np.ndarray, units: Sequence[int], threshold: float = 0.5
) -> dict[str, object]:
    """Per-AU F1 of (N, A) probabilities against (N, A) multi-hot targets of AU-labelled clips.

    An AU neither coded nor predicted on any clip has no F1 (None) and stays out of the mean;
    one only predicted scores 0. ``mean_f1`` is None when no AU is present at all."""
    targets, probabilities = np.asarray(targets), np.asarray(probabilities)
    if targets.shape != probabilities.shape or targets.ndim != 2:
        raise ValueError(f"AU targets {targets.shape} and probabilities {probabilities.shape}")
    if targets.shape[1] != len(units):
        raise ValueError(f"{targets.shape[1]} AU columns for {len(units)} AUs")
    truth = targets > 0.5
    predicted = probabilities >= threshold
    per_au: dict[str, dict[str, float | int | None]] = {}
    present = []
    for column, unit in enumerate(units):
        support = int(truth[:, column].sum())
        flagged = int(predicted[:, column].sum())
        hits = int((truth[:, column] & predicted[:, column]).sum())
        f1 = 2 * hits / (support + flagged) if support + flagged else None
        if f1 is not None:
            present.append(f1)
        per_au[f"AU{unit}"] = {"f1": f1, "support": support, "predicted": flagged}
    return {
        "n_clips": int(targets.shape[0]),
        "threshold": threshold,
        "mean_f1": float(np.mean(present)) if present else None,
        "per_au": per_au,
    }
