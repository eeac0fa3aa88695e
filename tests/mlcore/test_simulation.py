"""The active-learning simulation: end to end through the CLI on a tiny synthetic composite, and
its numbers (area under the curve, labels to 95%) on hand-made curves."""

import json

import pytest

from mlcore.cli import main
from mlcore.training.simulation import LoopSettings, summarise

TINY = [
    "--subjects", "6", "--clips-per-subject", "3", "--frames", "12", "--crop-size", "32",
    "--model-option", "flow_size=32", "--model-option", "image_size=16",
    "--seeds", "0", "1", "--initial-labels", "3", "--labels-per-round", "3", "--rounds", "2",
    "--epochs", "2", "--mc-samples", "3", "--threads", "1",
]  # fmt: skip


def test_simulate_loop_runs_end_to_end_and_never_chooses_a_heldout_subject(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate-loop", "--out", str(out), *TINY]) == 0
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = json.loads((out / "simulation.json").read_text())
    assert "platform" in capsys.readouterr().out

    assert result["n_clips"] == 18 and result["settings"]["label_schedule"] == [3, 6, 9]
    assert [run["seed"] for run in result["runs"]] == [0, 1]
    for run in result["runs"]:
        heldout = set(run["heldout_subjects"])
        assert len(heldout) == 2  # a quarter of 6 subjects, rounded
        initial = run["initial_clips"]
        # The seed is spread over subjects: 3 clips from 3 different pool subjects.
        assert len({clip.rsplit("/", 1)[0] for clip in initial}) == 3
        assert not heldout & {clip.rsplit("/", 1)[0] for clip in initial}
        assert set(run["strategies"]) == {"random", "entropy", "margin", "bald", "platform"}
        for name, strategy in run["strategies"].items():
            assert [point["labels"] for point in strategy["curve"]] == [3, 6, 9], name
            assert all(0.0 <= point["uf1"] <= 1.0 for point in strategy["curve"])
            chosen = [clip for step in strategy["selections"] for clip in step["clips"]]
            assert [step["round"] for step in strategy["selections"]] == [1, 2]
            assert len(chosen) == 6 and len(set(chosen + initial)) == 9, name
            subjects = {subject for step in strategy["selections"] for subject in step["subjects"]}
            assert not heldout & subjects, (name, heldout, subjects)
    summary = result["summary"]
    assert set(summary["strategies"]) == set(result["runs"][0]["strategies"])
    assert summary["goal"]["verdict"]


def test_a_schedule_larger_than_the_pool_is_refused(tmp_path, capsys):
    arguments = [*TINY, "--rounds", "9"]  # the last one counts: 3 + 9 x 3 labels > 12 clips
    assert main(["simulate-loop", "--out", str(tmp_path / "sim"), *arguments]) == 2
    assert "use fewer rounds or a larger composite" in capsys.readouterr().err


def test_settings_refuse_unknown_strategies_and_repeated_seeds():
    with pytest.raises(ValueError, match="unknown strategies"):
        LoopSettings(strategies=("random", "coreset"))
    with pytest.raises(ValueError, match="seeds repeat"):
        LoopSettings(seeds=(1, 1))


def curve(*uf1s, start=10, step=10):
    return [{"labels": start + i * step, "uf1": u, "uar": u} for i, u in enumerate(uf1s)]


def test_area_under_the_curve_and_labels_to_95_percent():
    runs = [
        {
            "whole_pool": {"labels": 100, "uf1": 0.8, "uar": 0.8},
            "strategies": {
                "random": {"curve": curve(0.2, 0.4, 0.6, 0.78)},  # 95% of 0.8 = 0.76: at 40
                "platform": {"curve": curve(0.2, 0.77, 0.8, 0.8)},  # at 20
            },
        },
        {
            "whole_pool": {"labels": 100, "uf1": 0.6, "uar": 0.6},
            "strategies": {
                "random": {"curve": curve(0.2, 0.3, 0.58, 0.6)},  # 0.57: at 30
                "platform": {"curve": curve(0.2, 0.3, 0.4, 0.5)},  # never
            },
        },
    ]
    summary = summarise(runs=runs, strategies=("random", "platform"), schedule=[10, 20, 30, 40])
    random_, platform = summary["strategies"]["random"], summary["strategies"]["platform"]
    # Trapezoids over 30 labels: (0.3 + 0.5 + 0.69) x 10 / 30.
    assert random_["aulc_uf1_per_seed"][0] == pytest.approx(1.49 / 3)
    assert random_["labels_to_95_per_seed"] == [40, 30]
    assert random_["labels_to_95"]["mean"] == 35
    assert platform["labels_to_95_per_seed"] == [20, None]
    assert platform["labels_to_95"] is None and platform["labels_to_95_over_random"] is None
    assert summary["goal"]["goal_met"] is False
    assert summary["goal"]["verdict"].startswith("undecided")

    runs[1]["strategies"]["platform"]["curve"] = curve(0.2, 0.57, 0.6, 0.6)  # at 20
    summary = summarise(runs=runs, strategies=("random", "platform"), schedule=[10, 20, 30, 40])
    ratio = summary["goal"]["labels_ratio_platform_over_random"]
    assert ratio["mean"] == pytest.approx((20 / 40 + 20 / 30) / 2)
    assert summary["goal"]["goal_met"] is True
