"""Models: every registered variant builds, runs, and back-propagates; the DGM learns motion."""

import importlib
import math
import subprocess
import sys

import pytest
import torch

from mlcore.models import UnknownModelError, create_model, describe_model, list_models, registry
from mlcore.models.catalogue import CATALOGUE
from mlcore.models.dgm import DisplacementGenerator, self_supervised_loss, warp
from mlcore.models.frl_dgt import ABLATION_VARIANTS, FRLDGTConfig, au_region_boxes
from tests.mlcore.training_fixtures import TINY_FRL_DGT

torch.set_num_threads(2)

BASELINES = ("ststnet", "flow_linear", "flow_affine_linear")
FRL_DGT_NAMES = ["frl_dgt"] + [f"frl_dgt_m{i}" for i in range(10)]


def tiny(name: str):
    return create_model(name, **TINY_FRL_DGT) if name.startswith("frl_dgt") else create_model(name)


def test_registry_lists_every_ablation_variant_and_baseline():
    assert set(FRL_DGT_NAMES + list(BASELINES)) == set(list_models())
    assert "Fu-A-Attn" in describe_model("frl_dgt_m4")
    assert list(ABLATION_VARIANTS) == [f"M{i}" for i in range(10)]


def test_the_catalogue_names_exactly_the_registered_factories():
    for module in {entry.module for entry in CATALOGUE.values()}:
        importlib.import_module(module)
    assert set(registry._FACTORIES) == set(CATALOGUE)


def test_naming_the_models_imports_no_torch():
    """The web process lists the models for the training form and the API schema."""
    probe = (
        "import sys, mlcore.models as m; m.list_models(); m.describe_model('frl_dgt_m4'); "
        "print(sorted({'torch', 'cv2', 'torchvision'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_unknown_model_and_unknown_option_name_the_problem():
    with pytest.raises(UnknownModelError, match="frl_dgt_m99"):
        create_model("frl_dgt_m99")
    with pytest.raises(ValueError, match="embed_dimension"):
        create_model("frl_dgt", embed_dimension=8)
    with pytest.raises(ValueError, match="patch_stride"):
        create_model("frl_dgt", image_size=30, patch_stride=4)


@pytest.mark.parametrize("name", FRL_DGT_NAMES + list(BASELINES))
def test_shapes_and_gradients_of_every_variant(name):
    torch.manual_seed(0)
    model = tiny(name)
    spec = model.input_spec
    x = torch.randn(3, spec.channels, spec.size, spec.size)
    features = model.forward_features(x)
    assert features.shape == (3, model.embedding_dim)
    assert model.forward_head(features).shape == (3, 3)
    logits, auxiliary = model.forward_train(x)
    assert logits.shape == (3, 3) and auxiliary.ndim == 0
    (torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])) + auxiliary).backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: {parameter_name} gets no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name} non-finite"


def test_variants_differ_as_the_ablation_says():
    full = tiny("frl_dgt_m9")
    assert full.input_spec.kind == "pair" and hasattr(full, "dgm")
    assert tiny("frl_dgt_m0").input_spec.kind == "flow" and not hasattr(tiny("frl_dgt_m0"), "dgm")
    assert tiny("frl_dgt_m1").input_spec.kind == "flow_norm"
    assert tiny("frl_dgt_m2").input_spec.kind == "dynamic_image"
    x = torch.randn(2, 2, 32, 32)
    with torch.no_grad():
        assert float(full.forward_train(x)[1]) > 0
        assert float(tiny("frl_dgt_m3").forward_train(x)[1]) == 0.0  # no self-supervision
    assert hasattr(tiny("frl_dgt_m4"), "stream_attention")  # attention per stream, then linear
    assert not torch.equal(tiny("frl_dgt_m5").region_boxes, full.region_boxes)
    assert not hasattr(tiny("frl_dgt_m6"), "full_face")
    assert not hasattr(tiny("frl_dgt_m7"), "local")
    assert not hasattr(tiny("frl_dgt_m8"), "global_fusion")
    assert tiny("ststnet").input_spec.kind == "flow_strain"


def test_wrong_input_shape_is_a_clear_error():
    model = tiny("frl_dgt")
    with pytest.raises(ValueError, match=r"expects input \(B, 2, 32, 32\)"):
        model(torch.randn(1, 3, 32, 32))


def test_au_regions_cover_the_aligned_face_inside_the_crop():
    boxes = au_region_boxes()
    assert len(boxes) == 9
    for x1, y1, x2, y2 in boxes:
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1
    brows, mouth = boxes[0], boxes[8]
    assert brows[3] < mouth[1]  # brows above the chin/mouth region


def test_warp_moves_content_by_the_displacement():
    image = torch.zeros(1, 1, 16, 16)
    image[..., 8, 8] = 1.0
    displacement = torch.zeros(1, 2, 16, 16)
    displacement[:, 0] = 2.0  # sample two pixels to the right
    warped = warp(image, displacement)
    assert warped[0, 0, 8, 6] == pytest.approx(1.0, abs=1e-5)


def test_self_supervised_loss_falls_when_the_dgm_learns_a_known_shift():
    torch.manual_seed(0)
    texture = torch.nn.functional.avg_pool2d(torch.randn(16, 1, 40, 40), 5, stride=1)
    onset = texture[..., 2:34, 2:34]
    apex = texture[..., 2:34, 3:35]  # content moved one pixel to the left
    pair = torch.cat([onset, apex], 1)
    dgm = DisplacementGenerator(frame_channels=1, width=8, max_displacement_px=3.0)
    optimizer = torch.optim.Adam(dgm.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = self_supervised_loss(onset=onset, apex=apex, displacement=dgm(pair))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.6 * losses[0]
    # apex(p) = onset(p + 1 px in x): the DGM must point one pixel to the right.
    dx = dgm(pair)[:, 0, 4:-4, 4:-4].mean()
    assert 0.5 < float(dx) < 1.5


def test_only_variants_with_a_self_supervised_dgm_warm_it_up():
    warm = {name for name in FRL_DGT_NAMES + list(BASELINES) if tiny(name).warmup() is not None}
    assert warm == {"frl_dgt"} | {f"frl_dgt_m{i}" for i in range(4, 10)}
    model = create_model("frl_dgt", **{**TINY_FRL_DGT, "ssl_warmup_steps": 7})
    warmup = model.warmup()
    assert warmup.steps == 7 and set(warmup.parameters) == set(model.dgm.parameters())
    pair = torch.randn(3, 2, 32, 32)
    loss = warmup.loss(pair)
    loss.backward()
    assert loss.ndim == 0 and all(p.grad is None for p in model.head.parameters())
    with pytest.raises(ValueError, match="ssl_warmup_steps"):
        create_model("frl_dgt", ssl_warmup_steps=-1)


def test_config_defaults_follow_the_design_doc():
    config = FRLDGTConfig()
    assert (config.image_size, config.ssl_weight, config.regions) == (112, 1.0, "au")
    assert config.fusion == "before" and config.self_supervised
    assert math.isclose(config.max_displacement * config.image_size, 5.6)
