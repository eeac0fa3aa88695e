"""Training, evaluation (LOSO / k-fold / hold-out with MEGC scores), apex proposals and
uncertainty for the models of `mlcore.models`."""

from mlcore.training.apex import ApexEvaluation, ApexProposal, evaluate_apex, propose_apex
from mlcore.training.checkpoints import LoadedModel, load_model, save_checkpoint
from mlcore.training.fold import TrainProgress
from mlcore.training.interval import IntervalProposal, propose_interval
from mlcore.training.metrics import Scores, confusion_matrix, pooled_scores, score
from mlcore.training.protocols import PROTOCOLS, Fold, make_folds
from mlcore.training.run import RunResult, train_run
from mlcore.training.uncertainty import UncertaintyResult, predict_with_uncertainty

__all__ = [
    "PROTOCOLS",
    "ApexEvaluation",
    "ApexProposal",
    "Fold",
    "IntervalProposal",
    "LoadedModel",
    "RunResult",
    "Scores",
    "TrainProgress",
    "UncertaintyResult",
    "confusion_matrix",
    "evaluate_apex",
    "load_model",
    "make_folds",
    "pooled_scores",
    "predict_with_uncertainty",
    "propose_apex",
    "propose_interval",
    "save_checkpoint",
    "score",
    "train_run",
]
