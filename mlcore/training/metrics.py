"""MEGC scores on pooled predictions: UF1 (macro F1) and UAR (mean per-class recall).

Classes are those present in the truth or the predictions, as in scikit-learn's macro
averages: a class absent from both is not counted, one that is only predicted scores 0.
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
