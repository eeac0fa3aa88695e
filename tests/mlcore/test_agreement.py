import math

import pytest
from sklearn.metrics import cohen_kappa_score

from mlcore.agreement import (
    au_agreement,
    cohen_kappa,
    ekman_friesen_ratio,
    frame_distance_summary,
    krippendorff_alpha_nominal,
    tolerance_frames,
)
from mlcore.facs import parse_au_string


def test_ekman_friesen_ratio():
    assert ekman_friesen_ratio({1, 2, 12}, {1, 12, 15}) == pytest.approx(2 * 2 / 6)
    assert ekman_friesen_ratio(set(), set()) == 1.0
    assert ekman_friesen_ratio({4}, set()) == 0.0


def test_cohen_kappa_matches_sklearn_and_handles_degenerate_input():
    a = ["neg", "pos", "neg", "sur", "neg", "pos"]
    b = ["neg", "pos", "pos", "sur", "neg", "neg"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    ordinal_a, ordinal_b = [1, 2, 3, 4, 5, 3], [1, 3, 3, 5, 5, 2]
    assert cohen_kappa(ordinal_a, ordinal_b, weights="quadratic") == pytest.approx(
        cohen_kappa_score(ordinal_a, ordinal_b, weights="quadratic")
    )
    assert math.isnan(cohen_kappa(["a", "a"], ["a", "a"]))
    with pytest.raises(ValueError, match="same units"):
        cohen_kappa(["a"], ["a", "b"])


def test_krippendorff_alpha_known_example():
    # Krippendorff (2011), nominal example: 4 coders, 12 units, missing values; alpha = 0.743.
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = list(zip(*data, strict=True))
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=0.001)


def test_krippendorff_alpha_perfect_and_undefined():
    assert krippendorff_alpha_nominal([("a", "a"), ("b", "b")]) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha_nominal([("a", "a"), ("a", None)]))
    assert math.isnan(krippendorff_alpha_nominal([("a", None)]))


def test_frame_distances_and_tolerance():
    summary = frame_distance_summary([0, -1, 2, 3, 10])
    assert summary == {"n": 5, "median": 2.0, "p90": pytest.approx(7.2)}
    assert tolerance_frames(tolerance_ms=5, fps=200) == 1
    assert tolerance_frames(tolerance_ms=10, fps=100) == 1
    assert tolerance_frames(tolerance_ms=10, fps=200) == 2


@pytest.mark.parametrize(
    ("first", "second", "number", "laterality", "intensity"),
    [
        # R12B vs 12B: the same AU, sides differ, intensity given by one only.
        ("R12B", "12", 1.0, 0.0, None),
        # 10C vs L10B: the same AU; sides and intensity both differ.
        ("10C", "L10B", 1.0, 0.0, 0.0),
        ("6B+12C", "6B+12D", 1.0, 1.0, 0.5),
        ("4", "7", 0.0, None, None),
        ("L12+R12", "12", 1.0, 0.0, None),
    ],
)
def test_au_agreement_reports_number_sides_and_intensity_apart(
    first, second, number, laterality, intensity
):
    parts = au_agreement(parse_au_string(first), parse_au_string(second))
    assert (parts.number, parts.laterality, parts.intensity) == (number, laterality, intensity)


def test_au_agreement_lists_the_aus_only_one_coder_scored():
    parts = au_agreement(parse_au_string("6B+R12C"), parse_au_string("R12D+14"))
    assert (parts.only_first, parts.only_second) == (["6B"], ["14"])
