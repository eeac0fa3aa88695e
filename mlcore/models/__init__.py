"""Micro-expression recognition models, created by name. Naming them (`list_models`,
`describe_model`) imports no torch; `create_model` imports the architecture that builds one."""

from mlcore.models.catalogue import UnknownModelError, describe_model, list_models
from mlcore.models.registry import create_model

__all__ = ["UnknownModelError", "create_model", "describe_model", "list_models"]
