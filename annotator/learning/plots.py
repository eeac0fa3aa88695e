"""Figures of the training pages: model versions compared (scores over time, a learning curve)
from the rows of `learning_selectors.model_version_scores`, and a run's per-AU F1. Each returns
PNG bytes (matplotlib's Agg backend: the web server has no display)."""

import io

from django.utils import timezone

from annotator.plotting import pyplot

# The figures by the name in their URL, with their titles.
VERSION_PLOTS = {
    "history": "UF1 and UAR of each model version over time",
    "learning-curve": "UF1 and UAR against the number of labelled clips (learning curve)",
}


# A run's per-AU F1 figure, by the name in its URL beside the figures mlcore draws.
AU_F1_PLOT = ("au_f1", "F1 of each action unit (pooled over the folds' AU-coded test clips)")

SIMULATION_STYLE = {
    "random": ("#667085", "simulated: random order"),
    "platform": ("#7a5af8", "simulated: the queue (uncertainty)"),
    "platform-diversity": ("#0e9384", "simulated: the queue (uncertainty + diversity)"),
}


def version_plot_png(*, name: str, rows: list[dict], simulation: dict | None = None) -> bytes:
    """`simulation` (learning_selectors.loop_simulation_curves) adds its curves to the learning
    curve, so a lab with no version yet still sees what labelling in the queue's order is
    expected to buy."""
    if name not in VERSION_PLOTS:
        raise ValueError(f"Unknown plot {name!r}; choose one of {', '.join(VERSION_PLOTS)}.")
    curves = (simulation or {}).get("curves") if name == "learning-curve" else None
    if not rows and not curves:
        raise ValueError("No model version has scores yet.")
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 3.4), dpi=100)
    if name == "history":
        # One place per version in training order: versions trained minutes apart stay apart.
        x = list(range(len(rows)))
        ticks = [
            f"{row['label']}\n{timezone.localtime(row['created_at']):%m-%d %H:%M}" for row in rows
        ]
        axes.set_xticks(x, ticks, fontsize=7)
        axes.set_xlabel("model version, trained")
    else:
        rows = sorted(rows, key=lambda row: (row["labelled_clips"], row["created_at"]))
        x = [row["labelled_clips"] for row in rows]
        axes.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        axes.set_xlabel("labelled clips in the training snapshot")
    for strategy, curve in (curves or {}).items():
        color, label = SIMULATION_STYLE[strategy]
        low = [m - s for m, s in zip(curve["mean"], curve["std"], strict=True)]
        high = [m + s for m, s in zip(curve["mean"], curve["std"], strict=True)]
        axes.fill_between(curve["labels"], low, high, color=color, alpha=0.12, linewidth=0)
        axes.plot(curve["labels"], curve["mean"], "--", color=color, label=f"{label}, UF1")
    lab = ", this lab's versions" if curves else ""
    if rows:
        axes.plot(x, [r["uf1"] for r in rows], marker="o", label=f"UF1{lab}", color="#2463eb")
        axes.plot(x, [r["uar"] for r in rows], marker="s", label=f"UAR{lab}", color="#b54708")
    for row, position in zip(rows, x, strict=True):
        if name == "learning-curve" or row["is_active"]:
            axes.annotate(
                row["label"] + (" (active)" if row["is_active"] else ""),
                (position, row["uf1"]),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=7,
                fontweight="bold" if row["is_active"] else "normal",
            )
    if len(rows) == 1:
        axes.set_xlim(x[0] - 1, x[0] + 1)
    axes.set_ylim(0, 1.15)
    axes.set_ylabel("pooled score")
    axes.set_title(VERSION_PLOTS[name], fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def au_f1_plot_png(*, au_report: dict) -> bytes:
    """One bar per AU of `learning.au_report.training_run_au_report`, labelled with how many
    test clips were coded with it; an AU neither coded nor proposed has no F1 and no bar."""
    rows = au_report["rows"]
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(max(4.0, 0.45 * len(rows) + 1.5), 3.4), dpi=100)
    x = list(range(len(rows)))
    axes.bar(
        [i for i, row in zip(x, rows, strict=True) if row["f1"] is not None],
        [row["f1"] for row in rows if row["f1"] is not None],
        color="#2463eb",
    )
    for i, row in zip(x, rows, strict=True):
        if row["f1"] is None:
            axes.annotate(
                "n/a",
                (i, 0),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=7,
                color="#667085",
            )
    ticks = [f"{row['au']}\n{row['support']}" for row in rows]
    axes.set_xticks(x, ticks, fontsize=7)
    axes.set_xlabel("action unit, and the test clips coded with it")
    if au_report["mean_f1"] is not None:
        axes.axhline(
            au_report["mean_f1"],
            linestyle="--",
            color="#b54708",
            linewidth=1,
            label=f"mean F1 {au_report['mean_f1']:.3f}",
        )
        axes.legend(fontsize=8, loc="upper right")
    axes.set_ylim(0, 1.15)
    axes.set_ylabel("F1")
    axes.set_title(AU_F1_PLOT[1], fontsize=9)
    axes.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
