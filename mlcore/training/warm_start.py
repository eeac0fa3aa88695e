"""Where one training of a run begins: from scratch, or from a previous run's trained weights.

A warm start begins from a previous run's trained weights instead of from scratch. Its final
model trained on every clip it had, test subjects of this run's folds included, so a fold starts
from it only when none of the fold's test subjects were among those clips; otherwise the fold
starts from the previous run's fold checkpoint that held those subjects out, and failing that
from scratch. Each fold records where it started. The cross-validated scores thus never see a
test subject twice, warm start or not.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from mlcore.checksums import file_sha256
from mlcore.models.base import InputSpec, MERModel
from mlcore.training.report import CLASS_NAMES


class WarmStartError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StartingWeights:
    """Where one training begins: a checkpoint's weights (``path``) or scratch (None)."""

    path: Path | None
    label: str  # "scratch", "warm start" or "warm start fold NNN", recorded per fold


SCRATCH = StartingWeights(None, "scratch")


@dataclass(frozen=True, slots=True)
class WarmStart:
    """A previous run's final checkpoint and the fold checkpoints beside it."""

    path: Path
    sha256: str
    # Subjects the final checkpoint trained on; None when the checkpoint does not say.
    subjects: frozenset[str] | None
    fold_checkpoints: tuple[tuple[frozenset[str], Path], ...]  # (test subjects, checkpoint)

    def start_for(self, test_subjects: tuple[str, ...]) -> StartingWeights:
        """The weights a fold testing ``test_subjects`` may start from without having seen them."""
        tested = frozenset(test_subjects)
        if self.subjects is not None and not tested & self.subjects:
            return StartingWeights(self.path, "warm start")
        seen = tested if self.subjects is None else tested & self.subjects
        for held_out, path in self.fold_checkpoints:
            if seen <= held_out:
                return StartingWeights(path, f"warm start {path.stem.replace('_', ' ')}")
        return SCRATCH


def _read_checkpoint(path: Path, *, model_name: str, spec: InputSpec) -> dict:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("model_name") != model_name:
        raise WarmStartError(
            f"cannot warm-start {model_name} from {path}: it holds a {payload.get('model_name')} "
            "model"
        )
    if payload.get("input_spec") != asdict(spec):
        raise WarmStartError(
            f"cannot warm-start from {path}: its input {payload.get('input_spec')} differs from "
            f"this run's {asdict(spec)} (another preset or model option?)"
        )
    return payload


def load_warm_start(path: Path, *, model_name: str, spec: InputSpec) -> WarmStart:
    """Check a warm-start checkpoint against this run's model and input; find its fold siblings."""
    path = Path(path)
    if not path.is_file():
        raise WarmStartError(f"warm-start checkpoint {path} not found")
    payload = _read_checkpoint(path, model_name=model_name, spec=spec)
    if payload.get("class_names") != CLASS_NAMES:
        raise WarmStartError(
            f"cannot warm-start from {path}: its classes {payload.get('class_names')} are not "
            f"{CLASS_NAMES}"
        )
    subjects = payload.get("extra", {}).get("subjects")
    folds = []
    # A final model sits in its run folder beside the folds' checkpoints (`mlcore.training.run`).
    for fold_path in sorted((path.parent / "checkpoints").glob("fold_*.pt")):
        fold_payload = _read_checkpoint(fold_path, model_name=model_name, spec=spec)
        folds.append((frozenset(fold_payload["extra"]["test_subjects"]), fold_path))
    return WarmStart(
        path=path,
        sha256=file_sha256(path),
        subjects=None if subjects is None else frozenset(subjects),
        fold_checkpoints=tuple(folds),
    )


def load_weights(model: MERModel, path: Path) -> None:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise WarmStartError(
            f"cannot warm-start from {path}: its weights do not fit this model's configuration "
            f"({str(error).splitlines()[0]})"
        ) from None
