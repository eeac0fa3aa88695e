"""What gets generated and where it goes: clip plans and the native layouts of each dataset.

Native layouts (see docs/design datasets.md):

- ``casme2``: ``CASME2_RAW/sub01/EP02_01f/img46.jpg`` + ``CASME2-coding-20140508.xlsx``
- ``samm``: ``SAMM/006/006_1_2/006_05562.jpg`` (frame padding varies per clip) +
  ``SAMM_Micro_FACS_Codes_v2.xlsx`` (sheet ``MICRO_ONLY``, 13 preamble rows, header on row 14)
- ``smic``: ``SMIC/HS/s1/micro/negative/s1_ne_01/reg_image000123.bmp`` (label = folder, no apex)
- ``composite``: :mod:`mlcore.composite` (grey aligned crops onset..offset, manifest, folds)

The two coding sheets are written by :mod:`mlcore.synth.sheets`.
"""

from dataclasses import dataclass

import numpy as np

from mlcore.facs import AUCode
from mlcore.labels import EXCLUDED, default_mapping
from mlcore.synth.expressions import (
    EMOTION_TEMPLATES,
    SUPPORTED_AUS,
    Distractors,
    Timing,
    draw_aus,
    draw_distractors,
    draw_timing,
)
from mlcore.synth.faces import REFERENCE_SIZE
from mlcore.synth.realism import (
    ClipNuisance,
    SubjectStyle,
    SynthRealism,
    draw_nuisance,
    draw_subject_style,
)

LAYOUTS = ("casme2", "samm", "smic", "composite")
# "synth" is a plain composite dataset with the generic negative/positive/surprise vocabulary.
COMPOSITE_DATASETS = ("casme2", "samm", "smic", "synth")
DATASET_FPS = {"casme2": 200, "samm": 200, "smic": 100, "synth": 200}

# SAMM's objective classes (Davison et al. 2018): I happiness .. VI fear, VII contempt/other.
SAMM_OBJECTIVE_CLASS = {
    "Happiness": 1,
    "Surprise": 2,
    "Anger": 3,
    "Disgust": 4,
    "Sadness": 5,
    "Fear": 6,
    "Contempt": 7,
    "Other": 7,
}
SMIC_ABBREVIATIONS = {"negative": "ne", "positive": "po", "surprise": "sur"}
# SAMM subject numbers start at 006 in the real dataset.
SAMM_FIRST_SUBJECT = 6

# Emotions cycle through a deck per dataset: the first cards cover the three composite classes,
# so small runs see every class, and the proportions follow each dataset (negatives most often;
# CASME II negatives are disgust and repression, as in the MEGC2019 composite).
EMOTION_DECKS: dict[str, tuple[str, ...]] = {
    "casme2": (
        "disgust",
        "happiness",
        "surprise",
        "repression",
        "disgust",
        "others",
        "repression",
        "happiness",
    ),
    "samm": (
        "Anger",
        "Happiness",
        "Surprise",
        "Contempt",
        "Disgust",
        "Other",
        "Anger",
        "Fear",
        "Sadness",
        "Happiness",
    ),
    "smic": ("negative", "positive", "surprise", "negative"),
    "synth": ("negative", "positive", "surprise", "negative"),
}

# MEGC2019 composite (CDE) per dataset: subjects and clips per emotion.
COMPOSITE_PRESET: dict[str, tuple[int, dict[str, int]]] = {
    "casme2": (24, {"disgust": 63, "repression": 25, "happiness": 32, "surprise": 25}),
    "samm": (
        28,
        {
            "Anger": 57,
            "Contempt": 12,
            "Disgust": 9,
            "Fear": 8,
            "Sadness": 6,
            "Happiness": 26,
            "Surprise": 15,
        },
    ),
    "smic": (16, {"negative": 70, "positive": 51, "surprise": 43}),
}
PRESETS = ("composite",)


def composite_class(emotion: str) -> str:
    """negative / positive / surprise, or ``excluded`` (MEGC2019 mapping)."""
    return default_mapping([emotion])[emotion.strip().lower()]


