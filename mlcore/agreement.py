"""Reliability between FACS coders: AU agreement, chance-corrected agreement on labels, and
distances between frame marks.

References: Ekman & Friesen's agreement ratio (FACS manual), Cohen's kappa, and Krippendorff's
alpha from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np

from mlcore.facs import AUCode

INTENSITY_ORDER = ("A", "B", "C", "D", "E")


def ekman_friesen_ratio(first: set[Hashable], second: set[Hashable]) -> float:
    """2 x AUs scored by both / AUs scored by either coder (summed); 1.0 when neither scored any."""
    total = len(first) + len(second)
    return 1.0 if total == 0 else 2 * len(first & second) / total


@dataclass(frozen=True, slots=True)
class AUAgreement:
    """Two coders' AUs of one clip, compared in three parts, each its own question:

    - ``number``: the Ekman-Friesen ratio (FACS manual) over AU numbers alone, so R12B against
      12B is full agreement on the number;
    - ``laterality``: of the AU numbers both coded, the share coded with the same sides (L, R,
      or none); None when they share no number;
    - ``intensity``: of the AU numbers both coded with an intensity, the share with the same
      intensities (A-E); None when no shared number has an intensity from both.
    """

    number: float
    laterality: float | None
    intensity: float | None
    only_first: list[str]
    only_second: list[str]


def au_agreement(first: Sequence[AUCode], second: Sequence[AUCode]) -> AUAgreement:
    def by_number(codes: Sequence[AUCode]) -> dict[int, list[AUCode]]:
        grouped: dict[int, list[AUCode]] = {}
        for code in codes:
            grouped.setdefault(code.number, []).append(code)
        return grouped

    a, b = by_number(first), by_number(second)
    shared = sorted(a.keys() & b.keys())
    same_sides = [{c.laterality for c in a[n]} == {c.laterality for c in b[n]} for n in shared]
    intensities = [
        ({c.intensity for c in a[n]} - {""}, {c.intensity for c in b[n]} - {""}) for n in shared
    ]
    rated = [x == y for x, y in intensities if x and y]
    return AUAgreement(
        number=ekman_friesen_ratio(set(a), set(b)),
        laterality=sum(same_sides) / len(same_sides) if same_sides else None,
        intensity=sum(rated) / len(rated) if rated else None,
        only_first=sorted(str(c) for n in sorted(a.keys() - b.keys()) for c in a[n]),
        only_second=sorted(str(c) for n in sorted(b.keys() - a.keys()) for c in b[n]),
    )


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable], *, weights=None) -> float:
    """Cohen's kappa of two coders over the same units; `weights` "linear" or "quadratic" for
    ordinal labels. NaN when there are no units or only one label in use (kappa is undefined)."""
    if len(first) != len(second):
        raise ValueError(
            f"{len(first)} and {len(second)} labels: the coders must rate the same units"
        )
    if not first or len(set(first) | set(second)) < 2:
        return float("nan")
    # Imported here, not at the top: scikit-learn costs a web process about 1.4 s of start-up
    # for one function that only the agreement report calls.
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(first, second, weights=weights))


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Alpha for nominal data (the `krippendorff` package); `units` holds each unit's values,
    one per coder, None = missing.

    Units with fewer than two values carry no information about agreement and are skipped.
    NaN when no unit is pairable or every pairable value is the same (no variation).
    """
    pairable = [values for unit in units if len(values := [v for v in unit if v is not None]) > 1]
    domain = sorted({value for values in pairable for value in values}, key=repr)
    if len(domain) < 2:
        return float("nan")
    index = {value: position for position, value in enumerate(domain)}
    counts = np.zeros((len(pairable), len(domain)))
    for row, values in enumerate(pairable):
        for value in values:
            counts[row, index[value]] += 1
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def frame_distance_summary(distances: Sequence[float]) -> dict[str, float]:
    """Median and 90th percentile of absolute differences, in frames or ms (NaN when none)."""
    if not distances:
        return {"n": 0, "median": float("nan"), "p90": float("nan")}
    values = np.abs(np.asarray(distances, dtype=float))
    return {
        "n": int(values.size),
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
    }


def tolerance_frames(*, tolerance_ms: float, fps: float) -> int:
    """A tolerance in milliseconds as whole frames at `fps` (5 ms = 1 frame at 200 fps)."""
    return int(np.floor(tolerance_ms * fps / 1000.0 + 1e-9))
