"""Figures comparing model versions on the training page: scores over time and a learning curve.

Each takes the rows of `learning_selectors.model_version_scores` and returns PNG bytes
(matplotlib's Agg backend: the web server has no display)."""

import io

from django.utils import timezone

from annotator.plotting import pyplot

# The figures by the name in their URL, with their titles.
VERSION_PLOTS = {
    "history": "UF1 and UAR of each model version over time",
    "learning-curve": "UF1 and UAR against the number of labelled clips (learning curve)",
}


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
