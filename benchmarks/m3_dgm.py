"""Why M3 (a DGM trained only through the classifier) learns nothing: measurements (#13.4).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/m3_dgm.py --data CLEAN_COMPOSITE \
        --seeds 0 1 2 --epochs 10 --arm baseline --arm out_init=normal \
        [--out benchmarks/results/m3_dgm.json] [--cache DIR]
    .venv/bin/python benchmarks/m3_dgm.py --data CLEAN_COMPOSITE --summary   # markdown table

The setting is the subject hold-out check of docs/frl-dgt.md: 20% of the subjects tested,
SMIC-HS clips (no apex) skipped, FRL-DGT at 48 px (embed 32, patch stride 4, DGM width 8),
10 epochs, the preset ``gpu`` training knobs (batch 16, AdamW lr 1e-3, no validation split).
A split seed ``s`` is what ``python -m mlcore train --protocol holdout --seed s`` uses: the
same subjects, the same model seed (``s * 1000``), and training goes through the same `fit`.
An (arm, seed) already in ``--out`` is not measured again.

What it records per arm and seed, besides the hold-out UF1/UAR:
- per step (first ``--trace-steps``, warm-up steps included): the gradient norm of every DGM
  block (before clipping), of the rest of the model, and the mean |D| of the batch;
- per epoch: the mean |D| and the cosine of D with the backward TV-L1 field (-flow, the
  displacement a backward warp needs) on the moving pixels (|flow| >= 0.25 px at 48 px) of the
  test clips, the predicted-class counts on the test clips, and the eval-mode training accuracy;
- before training and after epochs 1, 5 and the last: which way the class loss and the
  self-supervised loss push D on the training clips (`teaching_signal`);
- after training: a linear probe on D and, for reference, on the TV-L1 field.

An arm is ``name`` or ``name=value`` (several joined by ``,``):
- ``baseline``: M3 as registered;
- ``out_init=normal`` / ``out_init=default``: the DGM's last conv drawn N(0, 1e-3) / with
  PyTorch's default (Kaiming-uniform) init instead of zeros (set after the model is built);
- ``floor=F``: ``motion_norm_floor`` = F px;
- ``dgm_lr=K``: the DGM's parameters at K times the learning rate (its own AdamW group);
- ``option:FIELD=VALUE``: any other FRL-DGT config field (JSON value).
"""

import argparse
import copy
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mlcore.composite import read_manifest
from mlcore.models import create_model
from mlcore.training import loop as training_loop
from mlcore.training import make_folds
from mlcore.training.data import InputCache, Normaliser, load_inputs
from mlcore.training.loop import TrainSettings, fit, seed_everything
from mlcore.training.metrics import score

SMALL = {"image_size": 48, "embed_dim": 32, "patch_stride": 4, "dgm_width": 8}
DGM_BLOCKS = ("enc1", "enc2", "enc3", "dec2", "dec1", "out")
MOVING_PX = 0.25


def parse_arm(text: str) -> dict[str, object]:
    arm: dict[str, object] = {"name": text, "options": {}}
    if text == "baseline":
        return arm
    for part in text.split(","):
        key, _, raw = part.partition("=")
        if key == "out_init":
            arm["out_init"] = raw
        elif key == "floor":
            arm["options"]["motion_norm_floor"] = float(raw)
        elif key == "dgm_lr":
            arm["dgm_lr"] = float(raw)
        elif key.startswith("option:"):
            arm["options"][key.removeprefix("option:")] = json.loads(raw)
        else:
            raise ValueError(f"unknown arm part {part!r}")
    return arm


class DgmLrAdamW(torch.optim.AdamW):
    """AdamW with the DGM's parameters in their own group at ``factor`` x the learning rate."""

    def __init__(self, params, *, model, factor, lr, **kwargs):
        dgm_ids = {id(p) for p in model.dgm.parameters()}
        params = list(params)
        groups = [
            {"params": [p for p in params if id(p) not in dgm_ids], "lr": lr},
            {"params": [p for p in params if id(p) in dgm_ids], "lr": lr * factor},
        ]
        super().__init__(groups, lr=lr, **kwargs)


