"""Pool-based simulation of the active-learning loop: how many labels each way of choosing the
next clips needs, on a composite folder whose labels are all known (a synthetic one).

Per seed, some subjects are held out for scoring and are never chosen; the remaining subjects'
clips are the pool. Every strategy starts from the same labelled seed, spread over the pool's
subjects, and then in rounds: train from scratch on the labelled clips, score pooled UF1/UAR on
the held-out clips, score the unlabelled pool with the model (MC-dropout entropy, margin, BALD;
novelty from the embeddings, as the platform scores its unlabelled clips) and label the next
clips in the order `mlcore.ranking.rank_for_labelling` gives, the function the coder's queue
uses. ``platform`` is that function with the queue's default settings; ``entropy``, ``margin``
and ``bald`` rank by the score alone, without the per-subject cap.

Per strategy: the area under the learning curve (UF1 against labelled clips, divided by the
range of labels: a mean UF1) and the labels needed to reach 95% of the UF1 of a model trained
on the whole pool, with their spread over seeds and their paired difference from ``random``.
"""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from mlcore.composite import CompositeSample, read_manifest
from mlcore.models import create_model
from mlcore.ranking import (
    DEFAULT_DIVERSITY_WEIGHT,
    DEFAULT_STRATEGY,
    DEFAULT_SUBJECT_CAP,
    RankingCandidate,
    novelty_scores,
    rank_for_labelling,
)
from mlcore.training.apex import propose_clip_apex
from mlcore.training.data import InputCache, Normaliser, load_inputs
from mlcore.training.loop import TrainSettings, fit, predict_logits, resolve_device, seed_everything
from mlcore.training.metrics import score
from mlcore.training.report import CLASS_NAMES, clip_id
from mlcore.training.uncertainty import predict_with_uncertainty

# Simulation strategy -> how rank_for_labelling is called. "platform" is the queue as shipped.
STRATEGY_RANKING: dict[str, dict[str, object]] = {
    "random": {"strategy": "random", "subject_cap": None},
    "entropy": {"strategy": "uncertainty", "subject_cap": None},
    "margin": {"strategy": "margin", "subject_cap": None},
    "bald": {"strategy": "bald", "subject_cap": None},
    "platform": {
        "strategy": DEFAULT_STRATEGY,
        "diversity_weight": DEFAULT_DIVERSITY_WEIGHT,
        "subject_cap": DEFAULT_SUBJECT_CAP,
    },
    "platform-diversity": {
        "strategy": "diversity",
        "diversity_weight": DEFAULT_DIVERSITY_WEIGHT,
        "subject_cap": DEFAULT_SUBJECT_CAP,
    },
}
DEFAULT_STRATEGIES = ("random", "entropy", "margin", "bald", "platform")
RESULT_NAME = "simulation.json"
PLOT_NAME = "learning_curves.png"
TARGET_SHARE = 0.95  # of the whole-pool UF1
GOAL_LABEL_RATIO = 0.7  # the platform's default should need at most this share of random's labels

# (trainings done, trainings in all, what is running)
SimulationProgress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class LoopSettings:
    model_name: str = "flow_linear"
    model_options: dict[str, object] = field(default_factory=dict)
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    seeds: tuple[int, ...] = (0, 1, 2)
    initial_labels: int = 12
    labels_per_round: int = 12
    rounds: int = 5
    heldout_fraction: float = 0.25
    epochs: int = 15
    batch_size: int = 16
    learning_rate: float = 1e-3
    mc_samples: int = 10

    def __post_init__(self) -> None:
        unknown = [name for name in self.strategies if name not in STRATEGY_RANKING]
        if unknown or not self.strategies:
            raise ValueError(
                f"unknown strategies {unknown or '[]'}; expected some of {list(STRATEGY_RANKING)}"
            )
        if len(set(self.strategies)) != len(self.strategies) or not self.seeds:
            raise ValueError("strategies must not repeat, and at least one seed is needed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds repeat: {list(self.seeds)}")
        if self.initial_labels < 2 or self.labels_per_round < 1 or self.rounds < 1:
            raise ValueError(
                "need initial_labels >= 2, labels_per_round >= 1 and rounds >= 1, got "
                f"{self.initial_labels}, {self.labels_per_round}, {self.rounds}"
            )
        if not 0.0 < self.heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must be in (0, 1), got {self.heldout_fraction}")
        if self.mc_samples < 2:
            raise ValueError(f"MC dropout needs at least 2 samples, got {self.mc_samples}")
        TrainSettings(epochs=self.epochs, batch_size=self.batch_size)  # checks both

    @property
    def label_schedule(self) -> list[int]:
        return [self.initial_labels + r * self.labels_per_round for r in range(self.rounds + 1)]


