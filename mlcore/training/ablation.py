"""The FRL-DGT ablation (M0..M9), the baselines and two floors under one protocol, tabulated
beside the paper's numbers (poster Table 2; STSTNet from Table 1).

Like for like: every row is computed from the same clips, onset and apex frames, resized to one
``image_size``. The FRL-DGT variants run at that size (their flow inputs, M0 and M1, are
computed at it, as the DGM sees its frames); STSTNet and the linear floors keep their own small
network input (28 px) but compute TV-L1 on frames of the same ``image_size``.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlcore.models import create_model
from mlcore.models.frl_dgt import ABLATION_VARIANTS
from mlcore.training.run import DEFAULT_APEX_POLICY, train_run

PARTS = (("full", "Full"), ("smic", "SMIC"), ("samm", "SAMM"), ("casme2", "CASME II"))

# (id, registered model, change); FRL-DGT variants take the shared FRL-DGT options.
ABLATION_ROWS: list[tuple[str, str, str]] = [
    (variant, f"frl_dgt_{variant.lower()}", change)
    for variant, (change, _) in ABLATION_VARIANTS.items()
] + [
    ("STSTNet", "ststnet", "baseline: three-stream CNN on (u, v, strain)"),
    ("Flow+linear", "flow_linear", "floor: linear classifier on TV-L1 flow"),
    (
        "Flow-affine+linear",
        "flow_affine_linear",
        "floor: linear classifier on TV-L1 flow less a 6-parameter affine head motion",
    ),
]

# UF1, UAR per part, MEGC2019 composite LOSO, as published.
PAPER_SCORES: dict[str, dict[str, tuple[float, float]]] = {
    "M0": {"full": (0.741, 0.718), "smic": (0.671, 0.662), "samm": (0.695, 0.662),
           "casme2": (0.846, 0.834)},
    "M1": {"full": (0.758, 0.739), "smic": (0.671, 0.667), "samm": (0.778, 0.730),
           "casme2": (0.869, 0.831)},
    "M2": {"full": (0.739, 0.720), "smic": (0.684, 0.679), "samm": (0.762, 0.745),
           "casme2": (0.759, 0.716)},
    "M3": {"full": (0.778, 0.777), "smic": (0.707, 0.718), "samm": (0.697, 0.677),
           "casme2": (0.914, 0.889)},
    "M4": {"full": (0.797, 0.792), "smic": (0.746, 0.746), "samm": (0.734, 0.719),
           "casme2": (0.898, 0.885)},
    "M5": {"full": (0.765, 0.765), "smic": (0.665, 0.673), "samm": (0.754, 0.734),
           "casme2": (0.894, 0.876)},
    "M6": {"full": (0.773, 0.774), "smic": (0.689, 0.698), "samm": (0.758, 0.704),
           "casme2": (0.876, 0.881)},
    "M7": {"full": (0.781, 0.765), "smic": (0.741, 0.745), "samm": (0.725, 0.672),
           "casme2": (0.848, 0.838)},
    "M8": {"full": (0.782, 0.773), "smic": (0.701, 0.706), "samm": (0.711, 0.671),
           "casme2": (0.904, 0.886)},
    "M9": {"full": (0.812, 0.811), "smic": (0.743, 0.749), "samm": (0.772, 0.758),
           "casme2": (0.919, 0.903)},
    "STSTNet": {"full": (0.735, 0.761), "smic": (0.680, 0.701), "samm": (0.659, 0.681),
                "casme2": (0.838, 0.869)},
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AblationResult:
    rows: list[dict[str, object]]
    markdown_path: Path
    json_path: Path


def _cell(ours: dict | None, paper: tuple[float, float] | None, which: int) -> str:
    key = ("uf1", "uar")[which]
    text = f"{ours[key]:.3f}" if ours else "-"
    return f"{text} ({paper[which]:.3f})" if paper else text


def ablation_markdown(rows: list[dict[str, object]], *, title: str) -> str:
    header = ["id", "change"] + [f"{label} {m}" for _, label in PARTS for m in ("UF1", "UAR")]
    lines = [
        f"### {title}",
        "",
        "Ours (paper's MEGC2019 composite LOSO number in parentheses).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        scores, paper = row["scores"], PAPER_SCORES.get(row["id"], {})
        cells = [row["id"], row["change"]]
        for part, _ in PARTS:
            for which in (0, 1):
                cells.append(_cell(scores.get(part), paper.get(part), which))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def row_options(
    model_name: str, *, image_size: int, frl_dgt_options: dict[str, object] | None
) -> dict[str, object]:
    """The model options of one row: every row's frames are resized to ``image_size``."""
    if model_name.startswith("frl_dgt"):
        options = dict(frl_dgt_options or {})
        if "image_size" in options:
            raise ValueError(
                "the ablation sets every row's resolution with image_size (--image-size), "
                "not with an FRL-DGT option"
            )
        return {**options, "image_size": image_size}
    return {"flow_size": image_size}


