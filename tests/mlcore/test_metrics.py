"""MEGC scores: UF1 and UAR are scikit-learn's macro F1 and macro recall on pooled predictions."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score, recall_score

from mlcore.training.metrics import confusion_matrix, pooled_scores, score


@pytest.mark.parametrize("seed", range(6))
def test_uf1_and_uar_equal_sklearn_macro_scores(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, 60)
    # Mostly right, some confusions, and in some seeds a class is never predicted.
    y_pred = np.where(rng.random(60) < 0.6, y_true, rng.integers(0, 3 - seed % 2, 60))
    scores = score(y_true, y_pred, num_classes=3)
    assert scores.uf1 == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert scores.uar == pytest.approx(recall_score(y_true, y_pred, average="macro"))
    assert scores.n == 60


def test_class_missing_from_truth_counts_like_sklearn():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])  # class 2 only predicted
    scores = score(y_true, y_pred, num_classes=3)
    assert scores.uf1 == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert scores.uar == pytest.approx(recall_score(y_true, y_pred, average="macro"))
    assert scores.uar == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_parts_restrict_the_pooled_predictions_to_one_dataset():
    y_true = np.array([0, 1, 2, 0, 1, 2, 0])
    y_pred = np.array([0, 1, 1, 0, 0, 2, 2])
    datasets = ["smic", "smic", "smic", "samm", "samm", "samm", "casme2"]
    result = pooled_scores(y_true=y_true, y_pred=y_pred, datasets=datasets, num_classes=3)
    assert set(result) == {"full", "smic", "samm", "casme2"}
    assert result["full"]["uf1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    smic = slice(0, 3)
    assert result["smic"]["uar"] == pytest.approx(
        recall_score(y_true[smic], y_pred[smic], average="macro")
    )
    assert result["casme2"]["n"] == 1


def test_confusion_matrix_rows_are_truth():
    y_true, y_pred = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])
    assert (
        confusion_matrix(y_true, y_pred, num_classes=3).tolist()
        == sk_confusion(y_true, y_pred, labels=[0, 1, 2]).tolist()
    )


def test_bad_labels_are_reported():
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        score(np.array([0, 3]), np.array([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="2 labels but 3 predictions"):
        score(np.array([0, 1]), np.array([0, 1, 1]), num_classes=3)
    with pytest.raises(ValueError, match="no predictions"):
        score(np.array([], dtype=int), np.array([], dtype=int), num_classes=3)