@dataclass(frozen=True)
class ClipPlan:
    """Everything needed to render and file one clip, decided before any pixel is drawn."""

    dataset: str
    subject_number: int
    identity_index: int
    clip: str
    emotion: str
    aus: tuple[AUCode, ...]
    aus_text: str  # as the dataset's sheet writes it
    fps: int
    first_frame: int
    frame_digits: int  # zero padding of the frame number in file names
    timing: Timing
    distractors: Distractors
    noise_seed: np.random.SeedSequence
    # (5, 2) standard normal: this clip's landmark detector error, scaled at alignment.
    landmark_error: np.ndarray
    # The realistic preset only (None in the clean one): the emotion the dataset's files say
    # (``emotion`` stays the truth; they differ where label noise struck), the subject's way
    # of moving and the clip's nuisances.
    written_emotion: str | None = None
    subject_style: SubjectStyle | None = None
    nuisance: ClipNuisance | None = None

    @property
    def composite_class(self) -> str:
        return composite_class(self.emotion)

    @property
    def label_emotion(self) -> str:
        """The emotion as written in the dataset's files (sheet, folder, manifest)."""
        return self.written_emotion or self.emotion

    @property
    def label_noise(self) -> bool:
        return self.label_emotion != self.emotion

    @property
    def frame_numbers(self) -> range:
        return range(self.first_frame, self.first_frame + self.timing.frames)

    def frame_number(self, position: int) -> int:
        return self.first_frame + position

    @property
    def onset(self) -> int:
        return self.frame_number(self.timing.onset)

    @property
    def apex(self) -> int:
        return self.frame_number(self.timing.apex)

    @property
    def offset(self) -> int:
        return self.frame_number(self.timing.offset)

    @property
    def subject(self) -> str:
        """The subject folder name (``sub01``, ``006``, ``s1``, ``s01``)."""
        return {
            "casme2": f"sub{self.subject_number:02d}",
            "samm": f"{self.subject_number:03d}",
            "smic": f"s{self.subject_number}",
            "synth": f"s{self.subject_number:02d}",
        }[self.dataset]

    def annotated(self) -> tuple[int, int | None, int]:
        """(onset, apex, offset) as the dataset annotates them: SMIC-HS clips are cut from
        onset to offset and carry no apex."""
        if self.dataset == "smic":
            return self.first_frame, None, self.frame_number(self.timing.frames - 1)
        return self.onset, self.apex, self.offset

    def native_frame_dir(self) -> str:
        return {
            "casme2": f"CASME2_RAW/{self.subject}/{self.clip}",
            "samm": f"SAMM/{self.subject}/{self.clip}",
            "smic": f"SMIC/HS/{self.subject}/micro/{self.label_emotion}/{self.clip}",
        }[self.dataset]

    def native_frame_name(self, number: int) -> str:
        return {
            "casme2": f"img{number}.jpg",
            "samm": f"{self.subject}_{number:0{self.frame_digits}d}.jpg",
            "smic": f"reg_image{number:06d}.bmp",
        }[self.dataset]


def _clip_name(
    *, dataset: str, subject_number: int, emotion: str, taken: set[str], rng: np.random.Generator
) -> str:
    if dataset == "smic":
        abbreviation = SMIC_ABBREVIATIONS[emotion]
        count = 1 + sum(name.split("_")[1] == abbreviation for name in taken)
        return f"s{subject_number}_{abbreviation}_{count:02d}"
    if dataset == "synth":
        return f"s{subject_number:02d}_{len(taken) + 1:02d}"
    for attempt in range(10_000):
        spread = 10 + attempt // 10  # widen the take range if a subject has many clips
        if dataset == "casme2":
            episode, take = int(rng.integers(1, 20)), int(rng.integers(1, spread))
            key = f"EP{episode:02d}_{take:02d}"
            name = key + ("f" if rng.uniform() < 0.4 else "")
        else:
            key = name = (
                f"{subject_number:03d}_{int(rng.integers(1, 8))}_{int(rng.integers(1, spread))}"
            )
        if not any(
            existing.startswith(key) and len(existing) <= len(key) + 1 for existing in taken
        ):
            return name
    raise RuntimeError(f"could not find a free clip name for {dataset} subject {subject_number}")


def _aus_text(dataset: str, aus: list[AUCode], rng: np.random.Generator) -> str:
    if dataset == "casme2":  # CASME II codes laterality but not intensity: 4+L10, R12
        return "+".join(f"{code.laterality}{code.number}" for code in aus)
    if dataset == "samm":  # SAMM: R12 + R15, R14A (intensity on some clips)
        with_intensity = rng.uniform() < 0.5
        return " + ".join(
            str(code) if with_intensity else f"{code.laterality}{code.number}" for code in aus
        )
    if dataset == "smic":  # SMIC-HS has no AU coding
        return ""
    return "+".join(str(code) for code in aus)


_DATASET_TAG = {name: number for number, name in enumerate(COMPOSITE_DATASETS)}


def _subject_numbers(dataset: str, count: int) -> list[int]:
    first = SAMM_FIRST_SUBJECT if dataset == "samm" else 1
    return list(range(first, first + count))