def run_ablation(
    *,
    data_dir: Path,
    out_dir: Path,
    image_size: int = 112,
    protocol: str = "loso",
    epochs: int = 30,
    seed: int = 0,
    device: str | None = None,
    frl_dgt_options: dict[str, object] | None = None,
    only: list[str] | None = None,
    k_folds: int = 5,
    val_fraction: float = 0.0,
    apex_policy: str = DEFAULT_APEX_POLICY,
    progress: Callable[[float, str], None] | None = None,
) -> AblationResult:
    """Train every row (or the ids in ``only``) in ``out_dir/<model>``; runs resume.

    Clips without an apex (SMIC-HS) follow ``apex_policy`` exactly as training does (default
    ``propose``), so an ablation row and a training run of the same model see the same clips."""
    out_dir = Path(out_dir)
    chosen = [row for row in ABLATION_ROWS if only is None or row[0] in only]
    if only is not None and len(chosen) != len(set(only)):
        known = [row[0] for row in ABLATION_ROWS]
        raise ValueError(f"unknown ablation id(s) in {only}; known: {known}")
    # Every row's options are checked (by building its model) before anything trains.
    planned = []
    for row_id, model_name, change in chosen:
        options = row_options(model_name, image_size=image_size, frl_dgt_options=frl_dgt_options)
        create_model(model_name, **options)
        planned.append((row_id, model_name, change, options))
    rows = []
    for number, (row_id, model_name, change, options) in enumerate(planned):
        if progress is not None:
            progress(number / len(chosen), f"{row_id} ({model_name})")
        result = train_run(
            data_dir=data_dir,
            out_dir=out_dir / model_name,
            model_name=model_name,
            protocol=protocol,
            epochs=epochs,
            seed=seed,
            device=device,
            model_options=options,
            k_folds=k_folds,
            val_fraction=val_fraction,
            apex_policy=apex_policy,
            cache_dir=out_dir / "input_cache",
            train_final=False,
        )
        rows.append(
            {
                "id": row_id,
                "model": model_name,
                "change": change,
                "model_options": options,
                "input": result.metrics["input"],
                "scores": result.metrics["pooled"],
                "n_folds": result.metrics["n_folds"],
                "wall_time_s": result.metrics["wall_time_s"],
                "paper": {part: list(v) for part, v in PAPER_SCORES.get(row_id, {}).items()},
            }
        )
    if progress is not None:
        progress(1.0, "ablation done")
    folds = f" (k={k_folds})" if protocol == "kfold" else ""
    title = (
        f"FRL-DGT ablation, frames at {image_size} px, {protocol}{folds}, {epochs} epochs, "
        f"seed {seed}, "
        f"apex {apex_policy}, FRL-DGT options {frl_dgt_options or {}}, data {data_dir}"
    )
    markdown_path = out_dir / "ablation.md"
    markdown_path.write_text(ablation_markdown(rows, title=title), encoding="utf-8")
    json_path = out_dir / "ablation.json"
    settings = {
        "data": str(data_dir),
        "image_size": image_size,
        "protocol": protocol,
        "epochs": epochs,
        "seed": seed,
        "k_folds": k_folds if protocol == "kfold" else None,
        "apex_policy": apex_policy,
        "frl_dgt_options": frl_dgt_options or {},
    }
    json_path.write_text(
        json.dumps({"settings": settings, "rows": rows}, indent=1) + "\n", encoding="utf-8"
    )
    return AblationResult(rows=rows, markdown_path=markdown_path, json_path=json_path)