@dataclass(frozen=True, slots=True)
class _Split:
    heldout_subjects: list[str]
    pool: list[int]  # sample indices, manifest order (the queue's oldest-first order)
    test: list[int]
    initial: list[int]


def _split(samples: Sequence[CompositeSample], *, settings: LoopSettings, seed: int) -> _Split:
    """Held-out subjects, and a labelled seed taking clips from the pool's subjects in turn."""
    rng = np.random.default_rng([seed, 0x100B])
    subjects = sorted({sample.subject_key for sample in samples})
    if len(subjects) < 3:
        raise ValueError(f"the simulation needs at least 3 subjects, found {len(subjects)}")
    count = min(max(1, round(settings.heldout_fraction * len(subjects))), len(subjects) - 2)
    heldout = sorted(rng.choice(subjects, size=count, replace=False).tolist())
    pool = [i for i, sample in enumerate(samples) if sample.subject_key not in heldout]
    test = [i for i, sample in enumerate(samples) if sample.subject_key in heldout]
    needed = settings.label_schedule[-1]
    if needed > len(pool):
        raise ValueError(
            f"{settings.initial_labels} + {settings.rounds} x {settings.labels_per_round} = "
            f"{needed} labels, but the pool (clips of the {len(subjects) - count} subjects not "
            f"held out) has only {len(pool)}: use fewer rounds or a larger composite"
        )
    by_subject: dict[str, list[int]] = {}
    for index in pool:
        by_subject.setdefault(samples[index].subject_key, []).append(index)
    queues = [list(rng.permutation(by_subject[key])) for key in rng.permutation(sorted(by_subject))]
    initial: list[int] = []
    while len(initial) < settings.initial_labels:
        for queue in queues:
            if queue and len(initial) < settings.initial_labels:
                initial.append(int(queue.pop(0)))
    return _Split(heldout_subjects=heldout, pool=pool, test=test, initial=sorted(initial))


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
    }


def _labels_to_reach(curve: list[dict[str, float]], target: float) -> int | None:
    for point in curve:
        if point["uf1"] >= target:
            return int(point["labels"])
    return None


class _Simulator:
    def __init__(
        self,
        *,
        settings: LoopSettings,
        inputs: np.ndarray,
        labels: np.ndarray,
        ids: list[str],
        subjects: list[str],
        device: torch.device,
    ) -> None:
        self.settings, self.inputs, self.labels = settings, inputs, labels
        self.ids, self.subjects, self.device = ids, subjects, device
        self.train_settings = TrainSettings(
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
        )

    def train(self, indices: Sequence[int], *, seed: int):
        seed_everything(seed)
        model = create_model(self.settings.model_name, **self.settings.model_options)
        chosen = np.asarray(indices, dtype=np.int64)
        normaliser = Normaliser.fit(self.inputs[chosen], model.input_spec)
        fit(
            model,
            inputs=normaliser.apply(self.inputs[chosen]),
            labels=self.labels[chosen],
            settings=self.train_settings,
            device=self.device,
            seed=seed,
        )
        return model, normaliser

    def evaluate(self, model, normaliser: Normaliser, test: Sequence[int]) -> dict[str, float]:
        chosen = np.asarray(test, dtype=np.int64)
        logits = predict_logits(model, normaliser.apply(self.inputs[chosen]), device=self.device)
        scores = score(self.labels[chosen], logits.argmax(1), num_classes=len(CLASS_NAMES))
        return {"uf1": scores.uf1, "uar": scores.uar}

    def choose(
        self,
        *,
        strategy: str,
        model,
        normaliser: Normaliser,
        unlabelled: list[int],
        count: int,
        seed: int,
    ) -> list[int]:
        ranking = STRATEGY_RANKING[strategy]
        if ranking["strategy"] == "random":
            candidates = [RankingCandidate(clip_id=i, subject=self.subjects[i]) for i in unlabelled]
        else:
            batch = torch.from_numpy(normaliser.apply(self.inputs[unlabelled])).to(self.device)
            result = predict_with_uncertainty(
                model, batch, mc_samples=self.settings.mc_samples, seed=seed
            )
            novelty = novelty_scores(result.embeddings)
            candidates = [
                RankingCandidate(
                    clip_id=index,
                    subject=self.subjects[index],
                    entropy=float(result.entropy[row]),
                    margin=float(result.margin[row]),
                    bald=float(result.bald[row]),
                    novelty=float(novelty[row]),
                )
                for row, index in enumerate(unlabelled)
            ]
        ranked = rank_for_labelling(candidates=candidates, random_seed=seed, **ranking)
        return [int(candidate.clip_id) for candidate in ranked[:count]]


