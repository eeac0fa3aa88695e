"""Emotion vocabularies and the MEGC2019 composite classes."""

from enum import IntEnum


class CompositeClass(IntEnum):
    """Label numbers as written in MEGC2019's ``combined_3class_gt.csv``."""

    NEGATIVE = 0
    POSITIVE = 1
    SURPRISE = 2


EXCLUDED = "excluded"
COMPOSITE_CHOICES = ("negative", "positive", "surprise", EXCLUDED)

# MEGC2019: negative = repression, anger, contempt, disgust, fear, sadness; positive =
# happiness; surprise = surprise; everything else (others, tense, ...) is left out.
MEGC2019_MAPPING: dict[str, str] = {
    "anger": "negative",
    "contempt": "negative",
    "disgust": "negative",
    "fear": "negative",
    "repression": "negative",
    "sadness": "negative",
    "happiness": "positive",
    "surprise": "surprise",
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


def default_mapping(emotions: list[str]) -> dict[str, str]:
    """MEGC2019 mapping for a vocabulary; class names map to themselves, unknowns are excluded."""
    mapping = {}
    for emotion in emotions:
        key = emotion.strip().lower()
        if key in COMPOSITE_CHOICES:
            mapping[key] = key
        else:
            mapping[key] = MEGC2019_MAPPING.get(key, EXCLUDED)
    return mapping


def composite_label(composite_class: str) -> CompositeClass:
    return CompositeClass[composite_class.upper()]
