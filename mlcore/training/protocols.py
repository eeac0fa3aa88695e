"""Evaluation protocols over dataset-qualified subjects: LOSO, subject k-fold, hold-out.

A subject's clips are always on one side of a split: test, validation or training. Validation
subjects (for optional model selection) are drawn from the training subjects of the fold,
never from its test subjects.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from mlcore.composite import CompositeSample

PROTOCOLS = ("loso", "kfold", "holdout")


@dataclass(frozen=True, slots=True)
class Fold:
    index: int
    test_subjects: tuple[str, ...]
    validation_subjects: tuple[str, ...]
    train: tuple[int, ...]  # indices into the sample list
    validation: tuple[int, ...]
    test: tuple[int, ...]

    @property
    def name(self) -> str:
        subjects = self.test_subjects
        return subjects[0] if len(subjects) == 1 else f"fold {self.index + 1}"


def _subject_groups(subjects: list[str], *, protocol: str, seed: int, k: int, test_fraction: float):
    if protocol == "loso":
        return [[subject] for subject in subjects]
    shuffled = list(subjects)
    random.Random(seed).shuffle(shuffled)
    if protocol == "kfold":
        if not 2 <= k <= len(subjects):
            raise ValueError(f"kfold needs 2 <= k <= {len(subjects)} subjects, got k={k}")
        return [sorted(shuffled[start::k]) for start in range(k)]
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"holdout test_fraction must be in (0, 1), got {test_fraction}")
    count = min(max(1, round(test_fraction * len(subjects))), len(subjects) - 1)
    return [sorted(shuffled[:count])]


def make_folds(
    samples: Sequence[CompositeSample],
    *,
    protocol: str,
    seed: int,
    val_fraction: float = 0.0,
    k: int = 5,
    test_fraction: float = 0.2,
) -> list[Fold]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    subjects = sorted({sample.subject_key for sample in samples})
    if len(subjects) < 2:
        raise ValueError(f"{protocol} needs at least 2 subjects, found {len(subjects)}")
    groups = _subject_groups(
        subjects, protocol=protocol, seed=seed, k=k, test_fraction=test_fraction
    )
    folds = []
    for index, test_subjects in enumerate(groups):
        remaining = [subject for subject in subjects if subject not in test_subjects]
        validation_subjects: list[str] = []
        if val_fraction > 0:
            count = min(max(1, math.ceil(val_fraction * len(remaining))), len(remaining) - 1)
            validation_subjects = sorted(
                random.Random(seed * 1000 + index).sample(remaining, count)
            )
        role = {subject: "test" for subject in test_subjects}
        role.update({subject: "validation" for subject in validation_subjects})
        split: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
        for position, sample in enumerate(samples):
            split[role.get(sample.subject_key, "train")].append(position)
        folds.append(
            Fold(
                index=index,
                test_subjects=tuple(test_subjects),
                validation_subjects=tuple(validation_subjects),
                train=tuple(split["train"]),
                validation=tuple(split["validation"]),
                test=tuple(split["test"]),
            )
        )
    return folds