def simulate_loop(
    *,
    data_dir: Path,
    out_dir: Path,
    settings: LoopSettings,
    device: str | None = None,
    cache_dir: Path | None = None,
    progress: SimulationProgress | None = None,
    data_progress: Callable[[float, str], None] | None = None,
    source: dict[str, object] | None = None,
) -> dict[str, object]:
    """Run the simulation on the composite folder ``data_dir``; write ``out_dir/simulation.json``
    and ``out_dir/learning_curves.png`` and return what the JSON holds. ``data_progress`` follows
    the computing of the model inputs (cached), ``progress`` the trainings. ``source`` records how
    the composite was made (e.g. the synth options), for the record only."""
    started = time.perf_counter()
    root, out_dir = Path(data_dir), Path(out_dir)
    samples = read_manifest(root)
    if not samples:
        raise ValueError(f"{root}: the manifest lists no clips")
    spec = create_model(settings.model_name, **settings.model_options).input_spec
    apexes = [
        sample.apex if sample.apex is not None else propose_clip_apex(root, sample)[0]
        for sample in samples
    ]
    cache = InputCache(Path(cache_dir) if cache_dir is not None else out_dir / "input_cache")
    inputs = load_inputs(
        root=root, samples=samples, apexes=apexes, spec=spec, cache=cache, progress=data_progress
    )
    labels = np.array([sample.label for sample in samples], dtype=np.int64)
    ids = [clip_id(sample) for sample in samples]
    subjects = [sample.subject_key for sample in samples]
    simulator = _Simulator(
        settings=settings,
        inputs=inputs,
        labels=labels,
        ids=ids,
        subjects=subjects,
        device=resolve_device(device),
    )
    schedule = settings.label_schedule
    total = len(settings.seeds) * (1 + len(settings.strategies) * len(schedule))
    done = 0

    def advance(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, message)

    runs = []
    for seed in settings.seeds:
        split = _split(samples, settings=settings, seed=seed)
        heldout = set(split.heldout_subjects)
        model, normaliser = simulator.train(split.pool, seed=seed * 1000 + 999)
        whole_pool = simulator.evaluate(model, normaliser, split.test)
        advance(f"seed {seed}: whole pool")
        strategies = {}
        for strategy in settings.strategies:
            labelled, curve, selections = list(split.initial), [], []
            for round_number, _ in enumerate(schedule):
                # One training seed per (seed, round): every strategy's model starts alike.
                model, normaliser = simulator.train(labelled, seed=seed * 1000 + round_number)
                curve.append(
                    {"labels": len(labelled), **simulator.evaluate(model, normaliser, split.test)}
                )
                advance(f"seed {seed} {strategy}: {len(labelled)} labels")
                if round_number == settings.rounds:
                    break
                taken = set(labelled)
                unlabelled = [index for index in split.pool if index not in taken]
                chosen = simulator.choose(
                    strategy=strategy,
                    model=model,
                    normaliser=normaliser,
                    unlabelled=unlabelled,
                    count=settings.labels_per_round,
                    seed=seed * 1000 + round_number,
                )
                # The pool holds no held-out clip, so none can be chosen; checked all the same.
                assert not heldout & {subjects[i] for i in chosen}, "chose a held-out clip"
                selections.append(
                    {
                        "round": round_number + 1,
                        "clips": [ids[i] for i in chosen],
                        "subjects": [subjects[i] for i in chosen],
                    }
                )
                labelled += chosen
            strategies[strategy] = {"curve": curve, "selections": selections}
        runs.append(
            {
                "seed": seed,
                "heldout_subjects": split.heldout_subjects,
                "n_pool": len(split.pool),
                "n_test": len(split.test),
                "initial_clips": [ids[i] for i in split.initial],
                "whole_pool": {"labels": len(split.pool), **whole_pool},
                "strategies": strategies,
            }
        )

    result = {
        "what": "pool-based active-learning simulation (mlcore.training.simulation)",
        "data_dir": str(root),
        "source": source or {},
        "n_clips": len(samples),
        "n_subjects": len(set(subjects)),
        "settings": {**asdict(settings), "label_schedule": schedule},
        "ranking": {name: STRATEGY_RANKING[name] for name in settings.strategies},
        "device": str(simulator.device),
        "runs": runs,
        "summary": summarise(runs=runs, strategies=settings.strategies, schedule=schedule),
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULT_NAME).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    plot_learning_curves(out_dir / PLOT_NAME, result=result)
    return result


