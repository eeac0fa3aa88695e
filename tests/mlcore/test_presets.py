"""Training presets (cpu / gpu / auto), early stopping and warm starts on tiny blob composites."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mlcore.cli import main
from mlcore.models import create_model
from mlcore.presets import PRESETS, UnknownPresetError, resolve_preset
from mlcore.training import train_run
from mlcore.training.loop import TrainSettings, fit, seed_everything
from mlcore.training.warm_start import WarmStartError
from tests.mlcore.training_fixtures import TINY_FRL_DGT, make_blob_composite

torch.set_num_threads(2)

# The tiny FRL-DGT without the two fields the cpu preset sets, so that the preset's own apply.
TINY_BODY = {
    key: value
    for key, value in TINY_FRL_DGT.items()
    if key not in ("image_size", "ssl_warmup_steps")
}


def subject_of(clip_id: str) -> str:
    dataset, subject, _ = clip_id.split("/")
    return f"{dataset}/{subject}"


@pytest.fixture(scope="module")
def three_subjects(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("three")
    make_blob_composite(root, subjects={"casme2": 3}, clips_per_class=1, seed=4)
    return root


@pytest.fixture(scope="module")
def four_subjects(tmp_path_factory) -> Path:
    """The three subjects above (same seed, same clips) and a fourth, new one."""
    root = tmp_path_factory.mktemp("four")
    make_blob_composite(root, subjects={"casme2": 4}, clips_per_class=1, seed=4)
    return root


def parameters(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's learnt parameters (batch-norm running statistics left out)."""
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return {
        key: value
        for key, value in state.items()
        if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))
    }


def largest_difference(first: dict, second: dict) -> float:
    assert first.keys() == second.keys()
    return max(float((first[key] - second[key]).abs().max()) for key in first)


def test_auto_is_cpu_without_cuda_and_gpu_with_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_preset("auto") is PRESETS["cpu"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_preset("auto") is PRESETS["gpu"]
    with pytest.raises(UnknownPresetError, match="choose one of auto, gpu, cpu"):
        resolve_preset("tpu")


def test_the_cpu_preset_shrinks_frl_dgt_only_and_explicit_options_win():
    cpu = PRESETS["cpu"]
    assert cpu.model_options("frl_dgt") == {"image_size": 48, "ssl_warmup_steps": 40}
    assert cpu.model_options("frl_dgt_m3", {"image_size": 64})["image_size"] == 64
    assert cpu.model_options("ststnet") == {}
    assert PRESETS["gpu"].model_options("frl_dgt") == {}
    assert create_model("frl_dgt", **cpu.model_options("frl_dgt")).input_spec.size == 48


def test_early_stopping_stops_patience_epochs_after_the_best_validation_epoch():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(24, 3, 16, 16)).astype(np.float32)
    labels = np.tile([0, 1, 2], 8)
    # Validation labels unrelated to anything learnable: the score stops improving early.
    validation = (rng.normal(size=(9, 3, 16, 16)).astype(np.float32), np.tile([0, 1, 2], 3))
    seed_everything(0)
    model = create_model("flow_linear", image_size=16)
    history = fit(
        model,
        inputs=inputs,
        labels=labels,
        settings=TrainSettings(epochs=40, patience=3),
        device=torch.device("cpu"),
        seed=0,
        validation=validation,
    )
    assert len(history.epoch_losses) == history.selected_epoch + 3 < 40
    assert (
        len(history.validation_uf1) == len(history.validation_losses) == len(history.epoch_losses)
    )
    with pytest.raises(ValueError, match="patience must be at least 1"):
        TrainSettings(patience=0)


def test_the_cpu_preset_trains_end_to_end_and_stops_on_training_subjects_only(tmp_path):
    make_blob_composite(tmp_path / "data", subjects={"casme2": 3}, clips_per_class=1, seed=4)
    # At most 12 epochs, not the preset's 30, to keep the test short on two shared cores.
    result = train_run(
        data_dir=tmp_path / "data",
        out_dir=tmp_path / "run",
        model_name="frl_dgt",
        preset="cpu",
        model_options=TINY_BODY,
        epochs=12,
        seed=1,
    )
    metrics = result.metrics
    assert metrics["preset"] == "cpu" and metrics["input"]["size"] == 48
    assert metrics["model_options"]["ssl_warmup_steps"] == 40
    settings = json.loads((tmp_path / "run/run.json").read_text())
    assert settings["preset"] == "cpu" and settings["patience"] == 4
    assert settings["val_fraction"] == 0.25 and settings["warm_start"] is None
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "run/folds").glob("*.json"))]
    assert len(records) == 3
    for record in records:
        test_subjects = set(record["test_subjects"])
        validation_subjects = {subject_of(clip) for clip in record["validation_clips"]}
        training_subjects = {subject_of(clip) for clip in record["train_clips"]}
        # The epoch is chosen on held-out training subjects, never on the fold's test subjects.
        assert validation_subjects == set(record["validation_subjects"]) and validation_subjects
        assert not validation_subjects & (test_subjects | training_subjects)
        assert len(record["validation_uf1"]) == record["epochs_run"]
        assert record["epochs_run"] in (record["selected_epoch"] + 4, 12)
        assert record["start"] == "scratch" and record["warmup_steps"] == 40
    # One training subject per fold: some fold stops improving on its validation subject early.
    assert min(record["epochs_run"] for record in records) < 12
    assert 0.0 <= metrics["pooled"]["full"]["uf1"] <= 1.0
    assert result.final_model_path.is_file()