def cosine_on_moving(displacement: np.ndarray, flow: np.ndarray) -> tuple[float, float]:
    """Mean per-pixel cosine of D with -flow on moving pixels, and the share of such pixels."""
    backward = -flow[:, :2]
    moving = np.linalg.norm(backward, axis=1) >= MOVING_PX
    dot = (displacement * backward).sum(1)
    norms = np.linalg.norm(displacement, axis=1) * np.linalg.norm(backward, axis=1)
    cosine = dot / np.maximum(norms, 1e-12)
    return float(cosine[moving].mean()) if moving.any() else float("nan"), float(moving.mean())


def linear_probe_uf1(train_field, y_train, test_field, y_test) -> float:
    """Hold-out UF1 of a class-balanced logistic regression on a (N, 2, S, S) field pooled to
    half size: how much class information a field carries for a linear read-out."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def features(field):
        pooled = F.avg_pool2d(torch.from_numpy(np.ascontiguousarray(field[:, :2])), 2)
        return pooled.flatten(1).numpy()

    classifier = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.01, class_weight="balanced", max_iter=2000)
    )
    classifier.fit(features(train_field), y_train)
    return score(y_test, classifier.predict(features(test_field)), num_classes=3).uf1


def teaching_signal(model, x: np.ndarray, y: np.ndarray, flow: np.ndarray) -> dict[str, float]:
    """Which way each loss pushes D: the mean cosine of -dLoss/dD with the backward TV-L1
    field on moving pixels, for the class loss (what M3 learns from) and for the
    self-supervised loss (what M9 adds), on a copy in train mode (batch statistics, dropout)
    so that neither the model nor the random stream of the run is touched."""
    rng = torch.get_rng_state()
    probe = copy.deepcopy(model).train()
    for module in probe.modules():
        module._forward_hooks.clear()  # the run's tracing hooks came along with the copy
    counts = np.bincount(y, minlength=3).astype(np.float32)
    weights = torch.from_numpy(np.where(counts > 0, counts.sum() / (counts * 3), 0.0))
    ce_grads, ssl_grads = [], []
    fields: list[torch.Tensor] = []
    probe.dgm.register_forward_hook(lambda _module, _inputs, out: fields.append(out))
    for start in range(0, len(x), 16):
        batch = torch.from_numpy(x[start : start + 16])
        target = torch.from_numpy(y[start : start + 16])
        logits, _ = probe.forward_train(batch)
        field = fields.pop()
        ce = F.cross_entropy(logits.float(), target, weight=weights.float())
        (ce_grad,) = torch.autograd.grad(ce, field)
        detached = field.detach().requires_grad_(True)
        (ssl_grad,) = torch.autograd.grad(probe._self_supervised_loss(batch, detached), detached)
        ce_grads.append(-ce_grad.numpy())
        ssl_grads.append(-ssl_grad.numpy())
    torch.set_rng_state(rng)
    ce_all, ssl_all = np.concatenate(ce_grads), np.concatenate(ssl_grads)
    ce_cos, _ = cosine_on_moving(ce_all, flow)
    ssl_cos, _ = cosine_on_moving(ssl_all, flow)
    # Is the class loss's push a per-clip field or one template per class? Cosines between
    # whole per-clip gradient fields, within a class and across classes.
    rows = ce_all.reshape(len(ce_all), -1)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-30)
    pairwise = rows @ rows.T
    same = y[:, None] == y[None, :]
    off_diagonal = ~np.eye(len(y), dtype=bool)
    return {
        "ce_grad_cosine": ce_cos,
        "ssl_grad_cosine": ssl_cos,
        "ce_grad_within_class": float(pairwise[same & off_diagonal].mean()),
        "ce_grad_across_class": float(pairwise[~same].mean()),
    }


def run_arm(arm, *, seed, data, epochs, trace_steps) -> dict[str, object]:
    samples, inputs, flows, labels = data
    fold = make_folds(samples, protocol="holdout", seed=seed, test_fraction=0.2)[0]
    train, test = np.array(fold.train), np.array(fold.test)
    model_seed = seed * 1000 + fold.index  # as train_run's _run_fold
    seed_everything(model_seed)
    model = create_model("frl_dgt_m3", **{**SMALL, **arm["options"]})
    if arm.get("out_init") == "normal":
        torch.nn.init.normal_(model.dgm.out.weight, std=1e-3)
    elif arm.get("out_init") == "default":
        model.dgm.out.reset_parameters()
    elif arm.get("out_init") is not None:
        raise ValueError(f"out_init {arm['out_init']!r}")
    normaliser = Normaliser.fit(inputs[train], model.input_spec)
    x_train, x_test = normaliser.apply(inputs[train]), normaliser.apply(inputs[test])
    y_train, y_test = labels[train], labels[test]

    steps: list[dict[str, float]] = []
    current: dict[str, float] = {}

    def grad_hook(block):
        def hook(grad):
            if len(steps) < trace_steps:
                current[block] = current.get(block, 0.0) + float(grad.float().pow(2).sum())
            return grad

        return hook

    dgm_ids = set()
    for block in DGM_BLOCKS:
        for parameter in getattr(model.dgm, block).parameters():
            parameter.register_hook(grad_hook(block))
            dgm_ids.add(id(parameter))
    for parameter in model.parameters():
        if id(parameter) not in dgm_ids:
            parameter.register_hook(grad_hook("classifier"))

    def record_field(module, _inputs, field):
        if module.training and len(steps) < trace_steps:
            if current:  # the previous step's gradients are complete
                steps.append({k: v if k == "abs_d" else v**0.5 for k, v in current.items()})
                current.clear()
            current["abs_d"] = float(torch.linalg.vector_norm(field.detach(), dim=1).mean())

    model.dgm.register_forward_hook(record_field)
    epochs_log: list[dict[str, object]] = []

    def evaluate(epoch: int, loss: float) -> None:
        model.eval()
        with torch.no_grad():
            field = model.dgm(torch.from_numpy(x_test)).numpy()
            test_pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
            train_pred = model(torch.from_numpy(x_train)).argmax(1).numpy()
        cosine, moving = cosine_on_moving(field, flows[test])
        epochs_log.append(
            {
                "epoch": epoch,
                "loss": loss,
                "abs_d_test": float(np.linalg.norm(field, axis=1).mean()),
                "cosine_tvl1_moving": cosine,
                "moving_share": moving,
                "test_pred_counts": dict(Counter(int(v) for v in test_pred)),
                "test_uf1": score(y_test, test_pred, num_classes=3).uf1,
                "train_acc_eval": float((train_pred == y_train).mean()),
            }
        )
        if epoch in (1, 5, epochs):  # costs about an epoch each time
            epochs_log[-1].update(teaching_signal(model, x_train, y_train, flows[train]))
        model.train()

    epochs_log.append({"epoch": 0, **teaching_signal(model, x_train, y_train, flows[train])})
    original_adamw = training_loop.torch.optim.AdamW
    if "dgm_lr" in arm:
        factor = arm["dgm_lr"]
        training_loop.torch.optim.AdamW = lambda params, **kw: DgmLrAdamW(
            params, model=model, factor=factor, **kw
        )
    started = time.perf_counter()
    try:
        fit(
            model,
            inputs=x_train,
            labels=y_train,
            settings=TrainSettings(epochs=epochs),
            device=torch.device("cpu"),
            seed=model_seed,
            on_epoch=evaluate,
        )
    finally:
        training_loop.torch.optim.AdamW = original_adamw
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test)).argmax(1).numpy()
        train_field = model.dgm(torch.from_numpy(x_train)).numpy()
        test_field = model.dgm(torch.from_numpy(x_test)).numpy()
    scores = score(y_test, predicted, num_classes=3)
    probe_d = linear_probe_uf1(train_field, y_train, test_field, y_test)
    probe_flow = linear_probe_uf1(-flows[train], y_train, -flows[test], y_test)
    return {
        "arm": arm["name"],
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "uf1": scores.uf1,
        "uar": scores.uar,
        "linear_probe_uf1_d": probe_d,
        "linear_probe_uf1_tvl1": probe_flow,
        "predicted_classes": sorted(set(int(v) for v in predicted)),
        "seconds": time.perf_counter() - started,
        "steps": steps,
        "epochs": epochs_log,
    }


def summarise(results: list[dict]) -> str:
    """One markdown row per arm: mean +- sample sd over its seeds."""

    def spread(values) -> str:
        values = np.asarray(values, dtype=float)
        sd = values.std(ddof=1) if len(values) > 1 else float("nan")
        return f"{values.mean():.3f} +- {sd:.3f}"

    lines = [
        "| arm | seeds | hold-out UF1 | UAR | runs on one class | last train loss | "
        "mean abs D px | cos(D, TV-L1) moving | linear probe on D | on TV-L1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in dict.fromkeys(r["arm"] for r in results):
        runs = [r for r in results if r["arm"] == arm]
        last = [r["epochs"][-1] for r in runs]
        lines.append(
            f"| {arm} | {len(runs)} | {spread([r['uf1'] for r in runs])} | "
            f"{spread([r['uar'] for r in runs])} | "
            f"{sum(len(r['predicted_classes']) == 1 for r in runs)} | "
            f"{spread([e['loss'] for e in last])} | {spread([e['abs_d_test'] for e in last])} | "
            f"{spread([e['cosine_tvl1_moving'] for e in last])} | "
            f"{spread([r['linear_probe_uf1_d'] for r in runs])} | "
            f"{spread([r['linear_probe_uf1_tvl1'] for r in runs])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--arm", action="append", default=[])
    parser.add_argument("--trace-steps", type=int, default=30)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/m3_dgm.json"))
    parser.add_argument(
        "--summary", action="store_true", help="print the table of --out and measure nothing"
    )
    args = parser.parse_args()
    if args.summary:
        print(summarise(json.loads(args.out.read_text())))
        return
    torch.set_num_threads(1)
    samples = [sample for sample in read_manifest(args.data) if sample.apex is not None]
    apexes = [sample.apex for sample in samples]
    cache = InputCache(args.cache or args.data / "input_cache")
    pair_spec = create_model("frl_dgt_m3", **SMALL).input_spec
    flow_spec = create_model("frl_dgt_m0", **SMALL).input_spec
    inputs = load_inputs(
        root=args.data, samples=samples, apexes=apexes, spec=pair_spec, cache=cache
    )
    flows = load_inputs(root=args.data, samples=samples, apexes=apexes, spec=flow_spec, cache=cache)
    labels = np.array([sample.label for sample in samples], dtype=np.int64)
    data = (samples, inputs, flows, labels)
    results = json.loads(args.out.read_text()) if args.out.is_file() else []
    for text in args.arm or ["baseline"]:
        arm = parse_arm(text)
        for seed in args.seeds:
            if any((r["arm"], r["seed"]) == (text, seed) for r in results):
                continue  # measured already (same data, same code): resume
            result = run_arm(
                arm, seed=seed, data=data, epochs=args.epochs, trace_steps=args.trace_steps
            )
            results.append(result)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, separators=(",", ":")) + "\n")
            last = result["epochs"][-1]
            print(
                f"{text:24s} seed {seed}: UF1 {result['uf1']:.3f} UAR {result['uar']:.3f} "
                f"classes {result['predicted_classes']} |D| {last['abs_d_test']:.4f} px "
                f"cos {last['cosine_tvl1_moving']:.3f} probe D {result['linear_probe_uf1_d']:.3f} "
                f"TV-L1 {result['linear_probe_uf1_tvl1']:.3f} "
                f"train acc {last['train_acc_eval']:.2f} "
                f"({result['seconds']:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
