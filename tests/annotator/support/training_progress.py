"""A training run seen from outside: the fold its progress message reports (what the admin reads)
and mlcore's resume markers on disk (what a retry skips)."""

from annotator.media import training_root
from annotator.models import TrainingRun


def fold_in_progress(message: str) -> int | None:
    """The fold of a progress message such as "fold 2/3, epoch 4/40, loss 1.0986"; None while
    the snapshot is frozen and while the final model trains."""
    if not message.startswith("fold "):
        return None
    return int(message.split()[1].split("/")[0])


def finished_folds(training_run: TrainingRun) -> dict[str, int]:
    """Each finished fold's record and checkpoint with its modification time in nanoseconds:
    mlcore writes both through a temporary file, so a retrained fold changes them."""
    run_dir = training_root(training_run=training_run) / "run"
    markers = [*run_dir.glob("folds/fold_*.json"), *run_dir.glob("checkpoints/fold_*.pt")]
    return {str(path.relative_to(run_dir)): path.stat().st_mtime_ns for path in sorted(markers)}
