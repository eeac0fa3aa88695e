"""Figures of a run (matplotlib, Agg backend: no display needed on workers)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_confusion(path: Path, *, matrix: np.ndarray, class_names: list[str], title: str) -> Path:
    figure, axes = plt.subplots(figsize=(4.5, 4))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(class_names)), class_names, rotation=30)
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if value > threshold else "black"
        axes.text(col, row, str(value), ha="center", va="center", color=colour)
    return _save(figure, path)


def plot_per_fold(path: Path, *, names: list[str], uf1: list[float], accuracy: list[float]) -> Path:
    figure, axes = plt.subplots(figsize=(max(5, 0.25 * len(names) + 2), 3.5))
    positions = np.arange(len(names))
    axes.bar(positions - 0.2, uf1, width=0.4, label="UF1 (per fold)")
    axes.bar(positions + 0.2, accuracy, width=0.4, label="accuracy (per fold)")
    axes.set_xticks(positions, names, rotation=90, fontsize=6)
    axes.set_ylim(0, 1)
    axes.set_title("per-fold scores (not the pooled MEGC score)", fontsize=9)
    axes.legend(fontsize=7)
    return _save(figure, path)


def plot_losses(path: Path, *, curves: dict[str, list[float]]) -> Path:
    figure, axes = plt.subplots(figsize=(5, 3.5))
    for name, losses in curves.items():
        axes.plot(range(1, len(losses) + 1), losses, linewidth=0.8, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    if len(curves) <= 10:
        axes.legend(fontsize=6)
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
