"""What each loss tells FRL-DGT's DGM at the start of training (docs/frl-dgt.md, "Why M3 learns
nothing"): the class loss only the label, the self-supervised loss the motion."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlcore.composite import read_manifest
from mlcore.models import create_model
from mlcore.models.dgm import self_supervised_loss
from mlcore.training.data import InputCache, Normaliser, load_inputs
from tests.mlcore.training_fixtures import TINY_FRL_DGT, make_blob_composite

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def blob_pairs(tmp_path_factory) -> tuple[torch.Tensor, torch.Tensor]:
    root = tmp_path_factory.mktemp("blobs")
    make_blob_composite(root, subjects={"casme2": 2, "samm": 2}, clips_per_class=2)
    samples = read_manifest(root)
    spec = create_model("frl_dgt_m3", **TINY_FRL_DGT).input_spec
    raw = load_inputs(
        root=root,
        samples=samples,
        apexes=[sample.apex for sample in samples],
        spec=spec,
        cache=InputCache(root / "cache"),
    )
    inputs = Normaliser.fit(raw, spec).apply(raw)
    labels = np.array([sample.label for sample in samples])
    return torch.from_numpy(inputs), torch.from_numpy(labels)


def class_loss_push_on_the_field(model, pairs: torch.Tensor, labels: torch.Tensor):
    """-dCE/dD per clip (summed loss, so each clip's push is its own)."""
    fields = []
    hook = model.dgm.register_forward_hook(lambda _module, _inputs, field: fields.append(field))
    logits = model(pairs)
    hook.remove()
    (gradient,) = torch.autograd.grad(F.cross_entropy(logits, labels, reduction="sum"), fields[0])
    return -gradient


def test_at_the_start_m3s_class_loss_gives_the_dgm_the_label_and_nothing_of_the_frames(
    blob_pairs,
):
    pairs, labels = blob_pairs
    torch.manual_seed(0)
    model = create_model("frl_dgt_m3", **TINY_FRL_DGT).eval()  # eval: no dropout noise
    assert model.warmup() is None  # M3 has neither the self-supervised term nor its warm-up

    push = class_loss_push_on_the_field(model, pairs, labels)
    noise = torch.randn_like(pairs)
    push_on_noise = class_loss_push_on_the_field(model, noise, labels)

    # The zero-initialised last layer makes D = 0 for every clip, so the classifier sees one
    # input and its push on D depends on the label only: the same field for every clip of a
    # class, whatever the frames (pure noise gets the very same push).
    assert float(push.abs().max()) > 0
    torch.testing.assert_close(push_on_noise, push)
    for label in range(3):
        same_class = push[labels == label]
        torch.testing.assert_close(same_class, same_class[:1].expand_as(same_class))

    # The self-supervised loss's push does follow the frames: surprise raises the blobs above
    # the eyes, so the backward displacement there points down (dy > 0), as the warm-up test
    # finds after training.
    surprise = pairs[labels == 2]
    displacement = torch.zeros(len(surprise), 2, 32, 32, requires_grad=True)
    ssl = self_supervised_loss(
        onset=surprise[:, :1], apex=surprise[:, 1:], displacement=displacement
    )
    (ssl_gradient,) = torch.autograd.grad(ssl, displacement)
    assert float(-ssl_gradient[:, 1, 6:11, 8:14].mean()) > 0
    assert float(-ssl_gradient[:, 1, 6:11, 18:24].mean()) > 0
