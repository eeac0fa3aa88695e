"""Models by name: ``create_model("frl_dgt_m3", image_size=64)``.

Architecture modules register their named configurations with ``@register_model``; the names,
what each is and the module that builds it are listed in `mlcore.models.catalogue` (no torch
there), and `create_model` imports that module on first use, so only a process that builds a
model loads torch.
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import TYPE_CHECKING, TypeVar

from mlcore.models.catalogue import CATALOGUE, catalogue_entry

if TYPE_CHECKING:
    from mlcore.models.base import MERModel

Config = TypeVar("Config")
Factory = Callable[..., "MERModel"]

_FACTORIES: dict[str, Factory] = {}


def register_model(name: str) -> Callable[[Factory], Factory]:
    def decorator(factory: Factory) -> Factory:
        entry = CATALOGUE.get(name)
        if entry is None or entry.module != factory.__module__:
            raise ValueError(
                f"model {name!r} from {factory.__module__} is not in mlcore.models.catalogue"
            )
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name] = factory
        return factory

    return decorator


def configure(
    config_class: type[Config],
    *,
    label: str,
    overrides: Mapping[str, object],
    defaults: Mapping[str, object] | None = None,
) -> Config:
    """A model's configuration for a factory: the dataclass's defaults, then a registered
    variant's `defaults`, then the caller's `overrides`; an option it lacks is refused by name."""
    known = {field.name for field in fields(config_class)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown {label} option(s) {sorted(unknown)}; known: {sorted(known)}")
    return replace(config_class(**(defaults or {})), **overrides)


def create_model(name: str, **overrides: object) -> "MERModel":
    """Build a registered model; ``overrides`` replace fields of its configuration."""
    importlib.import_module(catalogue_entry(name).module)  # registers its factories
    return _FACTORIES[name](**overrides)
