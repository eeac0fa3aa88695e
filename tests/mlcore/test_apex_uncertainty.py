"""Apex proposals for clips without an apex, and MC-dropout uncertainty for active learning."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mlcore.cli import main
from mlcore.models import create_model
from mlcore.training import evaluate_apex, predict_with_uncertainty, propose_apex, save_checkpoint
from mlcore.training.checkpoints import load_model
from mlcore.training.data import Normaliser
from tests.mlcore.training_fixtures import TINY_FRL_DGT, make_blob_composite

torch.set_num_threads(2)


def blob_clip(intensities: list[float], *, size: int = 48, seed: int = 0) -> list[np.ndarray]:
    """A textured face-sized patch whose blob moves ``intensity`` x 4 px to the right."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.normal(120, 30, (size, size)).astype(np.float32), (0, 0), 3)
    yy, xx = np.mgrid[0:size, 0:size]
    frames = []
    for intensity in intensities:
        cx = size / 2 + 4 * intensity
        blob = 80 * np.exp(-((xx - cx) ** 2 + (yy - size / 2) ** 2) / (2 * 3.0**2))
        noise = rng.normal(0, 1.0, (size, size))
        frames.append(np.clip(base + blob + noise, 0, 255).astype(np.uint8))
    return frames


def test_the_proposed_apex_is_the_frame_of_largest_motion():
    profile = [0, 0.1, 0.3, 0.6, 0.9, 1.0, 0.8, 0.5, 0.2, 0.1, 0.0]
    proposal = propose_apex(blob_clip(profile), 0)
    assert abs(proposal.frame - 5) <= 1
    assert proposal.scores.shape == (11,) and proposal.scores[0] == 0.0
    assert proposal.confidence > 0.5


def test_a_motionless_clip_gets_a_low_confidence():
    proposal = propose_apex(blob_clip([0.0] * 11), 0)
    # Sensor noise alone: 0.41-0.64 over blob seeds 0-7 (a sharp peak: 0.999).
    assert proposal.confidence < 0.7
    peaked = propose_apex(blob_clip([0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 0]), 0, smoothing=1)
    assert peaked.frame == 5 and peaked.confidence > proposal.confidence


def test_frames_before_the_onset_are_never_proposed():
    profile = [1.0, 0.9, 0.0, 0.2, 0.5, 0.3, 0.1]  # motion before the onset at index 2
    proposal = propose_apex(blob_clip(profile), 2)
    assert proposal.frame == 4


def test_bad_arguments_are_reported():
    frames = blob_clip([0, 1])
    with pytest.raises(ValueError, match="onset_index 5 outside the 2 frames"):
        propose_apex(frames, 5)
    with pytest.raises(ValueError, match="unknown apex method 'magic'"):
        propose_apex(frames, 0, method="magic")
    with pytest.raises(ValueError, match="needs a trained model"):
        propose_apex(frames, 0, method="dgm")


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("long_clips")
    make_blob_composite(
        root, subjects={"casme2": 1, "smic": 1}, frames=9, fps=100.0, unknown_apex_clips=2
    )
    return root


def test_apex_error_on_clips_with_known_apex_in_frames_and_ms(long_clips):
    evaluation = evaluate_apex(long_clips)
    assert evaluation.n_clips == 10
    assert evaluation.mean_abs_error_frames <= 1.0
    # 100 fps: one frame is 10 ms.
    assert evaluation.mean_abs_error_ms == pytest.approx(10.0 * evaluation.mean_abs_error_frames)
    assert {row["clip"].split("/")[0] for row in evaluation.clips} == {"casme2", "smic"}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = create_model("frl_dgt", **{**TINY_FRL_DGT, "dropout": 0.3})
    normaliser = Normaliser(mean=(0.4, 0.4), std=(0.2, 0.2))
    path = tmp_path_factory.mktemp("model") / "final.pt"
    return save_checkpoint(
        path,
        model_name="frl_dgt",
        model=model,
        class_names=["negative", "positive", "surprise"],
        normaliser=normaliser,
    )


def test_dgm_scores_use_the_models_displacement(tiny_checkpoint):
    loaded = load_model(tiny_checkpoint)
    proposal = propose_apex(blob_clip([0, 0.5, 1.0, 0.5]), 0, method="dgm", model=loaded)
    assert 0 <= proposal.frame <= 3 and 0 <= proposal.confidence <= 1
    assert proposal.scores[0] == 0.0 and np.all(proposal.scores >= 0)


def test_uncertainty_scores_have_their_ranges_and_bald_needs_dropout():
    torch.manual_seed(0)
    batch = torch.randn(5, 2, 32, 32)
    model = create_model("frl_dgt", **{**TINY_FRL_DGT, "dropout": 0.5})
    model.train()
    result = predict_with_uncertainty(model, batch, mc_samples=8)
    assert model.training  # mode restored
    assert result.probabilities.shape == (5, 3)
    assert np.allclose(result.probabilities.sum(1), 1.0, atol=1e-5)
    assert np.all(result.entropy >= 0) and np.all(result.entropy <= np.log(3) + 1e-6)
    assert np.all((result.margin >= 0) & (result.margin <= 1))
    assert np.all(result.bald >= 0) and result.bald.max() > 1e-4
    assert np.all(result.bald <= result.entropy + 1e-6)
    model.eval()
    with torch.no_grad():
        assert np.allclose(result.embeddings, model.forward_features(batch).numpy(), atol=1e-5)
    again = predict_with_uncertainty(model, batch, mc_samples=8)
    assert np.array_equal(again.bald, result.bald)  # seeded

    no_dropout = create_model("frl_dgt", **{**TINY_FRL_DGT, "dropout": 0.0})
    certain = predict_with_uncertainty(no_dropout, batch, mc_samples=4)
    assert np.allclose(certain.bald, 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 samples"):
        predict_with_uncertainty(model, batch, mc_samples=1)


def test_propose_cli_writes_apexes_errors_uncertainty_and_embeddings(
    long_clips, tiny_checkpoint, tmp_path, capsys
):
    out = tmp_path / "proposals.json"
    argv = ["propose", "--data", str(long_clips), "--out", str(out)]
    assert main([*argv, "--model", str(tiny_checkpoint), "--mc-samples", "3"]) == 0
    assert "2 apex proposals" in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert len(report["proposals"]) == 2
    for proposal in report["proposals"]:
        assert 0 <= proposal["confidence"] <= 1
        interval = proposal["interval"]
        assert interval["onset"] <= interval["apex"] <= interval["offset"]
        assert 0 <= interval["confidence"] <= 1
    assert report["apex_evaluation"]["n_clips"] == 10
    assert len(report["uncertainty"]) == 12
    assert sum(row["apex_proposed"] for row in report["uncertainty"]) == 2
    embeddings = np.load(tmp_path / report["embeddings"])
    assert embeddings.shape == (12, 32)