def regular_schedule(
    *, datasets: list[str], subjects: int, clips_per_subject: int, composite_only: bool
) -> dict[str, list[list[str]]]:
    """Emotions per dataset, per subject: ``subjects`` split among datasets, decks cycled.
    ``composite_only`` leaves out emotions the composite excludes (others)."""
    if subjects < len(datasets):
        raise ValueError(f"--subjects {subjects} is fewer than the {len(datasets)} datasets")
    schedule = {}
    for position, dataset in enumerate(datasets):
        count = subjects // len(datasets) + (position < subjects % len(datasets))
        deck = [
            emotion
            for emotion in EMOTION_DECKS[dataset]
            if not (composite_only and composite_class(emotion) == EXCLUDED)
        ]
        schedule[dataset] = [
            [deck[(s * clips_per_subject + c) % len(deck)] for c in range(clips_per_subject)]
            for s in range(count)
        ]
    return schedule


def preset_schedule(*, preset: str, datasets: list[str], seed: int) -> dict[str, list[list[str]]]:
    """The MEGC2019 composite: per-dataset subjects and class counts, clips spread unevenly over
    subjects (as in the real datasets) but every subject has at least one clip."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {PRESETS}")
    schedule = {}
    for dataset in datasets:
        if dataset not in COMPOSITE_PRESET:
            raise ValueError(f"preset {preset!r} has no part for dataset {dataset!r}")
        subject_count, counts = COMPOSITE_PRESET[dataset]
        rng = np.random.default_rng([seed, 0x5C4ED, _DATASET_TAG[dataset]])
        emotions = [emotion for emotion, count in counts.items() for _ in range(count)]
        rng.shuffle(emotions)
        shares = rng.dirichlet(np.full(subject_count, 2.0))
        per_subject = 1 + rng.multinomial(len(emotions) - subject_count, shares)
        bounds = np.concatenate([[0], np.cumsum(per_subject)])
        schedule[dataset] = [emotions[bounds[s] : bounds[s + 1]] for s in range(subject_count)]
    return schedule


def _class_aus() -> dict[str, set[int]]:
    """The AUs each composite class's templates use: what another class may borrow."""
    pools: dict[str, set[int]] = {}
    for emotion, templates in EMOTION_TEMPLATES.items():
        cls = composite_class(emotion)
        if cls != EXCLUDED:
            pools.setdefault(cls, set()).update(au for t in templates for au in t)
    return pools


