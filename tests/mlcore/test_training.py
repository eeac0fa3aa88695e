"""Training runs on tiny blob composites: protocols, leakage, resume, CLI, final model."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mlcore.checksums import file_sha256
from mlcore.cli import main
from mlcore.composite import read_manifest
from mlcore.models import create_model
from mlcore.training import load_model, make_folds, train_run
from mlcore.training.data import InputCache, Normaliser, load_inputs
from mlcore.training.loop import TrainSettings, fit, seed_everything
from mlcore.training.metrics import score
from mlcore.training.run import RunMismatchError
from tests.mlcore.training_fixtures import TINY_FRL_DGT, make_blob_composite

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def composite(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("composite")
    make_blob_composite(
        root, subjects={"casme2": 2, "samm": 1, "smic": 1}, clips_per_class=2, unknown_apex_clips=1
    )
    return root


@pytest.fixture(scope="module")
def flow_cache(tmp_path_factory) -> Path:
    """TV-L1 inputs shared by the tests, computed once."""
    return tmp_path_factory.mktemp("input_cache")


def subject_of(clip_id: str) -> str:
    dataset, subject, _ = clip_id.split("/")
    return f"{dataset}/{subject}"


def test_no_test_subject_clip_enters_its_folds_training_or_validation(
    composite, tmp_path, flow_cache
):
    result = train_run(
        data_dir=composite,
        out_dir=tmp_path / "run",
        model_name="flow_linear",
        cache_dir=flow_cache,
        protocol="loso",
        epochs=1,
        seed=3,
        val_fraction=0.4,
        apex_policy="skip",
        train_final=False,
    )
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "run/folds").glob("*.json"))]
    assert len(records) == 4 == result.metrics["n_folds"]
    for record in records:
        test_subjects = set(record["test_subjects"])
        assert {subject_of(c) for c in record["test_clips"]} == test_subjects
        assert not test_subjects & {subject_of(c) for c in record["train_clips"]}
        assert not test_subjects & {subject_of(c) for c in record["validation_clips"]}
        validation_subjects = {subject_of(c) for c in record["validation_clips"]}
        assert validation_subjects == set(record["validation_subjects"]) and validation_subjects
        assert not validation_subjects & {subject_of(c) for c in record["train_clips"]}
    tested = sorted(c for record in records for c in record["test_clips"])
    labelled = [s for s in read_manifest(composite) if s.apex is not None]
    assert tested == sorted(f"{s.dataset}/{s.subject}/{s.clip}" for s in labelled)
    assert result.metrics["n_clips_skipped_without_apex"] == 1


def test_kfold_and_holdout_keep_subjects_on_one_side(composite):
    samples = read_manifest(composite)
    for protocol in ("kfold", "holdout"):
        folds = make_folds(samples, protocol=protocol, seed=1, k=2, test_fraction=0.25)
        for fold in folds:
            test = {samples[i].subject_key for i in fold.test}
            assert test == set(fold.test_subjects)
            assert not test & {samples[i].subject_key for i in fold.train}
    assert len(make_folds(samples, protocol="kfold", seed=1, k=2)) == 2
    with pytest.raises(ValueError, match="kfold needs 2 <= k <= 4"):
        make_folds(samples, protocol="kfold", seed=1, k=9)
    with pytest.raises(ValueError, match="unknown protocol 'lopo'"):
        make_folds(samples, protocol="lopo", seed=1)


def test_a_linear_flow_classifier_learns_the_blob_classes_under_loso(
    composite, tmp_path, flow_cache
):
    result = train_run(
        data_dir=composite,
        out_dir=tmp_path / "run",
        model_name="flow_linear",
        cache_dir=flow_cache,
        epochs=15,
        train_final=False,
    )
    assert result.metrics["pooled"]["full"]["uf1"] > 0.8


def test_frl_dgt_warm_up_learns_the_blob_motion_and_then_the_classes(composite, tmp_path):
    samples = [sample for sample in read_manifest(composite) if sample.apex is not None]
    seed_everything(0)
    model = create_model("frl_dgt", **{**TINY_FRL_DGT, "ssl_warmup_steps": 100})
    spec = model.input_spec
    raw = load_inputs(
        root=composite,
        samples=samples,
        apexes=[sample.apex for sample in samples],
        spec=spec,
        cache=InputCache(tmp_path),
    )
    inputs = Normaliser.fit(raw, spec).apply(raw)
    labels = np.array([sample.label for sample in samples])
    history = fit(
        model,
        inputs=inputs,
        labels=labels,
        settings=TrainSettings(epochs=8),
        device=torch.device("cpu"),
        seed=0,
    )
    warm_up = history.warmup_losses
    assert len(warm_up) == 100 and np.mean(warm_up[-10:]) < 0.8 * np.mean(warm_up[:10])
    model.eval()
    with torch.no_grad():
        surprise = model.displacement(torch.from_numpy(inputs[labels == 2]))
        predicted = model(torch.from_numpy(inputs)).argmax(1).numpy()
    # Surprise raises the blobs above both eyes (rows ~7..10 of 32): the backward warp that
    # turns onset into apex fetches from below, so dy there is clearly positive (pixels).
    assert float(surprise[:, 1, 6:11, 8:14].mean()) > 0.3
    assert float(surprise[:, 1, 6:11, 18:24].mean()) > 0.3
    # Without the warm-up the classifier stayed at one class with a flat loss (docs/frl-dgt.md).
    assert history.epoch_losses[-1] < history.epoch_losses[0]
    assert len(set(predicted)) > 1 and score(labels, predicted, num_classes=3).uar > 0.5


def test_resume_after_a_crash_gives_the_same_metrics(composite, tmp_path):
    settings = dict(
        data_dir=composite,
        model_name="frl_dgt",
        model_options=TINY_FRL_DGT,
        epochs=1,
        seed=7,
        cache_dir=tmp_path / "cache",
    )
    whole = train_run(out_dir=tmp_path / "whole", **settings)

    def crash_in_fold_3(fold, n_folds, epoch, n_epochs, loss):
        assert n_folds == 5 and n_epochs == 1  # 4 LOSO folds + the final model
        if fold == 3:
            raise KeyboardInterrupt("worker killed")

    with pytest.raises(KeyboardInterrupt):
        train_run(out_dir=tmp_path / "crashed", progress=crash_in_fold_3, **settings)
    assert sorted(p.name for p in (tmp_path / "crashed/folds").iterdir()) == [
        "fold_000.json",
        "fold_001.json",
    ]
    resumed = train_run(out_dir=tmp_path / "crashed", **settings)
    assert resumed.folds_resumed == 2
    for key in ("pooled", "confusion_matrix", "per_fold"):
        assert resumed.metrics[key] == whole.metrics[key]
    assert resumed.metrics["final_model"]["sha256"] != ""


def test_a_run_folder_of_another_run_is_refused(composite, tmp_path, flow_cache):
    train_run(data_dir=composite, out_dir=tmp_path, model_name="flow_linear",
        cache_dir=flow_cache, epochs=1,
              train_final=False)  # fmt: skip
    with pytest.raises(RunMismatchError, match="differs in epochs"):
        train_run(data_dir=composite, out_dir=tmp_path, model_name="flow_linear",
        cache_dir=flow_cache, epochs=2,
                  train_final=False)  # fmt: skip


def test_proposed_apexes_let_clips_without_apex_train(composite, tmp_path, flow_cache):
    result = train_run(
        data_dir=composite,
        out_dir=tmp_path,
        model_name="flow_linear",
        cache_dir=flow_cache,
        epochs=1,
        train_final=False,
    )
    # Proposing is the default, and metrics.json says so.
    assert result.metrics["apex_policy"] == "propose"
    assert result.metrics["n_clips"] == 24 and result.metrics["n_clips_skipped_without_apex"] == 0
    (proposal,) = result.metrics["proposed_apexes"]
    assert 0.0 <= proposal["confidence"] <= 1.0


def test_smoke_loso_via_the_cli_writes_metrics_checkpoints_plots_and_final_model(
    composite, tmp_path, capsys
):
    out = tmp_path / "run"
    options = [f"--model-option={key}={value}" for key, value in TINY_FRL_DGT.items()]
    argv = ["train", "--data", str(composite), "--model", "frl_dgt", "--out", str(out)]
    assert main([*argv, "--preset", "gpu", "--epochs", "2", "--device", "cpu", *options]) == 0
    assert "frl_dgt loso (gpu preset): UF1" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    full = metrics["pooled"]["full"]
    # By default the clip without an apex gets a proposed one and is scored with the rest.
    assert metrics["apex_policy"] == "propose" and len(metrics["proposed_apexes"]) == 1
    assert full["n"] == 24 and 0.0 <= full["uf1"] <= 1.0 and 0.0 <= full["uar"] <= 1.0
    assert set(metrics["pooled"]) == {"full", "casme2", "samm", "smic"}
    assert np.array(metrics["confusion_matrix"]).sum() == 24
    assert len(metrics["per_fold"]) == 4 and "per-fold" in metrics["per_fold_note"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        f"fold_{i:03d}.pt" for i in range(4)
    ]
    for plot in ("confusion.png", "per_fold.png", "losses.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
    assert metrics["final_model"]["sha256"] == file_sha256(out / "final.pt")
    loaded = load_model(out / "final.pt")
    assert loaded.class_names == ["negative", "positive", "surprise"]
    assert loaded.model.config_dict()["embed_dim"] == TINY_FRL_DGT["embed_dim"]
    batch = loaded.to_batch(np.zeros((2, 2, 32, 32), dtype=np.float32))
    assert loaded.model(batch).shape == (2, 3)


def test_cli_reports_bad_input_clearly(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--model", "ststnet", "--out", "x"]) == 2
    assert "manifest.csv not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--data", str(tmp_path), "--model", "nope", "--out", "x"])


def test_ablate_cli_tabulates_variants_beside_the_papers_numbers(composite, tmp_path, capsys):
    tiny = {key: value for key, value in TINY_FRL_DGT.items() if key != "image_size"}
    options = [f"--model-option={key}={value}" for key, value in tiny.items()]
    argv = ["ablate", "--data", str(composite), "--out", str(tmp_path), "--epochs", "1",
            "--image-size", str(TINY_FRL_DGT["image_size"])]  # fmt: skip
    assert main([*argv, "--protocol", "kfold", "--folds", "2", "--only", "M0", "M9", "STSTNet",
                 *options]) == 0  # fmt: skip
    table = (tmp_path / "ablation.md").read_text()
    assert "| M9 | full FRL-DGT |" in table and "(0.812)" in table and "(0.735)" in table
    rows = json.loads((tmp_path / "ablation.json").read_text())["rows"]
    assert [row["id"] for row in rows] == ["M0", "M9", "STSTNet"]
    assert rows[1]["model_options"] == TINY_FRL_DGT
    assert rows[2]["model_options"] == {"flow_size": 32}
    assert all(row["n_folds"] == 2 and 0 <= row["scores"]["full"]["uf1"] <= 1 for row in rows)
