"""Every model by name, with what it is and the module that builds it, without importing torch:
the web process offers these names on the training form and in the API, and only a worker
builds a model (`mlcore.models.registry.create_model` imports the module named here).

Adding an architecture: a module whose factories carry ``@register_model(name)``, and its names
here; the registry refuses a factory whose name or module this table does not list.
"""

from dataclasses import dataclass

from mlcore.models.frl_dgt_variants import ABLATION_VARIANTS


class UnknownModelError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    name: str
    description: str
    module: str
    # Takes the `au_head` option (a multi-label AU head on the AU-region tokens).
    offers_au_head: bool = False


_ENTRIES = (
    CatalogueEntry(
        "flow_linear",
        "baseline floor: linear classifier on optical flow",
        "mlcore.models.flow_linear",
    ),
    CatalogueEntry(
        "flow_affine_linear",
        "baseline floor: linear classifier on flow less an affine head motion",
        "mlcore.models.flow_linear",
    ),
    CatalogueEntry("frl_dgt", "FRL-DGT, full model (= frl_dgt_m9)", "mlcore.models.frl_dgt", True),
    *(
        CatalogueEntry(
            f"frl_dgt_{variant.lower()}",
            f"FRL-DGT {variant}: {change}",
            "mlcore.models.frl_dgt",
            True,
        )
        for variant, (change, _) in ABLATION_VARIANTS.items()
    ),
    CatalogueEntry(
        "ststnet",
        "STSTNet baseline: three-stream CNN on (u, v, strain)",
        "mlcore.models.ststnet",
    ),
)
CATALOGUE: dict[str, CatalogueEntry] = {entry.name: entry for entry in _ENTRIES}


def catalogue_entry(name: str) -> CatalogueEntry:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; available: {', '.join(list_models())}"
        ) from None


def list_models() -> list[str]:
    return sorted(CATALOGUE)


def describe_model(name: str) -> str:
    return catalogue_entry(name).description
