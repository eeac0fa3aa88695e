"""Models by name: ``create_model("frl_dgt_m3", image_size=64)`` and ``list_models()``.

Architecture modules register their named configurations with ``@register_model``; importing
`mlcore.models` imports them all, so the registry is complete once the package is imported.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from mlcore.models.base import MERModel

Config = TypeVar("Config")


class UnknownModelError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    description: str
    factory: Callable[..., MERModel]


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, *, description: str
) -> Callable[[Callable[..., MERModel]], Callable[..., MERModel]]:
    def decorator(factory: Callable[..., MERModel]) -> Callable[..., MERModel]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelEntry(name=name, description=description, factory=factory)
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


def create_model(name: str, **overrides: object) -> MERModel:
    """Build a registered model; ``overrides`` replace fields of its configuration."""
    try:
        entry = _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; available: {', '.join(list_models())}"
        ) from None
    return entry.factory(**overrides)


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def describe_model(name: str) -> str:
    if name not in _REGISTRY:
        raise UnknownModelError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return _REGISTRY[name].description