def test_a_warm_start_loads_the_previous_weights_where_no_test_subject_was_seen(
    three_subjects, four_subjects, tmp_path
):
    common = {"model_name": "frl_dgt", "preset": "gpu", "model_options": TINY_FRL_DGT, "seed": 2}
    previous = train_run(data_dir=three_subjects, out_dir=tmp_path / "a", epochs=3, **common)
    final = previous.final_model_path
    # A learning rate this small leaves the weights where training started, so the checkpoint
    # a run writes shows which weights it started from.
    still = {"epochs": 1, "learning_rate": 1e-12, **common}
    warm = train_run(data_dir=four_subjects, out_dir=tmp_path / "b", warm_start=final, **still)
    train_run(data_dir=four_subjects, out_dir=tmp_path / "c", **still)

    starts = {fold["test_subjects"][0]: fold["start"] for fold in warm.metrics["per_fold"]}
    # The previous final model saw s01..s03: only the fold testing the new s04 may start from
    # it; the others start from the previous run's fold that held their subject out.
    assert starts == {
        "casme2/s01": "warm start fold 000",
        "casme2/s02": "warm start fold 001",
        "casme2/s03": "warm start fold 002",
        "casme2/s04": "warm start",
    }
    assert largest_difference(parameters(tmp_path / "b/final.pt"), parameters(final)) < 1e-6
    assert largest_difference(parameters(tmp_path / "c/final.pt"), parameters(final)) > 1e-2
    for index in range(3):
        fold = f"checkpoints/fold_{index:03d}.pt"
        assert (
            largest_difference(parameters(tmp_path / "b" / fold), parameters(tmp_path / "a" / fold))
            < 1e-6
        )
    assert (
        largest_difference(parameters(tmp_path / "b/checkpoints/fold_003.pt"), parameters(final))
        < 1e-6
    )
    settings = json.loads((tmp_path / "b/run.json").read_text())
    assert settings["warm_start"]["path"] == str(final)
    assert len(settings["warm_start"]["sha256"]) == 64
    assert warm.metrics["warm_start"] == str(final)
    # A warm start skips the self-supervised warm-up: the weights have learnt it already.
    for run, steps in (("b", 0), ("c", TINY_FRL_DGT["ssl_warmup_steps"])):
        folds = sorted((tmp_path / run / "folds").glob("*.json"))
        assert {json.loads(path.read_text())["warmup_steps"] for path in folds} == {steps}


def test_a_checkpoint_of_another_model_or_input_is_refused(three_subjects, tmp_path):
    other = train_run(
        data_dir=three_subjects,
        out_dir=tmp_path / "linear",
        model_name="flow_linear",
        preset="gpu",
        epochs=1,
    )
    with pytest.raises(WarmStartError, match="holds a flow_linear model"):
        train_run(
            data_dir=three_subjects,
            out_dir=tmp_path / "dgt",
            model_name="frl_dgt",
            preset="gpu",
            model_options=TINY_FRL_DGT,
            warm_start=other.final_model_path,
        )
    with pytest.raises(WarmStartError, match=r"its input .* differs"):
        train_run(
            data_dir=three_subjects,
            out_dir=tmp_path / "bigger",
            model_name="flow_linear",
            preset="gpu",
            model_options={"image_size": 32},
            warm_start=other.final_model_path,
        )
    with pytest.raises(WarmStartError, match="not found"):
        train_run(
            data_dir=three_subjects,
            out_dir=tmp_path / "missing",
            model_name="flow_linear",
            warm_start=tmp_path / "nope.pt",
        )


def test_the_cli_takes_a_preset_and_a_warm_start(three_subjects, tmp_path, capsys):
    argv = ["train", "--data", str(three_subjects), "--model", "flow_linear", "--epochs", "1"]
    assert main([*argv, "--preset", "cpu", "--out", str(tmp_path / "a")]) == 0
    assert "flow_linear loso (cpu preset): UF1" in capsys.readouterr().out
    warm = ["--warm-start", str(tmp_path / "a/final.pt"), "--out", str(tmp_path / "b")]
    assert main([*argv, "--preset", "cpu", *warm]) == 0
    assert json.loads((tmp_path / "b/run.json").read_text())["warm_start"] is not None
    bad = ["--warm-start", str(tmp_path / "a/final.pt"), "--out", str(tmp_path / "c")]
    assert main(["train", "--data", str(three_subjects), "--model", "ststnet", *bad]) == 2
    assert "holds a flow_linear model" in capsys.readouterr().err