def summarise(
    *, runs: list[dict], strategies: Sequence[str], schedule: list[int]
) -> dict[str, object]:
    """Per strategy: mean +- std curves, area under the UF1 curve, labels to 95% of the whole
    pool's UF1, and both paired against random (per seed, then mean +- std)."""
    span = schedule[-1] - schedule[0]
    per_strategy: dict[str, dict[str, object]] = {}
    for strategy in strategies:
        curves = [run["strategies"][strategy]["curve"] for run in runs]
        areas = [
            float(np.trapezoid([p["uf1"] for p in curve], [p["labels"] for p in curve]) / span)
            for curve in curves
        ]
        reached = [
            _labels_to_reach(curve, TARGET_SHARE * run["whole_pool"]["uf1"])
            for curve, run in zip(curves, runs, strict=True)
        ]
        per_strategy[strategy] = {
            "labels": schedule,
            "uf1": [_mean_std([c[r]["uf1"] for c in curves]) for r in range(len(schedule))],
            "uar": [_mean_std([c[r]["uar"] for c in curves]) for r in range(len(schedule))],
            "aulc_uf1_per_seed": areas,
            "aulc_uf1": _mean_std(areas),
            "labels_to_95_per_seed": reached,
            "labels_to_95": _mean_std(reached) if None not in reached else None,
        }
    summary: dict[str, object] = {
        "target": f"{TARGET_SHARE:.0%} of the UF1 of training on the whole pool",
        "whole_pool_uf1": _mean_std([run["whole_pool"]["uf1"] for run in runs]),
        "whole_pool_uar": _mean_std([run["whole_pool"]["uar"] for run in runs]),
        "strategies": per_strategy,
    }
    if "random" in per_strategy:
        baseline = per_strategy["random"]
        for entry in per_strategy.values():
            entry["aulc_minus_random"] = _mean_std(
                [
                    a - b
                    for a, b in zip(
                        entry["aulc_uf1_per_seed"], baseline["aulc_uf1_per_seed"], strict=True
                    )
                ]
            )
            pairs = list(
                zip(entry["labels_to_95_per_seed"], baseline["labels_to_95_per_seed"], strict=True)
            )
            entry["labels_to_95_over_random"] = (
                _mean_std([a / b for a, b in pairs])
                if all(a is not None and b is not None for a, b in pairs)
                else None
            )
    if "platform" in per_strategy and "random" in per_strategy:
        summary["goal"] = _goal(per_strategy["platform"])
    return summary


def _goal(platform: dict) -> dict[str, object]:
    """Does the platform's default need at most 70% of random's labels, beyond the noise?"""
    ratio = platform["labels_to_95_over_random"]
    difference = platform["aulc_minus_random"]
    outside_spread = abs(difference["mean"]) > difference["std"]
    if ratio is None:
        verdict = "undecided: a strategy did not reach the target in every seed"
        met = False
    else:
        met = ratio["mean"] <= GOAL_LABEL_RATIO and ratio["mean"] + ratio["std"] < 1.0
        verdict = (
            f"platform needs {ratio['mean']:.2f} +- {ratio['std']:.2f} of random's labels "
            f"(goal <= {GOAL_LABEL_RATIO})"
        )
    return {
        "labels_ratio_platform_over_random": ratio,
        "goal_met": met,
        "aulc_difference_outside_spread": outside_spread,
        "verdict": verdict,
    }


def plot_learning_curves(path: Path, *, result: dict) -> Path:
    """UF1 and UAR against labelled clips: each strategy's mean over seeds with a +- std band."""
    summary = result["summary"]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for strategy, entry in summary["strategies"].items():
        labels = np.array(entry["labels"])
        for axis, metric in zip(axes, ("uf1", "uar"), strict=True):
            mean = np.array([point["mean"] for point in entry[metric]])
            std = np.array([point["std"] for point in entry[metric]])
            (line,) = axis.plot(labels, mean, marker="o", markersize=3, label=strategy)
            axis.fill_between(labels, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    for axis, metric in zip(axes, ("uf1", "uar"), strict=True):
        whole = summary[f"whole_pool_{metric}"]["mean"]
        axis.axhline(whole, color="black", linestyle="--", linewidth=0.8, label="whole pool")
        if metric == "uf1":
            axis.axhline(
                TARGET_SHARE * whole,
                color="grey",
                linestyle=":",
                linewidth=0.8,
                label=f"{TARGET_SHARE:.0%} of whole pool",
            )
        axis.set_xlabel("labelled clips")
        axis.set_ylabel(f"pooled {metric.upper()} on held-out subjects")
    settings = result["settings"]
    axes[0].legend(fontsize=7)
    figure.suptitle(
        f"{settings['model_name']}, {result['n_clips']} clips, {len(settings['seeds'])} seeds "
        "(mean +- std)",
        fontsize=9,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
