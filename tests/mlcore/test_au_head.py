"""The multi-label AU head: targets from AU columns, the head and its masked loss, training."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mlcore.composite import read_manifest, write_manifest
from mlcore.facs import AU_HEAD_UNITS, au_targets
from mlcore.models import create_model
from mlcore.models.frl_dgt import au_loss
from mlcore.synth.expressions import SUPPORTED_AUS
from mlcore.training import load_model, save_checkpoint, train_run
from mlcore.training.data import InputCache, Normaliser, load_inputs
from mlcore.training.loop import TrainSettings, fit, predict_au_probabilities, predict_logits
from mlcore.training.uncertainty import clip_uncertainties
from tests.mlcore.training_fixtures import TINY_FRL_DGT, make_blob_composite

torch.set_num_threads(2)


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


def _tiny(**options: object):
    torch.manual_seed(0)
    return create_model("frl_dgt", **{**TINY_FRL_DGT, **options})


def test_the_au_head_gives_one_logit_per_head_au_beside_the_class_logits():
    model = _tiny(au_head=True).eval()
    with torch.no_grad():
        logits, au_logits = model.forward_with_aus(torch.randn(3, 2, 32, 32))
        plain = model(torch.randn(3, 2, 32, 32))
    assert logits.shape == plain.shape == (3, 3)
    assert au_logits.shape == (3, len(AU_HEAD_UNITS))


def test_without_the_option_the_model_has_no_au_head_and_its_weights_are_unchanged():
    plain, with_head = _tiny(), _tiny(au_head=True)
    assert not plain.predicts_aus and with_head.predicts_aus
    extra = set(with_head.state_dict()) - set(plain.state_dict())
    assert extra and all(key.startswith(("au_head.", "au_norm.")) for key in extra)
    assert set(plain.state_dict()) <= set(with_head.state_dict())
    with pytest.raises(ValueError, match="no AU head"):
        plain.forward_with_aus(torch.randn(2, 2, 32, 32))


def test_au_weight_must_not_be_negative():
    with pytest.raises(ValueError, match="au_weight"):
        _tiny(au_head=True, au_weight=-1.0)


def test_masked_clips_contribute_nothing_to_the_au_loss():
    au_logits = torch.randn(4, len(AU_HEAD_UNITS), requires_grad=True)
    targets = torch.zeros(4, len(AU_HEAD_UNITS))
    targets[0, 2] = targets[1, 8] = 1.0
    labelled = torch.tensor([True, True, False, False])
    loss = au_loss(au_logits, targets, labelled)
    assert torch.allclose(loss, au_loss(au_logits[:2], targets[:2], labelled[:2]))
    loss.backward()
    assert au_logits.grad[2:].abs().sum() == 0 and au_logits.grad[:2].abs().sum() > 0
    # Whatever an unlabelled clip's logits say, the loss is the same.
    changed = au_logits.detach().clone()
    changed[2:] = 50.0
    assert torch.allclose(au_loss(changed, targets, labelled), loss.detach())


def test_a_batch_without_au_labels_has_zero_au_loss():
    au_logits = torch.randn(2, len(AU_HEAD_UNITS), requires_grad=True)
    loss = au_loss(au_logits, torch.ones(2, len(AU_HEAD_UNITS)), torch.tensor([False, False]))
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert au_logits.grad.abs().sum() == 0


def test_the_au_loss_decreases_on_a_toy_batch():
    model = _tiny(au_head=True, self_supervised=False, dropout=0.0)
    inputs = torch.randn(6, 2, 32, 32)
    targets = torch.from_numpy(np.stack([au_targets(a)[0] for a in ["4", "12", "1+2"] * 2]))
    labelled = torch.ones(6, dtype=torch.bool)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        _, au_logits = model.forward_with_aus(inputs)
        loss = au_loss(au_logits, targets, labelled)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_forward_train_aus_adds_the_weighted_au_loss_to_the_auxiliary_loss():
    model = _tiny(au_head=True, au_weight=2.0).eval()
    inputs = torch.randn(2, 2, 32, 32)
    targets = torch.zeros(2, len(AU_HEAD_UNITS))
    labelled = torch.tensor([True, False])
    with torch.no_grad():
        _, plain = model.forward_train(inputs)
        _, au_logits = model.forward_with_aus(inputs)
        _, auxiliary = model.forward_train_aus(inputs, au_targets=targets, au_labelled=labelled)
    expected = plain + 2.0 * au_loss(au_logits, targets, labelled)
    assert torch.allclose(auxiliary, expected, atol=1e-6)


# Blob classes with AUs that follow the class, as a coder would write them; the first clip of
# each class of every subject is left uncoded, so training and scoring must skip it.
BLOB_AUS = {0: "4+L10", 1: "R12B", 2: "1+2"}


@pytest.fixture(scope="module")
def au_composite(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("au_composite")
    samples = make_blob_composite(root, subjects={"casme2": 2, "samm": 1}, clips_per_class=3)
    coded = [
        replace(sample, aus="" if sample.clip.endswith("_0") else BLOB_AUS[sample.label])
        for sample in samples
    ]
    write_manifest(root, coded)
    return root


def test_a_run_with_the_au_head_reports_per_au_f1_over_the_au_labelled_test_clips(
    au_composite, tmp_path
):
    result = train_run(
        data_dir=au_composite,
        out_dir=tmp_path / "run",
        model_name="frl_dgt",
        preset="cpu",
        model_options={**TINY_FRL_DGT, "au_head": True},
        epochs=25,
        val_fraction=0.0,
        learning_rate=3e-3,
        apex_policy="skip",
        cache_dir=tmp_path / "cache",
    )
    au = result.metrics["au"]
    samples = read_manifest(au_composite)
    labelled = [s for s in samples if s.aus]
    assert au["units"] == list(AU_HEAD_UNITS)
    assert au["n_clips"] == len(labelled) and au["n_clips_without_au_label"] == len(samples) - len(
        labelled
    )
    per_au = au["per_au"]
    assert set(per_au) == {f"AU{unit}" for unit in AU_HEAD_UNITS}
    # Support counts the coded test clips only: 6 per class (3 subjects x 2 coded clips).
    for unit in (1, 2, 4, 10, 12):
        assert per_au[f"AU{unit}"]["support"] == 6
    assert per_au["AU26"]["support"] == 0
    scored = [entry["f1"] for entry in per_au.values() if entry["f1"] is not None]
    assert au["mean_f1"] == pytest.approx(float(np.mean(scored)))
    # AUs follow the class here, so the head learns them better than chance (F1 of always-on
    # is 2 * 6 / (6 + 18) = 0.5 for each coded AU).
    assert np.mean([per_au[f"AU{unit}"]["f1"] for unit in (1, 2, 4, 10, 12)]) > 0.6
    fold = json.loads((tmp_path / "run/folds/fold_000.json").read_text())
    assert np.array(fold["au_probabilities"]).shape == (len(fold["test_clips"]), len(AU_HEAD_UNITS))
    final = load_model(result.final_model_path)
    assert final.model.predicts_aus


def test_a_run_without_the_au_head_reports_no_au_scores(au_composite, tmp_path):
    result = train_run(
        data_dir=au_composite,
        out_dir=tmp_path / "run",
        model_name="flow_linear",
        epochs=1,
        val_fraction=0.0,
        apex_policy="skip",
        train_final=False,
        cache_dir=tmp_path / "cache",
    )
    assert "au" not in result.metrics


def test_au_targets_for_a_model_without_a_head_are_refused():
    model = _tiny()
    inputs = np.random.default_rng(0).normal(size=(4, 2, 32, 32)).astype(np.float32)
    aus = (np.zeros((4, len(AU_HEAD_UNITS)), np.float32), np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="no AU head"):
        fit(
            model,
            inputs=inputs,
            labels=np.array([0, 1, 2, 0]),
            settings=TrainSettings(epochs=1),
            device=torch.device("cpu"),
            seed=0,
            aus=aus,
        )


def _checkpoint(path: Path, model) -> Path:
    spec = model.input_spec
    normaliser = Normaliser(mean=(0.5,) * spec.channels, std=(0.2,) * spec.channels)
    return save_checkpoint(
        path,
        model_name="frl_dgt",
        model=model,
        class_names=["negative", "positive", "surprise"],
        normaliser=normaliser,
    )


def test_each_clips_uncertainty_row_carries_the_au_heads_probabilities(au_composite, tmp_path):
    loaded = load_model(_checkpoint(tmp_path / "head.pt", _tiny(au_head=True)))
    rows, _ = clip_uncertainties(
        data_dir=au_composite, model=loaded, mc_samples=2, cache_dir=tmp_path / "cache"
    )
    samples = read_manifest(au_composite)
    raw = load_inputs(
        root=au_composite,
        samples=samples,
        apexes=[sample.apex for sample in samples],
        spec=loaded.input_spec,
        cache=InputCache(tmp_path / "cache"),
    )
    expected = predict_au_probabilities(
        loaded.model, loaded.normaliser.apply(raw), device=torch.device("cpu")
    )
    assert len(rows) == len(samples)
    for row, probabilities in zip(rows, expected, strict=True):
        assert list(row["aus"]) == [f"AU{unit}" for unit in AU_HEAD_UNITS]
        assert np.allclose(list(row["aus"].values()), probabilities, atol=1e-4)

    plain = load_model(_checkpoint(tmp_path / "plain.pt", _tiny()))
    rows, _ = clip_uncertainties(
        data_dir=au_composite, model=plain, mc_samples=2, cache_dir=tmp_path / "cache"
    )
    assert all(row["aus"] is None for row in rows)


def test_early_stopping_chooses_the_epoch_by_the_class_uf1_alone_with_the_au_head():
    """The AU loss trains the head but never picks the epoch: the validation rule is the class
    UF1, ties broken by the class loss, and the model restored is that epoch's."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(12, 2, 32, 32)).astype(np.float32)
    labels = np.array([0, 1, 2] * 4)
    val_inputs = rng.normal(size=(6, 2, 32, 32)).astype(np.float32)
    val_labels = np.array([0, 1, 2] * 2)
    # AU targets that disagree with the classes, weighted far above the class loss.
    aus = ((rng.random((12, len(AU_HEAD_UNITS))) < 0.3).astype(np.float32), np.ones(12, bool))
    model = _tiny(au_head=True, au_weight=20.0)
    result = fit(
        model,
        inputs=inputs,
        labels=labels,
        settings=TrainSettings(epochs=8, learning_rate=3e-3, patience=3),
        device=torch.device("cpu"),
        seed=0,
        validation=(val_inputs, val_labels),
        aus=aus,
    )
    scores = [
        (uf1, -loss)
        for uf1, loss in zip(result.validation_uf1, result.validation_losses, strict=True)
    ]
    best = max(range(len(scores)), key=scores.__getitem__)
    assert result.selected_epoch == best + 1
    assert len(scores) == 8 or len(scores) - result.selected_epoch == 3  # patience, not the AUs
    logits = predict_logits(model, val_inputs, device=torch.device("cpu"))
    class_loss = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(val_labels)
    )
    assert float(class_loss) == pytest.approx(result.validation_losses[best], abs=1e-5)