def _realistic_distractors(
    *, rng: np.random.Generator, realism: SynthRealism, timing: Timing, fps: int
) -> tuple[Distractors, bool | None]:
    """Blinks (a share over the apex), flicker and sensor noise of a realistic clip; head
    motion is the nuisance's. Returns the distractors and whether the blink covers the apex."""
    frames = timing.frames
    blink_frames = max(3, round(fps * rng.uniform(0.1, 0.3)))
    blink_start, over_apex = None, None
    if rng.uniform() < realism.blink_probability:
        # The lids move strictly between start and start + blink_frames.
        covering = np.arange(timing.apex - blink_frames + 1, timing.apex)
        others = np.setdiff1d(np.arange(-(blink_frames // 2), frames), covering)
        want_apex = rng.uniform() < realism.blink_apex_overlap or len(others) == 0
        blink_start = int(rng.choice(covering if want_apex else others))
        over_apex = want_apex
    t = np.arange(frames) / fps
    flicker = rng.uniform(*realism.flicker_range) * np.sin(
        2 * np.pi * rng.uniform(2, 12) * t + rng.uniform(0, 2 * np.pi)
    )
    distractors = Distractors(
        blink_start=blink_start,
        blink_frames=blink_frames,
        jitter=np.zeros((frames, 2), np.float32),
        gain=(1 + flicker).astype(np.float32),
        noise_sigma=float(rng.uniform(*realism.noise_sigma_range)),
    )
    return distractors, over_apex


def _written_emotion(
    *, rng: np.random.Generator, realism: SynthRealism, dataset: str, emotion: str
) -> str:
    """The emotion the dataset's files give: another class's emotion with the noise rate."""
    truth = composite_class(emotion)
    if truth == EXCLUDED or rng.uniform() >= realism.label_noise_for(dataset):
        return emotion
    wrong = [c for c in ("negative", "positive", "surprise") if c != truth]
    target = wrong[int(rng.integers(len(wrong)))]
    deck = sorted({e for e in EMOTION_DECKS[dataset] if composite_class(e) == target})
    return deck[int(rng.integers(len(deck)))]


def build_plan(
    *,
    schedule: dict[str, list[list[str]]],
    fps: int | None,
    frames: int,
    seed: int,
    size: tuple[int, int],
    distractors: bool,
    realism: SynthRealism | None = None,
) -> list[ClipPlan]:
    """Clip plans for a schedule; identities are numbered across datasets in a fixed order.

    With ``realism`` the realistic draws (style, label noise, nuisances) come from generators
    of their own, and without it none of them runs: the clean preset draws exactly what it
    always drew."""
    plans = []
    identity_index = 0
    class_aus = _class_aus()
    for dataset in COMPOSITE_DATASETS:
        frame_size = realism.frame_size(dataset, size) if realism else size
        frame_scale = min(frame_size[0] / REFERENCE_SIZE[0], frame_size[1] / REFERENCE_SIZE[1])
        for subject_number, emotions in zip(
            _subject_numbers(dataset, len(schedule.get(dataset, []))),
            schedule.get(dataset, []),
            strict=True,
        ):
            taken: set[str] = set()
            style = None
            if realism is not None:
                style = draw_subject_style(
                    rng=np.random.default_rng(
                        [seed, 0x5771E, _DATASET_TAG[dataset], subject_number]
                    ),
                    realism=realism,
                    templates={e.lower(): EMOTION_TEMPLATES[e.lower()] for e in set(emotions)},
                    aus=SUPPORTED_AUS,
                )
            for clip_index, emotion in enumerate(emotions):
                key = [seed, _DATASET_TAG[dataset], subject_number, clip_index]
                rng = np.random.default_rng(key)
                real_rng = np.random.default_rng([seed, 0x2EA1, *key[1:]])
                clip_fps = fps or DATASET_FPS[dataset]
                written = emotion
                if realism is not None:
                    written = _written_emotion(
                        rng=real_rng, realism=realism, dataset=dataset, emotion=emotion
                    )
                clip = _clip_name(
                    dataset=dataset,
                    subject_number=subject_number,
                    emotion=written,
                    taken=taken,
                    rng=rng,
                )
                taken.add(clip)
                trace, extra_au, templates = False, None, None
                if realism is not None:
                    trace = bool(real_rng.uniform() < realism.trace_fraction)
                    if real_rng.uniform() < realism.shared_au_probability:
                        own = composite_class(emotion)
                        pool = sorted(
                            set().union(*(a for c, a in class_aus.items() if c != own))
                            - class_aus.get(own, set())
                        ) or sorted(set().union(*class_aus.values()))
                        extra_au = int(pool[int(real_rng.integers(len(pool)))])
                    templates = style.preferred[emotion.lower()]
                aus = draw_aus(rng=rng, emotion=emotion, templates=templates, extra_au=extra_au)
                if trace:
                    aus = [
                        AUCode(number=code.number, laterality=code.laterality, intensity="A")
                        for code in aus
                    ]
                first_frame, digits = {
                    "casme2": (int(rng.integers(2, 250)), 1),
                    "samm": (int(rng.integers(1000, 9000)), int(rng.choice([4, 5]))),
                    "smic": (int(rng.integers(1, 3000)), 6),
                    "synth": (1, 6),
                }[dataset]
                aus_text = _aus_text(dataset, aus, rng)
                timing = draw_timing(rng=rng, frames=frames, fps=clip_fps)
                clip_distractors = draw_distractors(
                    rng=rng,
                    frames=frames,
                    fps=clip_fps,
                    frame_scale=frame_scale,
                    enabled=distractors,
                )
                nuisance = None
                if realism is not None:
                    clip_distractors, over_apex = _realistic_distractors(
                        rng=real_rng, realism=realism, timing=timing, fps=clip_fps
                    )
                    nuisance = draw_nuisance(
                        rng=real_rng,
                        realism=realism,
                        frames=frames,
                        fps=clip_fps,
                        motion_scale=style.motion_scale,
                        trace=trace,
                        blink_over_apex=over_apex,
                        aligned_frame=timing.onset,
                    )
                plans.append(
                    ClipPlan(
                        dataset=dataset,
                        subject_number=subject_number,
                        identity_index=identity_index,
                        clip=clip,
                        emotion=emotion,
                        aus=tuple(aus),
                        aus_text=aus_text,
                        fps=clip_fps,
                        first_frame=first_frame,
                        frame_digits=digits,
                        timing=timing,
                        distractors=clip_distractors,
                        noise_seed=np.random.SeedSequence([seed, 0x7015E, *key[1:]]),
                        landmark_error=rng.standard_normal((5, 2)),
                        written_emotion=written if realism is not None else None,
                        subject_style=style,
                        nuisance=nuisance,
                    )
                )
            identity_index += 1
    return plans


# Fixed document dates: xlsx files embed save times, and reruns must give identical bytes.
