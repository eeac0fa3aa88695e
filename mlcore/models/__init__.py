"""Micro-expression recognition models, created by name (see `mlcore.models.registry`)."""

from mlcore.models import flow_linear, frl_dgt, ststnet  # noqa: F401  (registers the models)
from mlcore.models.base import INPUT_KINDS, InputSpec, MERModel
from mlcore.models.registry import UnknownModelError, create_model, describe_model, list_models

__all__ = [
    "INPUT_KINDS",
    "InputSpec",
    "MERModel",
    "UnknownModelError",
    "create_model",
    "describe_model",
    "list_models",
]
