"""The multi-label AU head: targets from AU columns, the head and its masked loss, training."""

import numpy as np
import pytest

from mlcore.facs import AU_HEAD_UNITS, au_targets
from mlcore.synth.expressions import SUPPORTED_AUS


def _on(target: np.ndarray) -> list[int]:
    return [au for au, value in zip(AU_HEAD_UNITS, target, strict=True) if value]


def test_the_head_covers_every_au_the_synthetic_generator_draws():
    assert set(SUPPORTED_AUS) <= set(AU_HEAD_UNITS)
    assert list(AU_HEAD_UNITS) == sorted(set(AU_HEAD_UNITS))


@pytest.mark.parametrize(
    ("aus", "expected"),
    [
        ("4+L10", [4, 10]),
        ("R12B + R15", [12, 15]),
        ("AU1+AU2+5", [1, 2, 5]),
        # Laterality and intensity are ignored; a sided pair is one AU.
        ("L12A+R12C", [12]),
        # A part that is not a code is left out, the codes beside it still count.
        ("(R6 or R12)+4", [4]),
    ],
)
def test_au_targets_are_multi_hot_over_the_head_units(aus, expected):
    target, labelled = au_targets(aus)
    assert target.shape == (len(AU_HEAD_UNITS),) and target.dtype == np.float32
    assert _on(target) == expected and labelled


def test_an_au_outside_the_head_is_still_a_label_of_no_head_au():
    target, labelled = au_targets("45")
    assert not target.any() and labelled


@pytest.mark.parametrize("aus", ["", "  ", "?", "ref(7B)"])
def test_an_empty_or_unparsable_column_is_no_au_label(aus):
    target, labelled = au_targets(aus)
    assert not target.any() and not labelled
