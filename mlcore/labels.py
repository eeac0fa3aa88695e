"""Emotion vocabularies and the MEGC2019 composite classes.

MEGC2019's composite (CDE) maps each dataset's own words, not one shared list: CASME II's
negatives are disgust and repression only (its fear and sadness clips are left out), SAMM's are
anger, contempt, disgust, fear and sadness, and SMIC-HS is labelled negative / positive /
surprise by its folders. That per-dataset rule is named ``megc2019``; datasets MEGC2019 did not
use get the union of its words (`GENERIC_MAPPING`). The platform stores the mapping per dataset
and lets admins edit it; `default_mapping` is where a new vocabulary starts.
"""

from enum import IntEnum


class CompositeClass(IntEnum):
    """Label numbers as written in MEGC2019's ``combined_3class_gt.csv``."""

    NEGATIVE = 0
    POSITIVE = 1
    SURPRISE = 2


EXCLUDED = "excluded"
COMPOSITE_CHOICES = ("negative", "positive", "surprise", EXCLUDED)
MEGC2019_RULE = "megc2019"

_NEGATIVE, _POSITIVE, _SURPRISE = "negative", "positive", "surprise"
MEGC2019_MAPPINGS: dict[str, dict[str, str]] = {
    "casme2": {
        "disgust": _NEGATIVE,
        "repression": _NEGATIVE,
        "happiness": _POSITIVE,
        "surprise": _SURPRISE,
        "fear": EXCLUDED,
        "sadness": EXCLUDED,
        "others": EXCLUDED,
    },
    "samm": {
        "anger": _NEGATIVE,
        "contempt": _NEGATIVE,
        "disgust": _NEGATIVE,
        "fear": _NEGATIVE,
        "sadness": _NEGATIVE,
        "happiness": _POSITIVE,
        "surprise": _SURPRISE,
        "other": EXCLUDED,
    },
    "smic": {_NEGATIVE: _NEGATIVE, _POSITIVE: _POSITIVE, _SURPRISE: _SURPRISE},
}

# Other datasets: every word MEGC2019 counts in some dataset keeps its class; others, tense and
# unknown words are left out until an admin maps them.
GENERIC_MAPPING: dict[str, str] = {
    "anger": _NEGATIVE,
    "contempt": _NEGATIVE,
    "disgust": _NEGATIVE,
    "fear": _NEGATIVE,
    "repression": _NEGATIVE,
    "sadness": _NEGATIVE,
    "happiness": _POSITIVE,
    "surprise": _SURPRISE,
    "others": EXCLUDED,
    "other": EXCLUDED,
}

DATASET_EMOTIONS: dict[str, list[str]] = {
    "casme2": ["happiness", "surprise", "disgust", "repression", "fear", "sadness", "others"],
    "samm": [
        "anger",
        "contempt",
        "disgust",
        "fear",
        "happiness",
        "other",
        "sadness",
        "surprise",
    ],
    "smic": ["negative", "positive", "surprise"],
    "generic": ["negative", "positive", "surprise"],
}


def megc2019_class(emotion: str, *, source_format: str = "generic") -> str:
    """The composite class ``megc2019`` gives ``emotion`` in a dataset of ``source_format``
    (casme2, samm, smic; anything else uses `GENERIC_MAPPING`). Class names map to themselves
    and unknown words are excluded."""
    key = emotion.strip().lower()
    mapping = MEGC2019_MAPPINGS.get(source_format, GENERIC_MAPPING)
    if key in mapping:
        return mapping[key]
    return key if key in COMPOSITE_CHOICES else EXCLUDED


def default_mapping(emotions: list[str], *, source_format: str = "generic") -> dict[str, str]:
    """The ``megc2019`` mapping of a vocabulary, keyed by the lower-case words."""
    return {
        emotion.strip().lower(): megc2019_class(emotion, source_format=source_format)
        for emotion in emotions
    }


def composite_label(composite_class: str) -> CompositeClass:
    return CompositeClass[composite_class.upper()]
