"""The realistic preset of the synthetic generator: every knob has an effect that is measured
here, the labels stay the truth, and the clean preset still gives the original bytes."""

import hashlib
import io
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from mlcore.cli import main
from mlcore.composite import read_manifest
from mlcore.facs import parse_au_string
from mlcore.labels import EXCLUDED, composite_label
from mlcore.models.frl_dgt import AU_REGION_NAMES, au_region_boxes
from mlcore.synth import SynthRealism, generate, load_truth
from mlcore.synth.alignment import align_identity
from mlcore.synth.expressions import (
    EMOTION_TEMPLATES,
    ClipRenderer,
    Distractors,
    Timing,
    displacement_field,
)
from mlcore.synth.faces import make_identity
from mlcore.synth.layouts import build_plan, composite_class, preset_schedule
from mlcore.synth.realism import (
    crop_pixels_per_frame_pixel,
    draw_nuisance,
    head_homography,
    resolve_realism,
)
from tests.mlcore.test_synth import REGION_LANDMARKS

SMALL = (320, 240)
REALISTIC = SynthRealism()
# The knobs at small frames, so tests need not render SAMM's 2040x1088.
REALISTIC_SMALL = replace(REALISTIC, dataset_frame_sizes=None)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def test_clean_preset_writes_the_bytes_of_the_generator_before_the_realistic_preset(
    tmp_path: Path,
) -> None:
    """Digests computed with main's generator (commit 12b008d) before realism existed."""
    composite = generate(
        out_dir=tmp_path / "composite",
        layout="composite",
        datasets=["smic", "casme2", "samm"],
        subjects=3,
        clips_per_subject=2,
        frames=10,
        seed=3,
        size=SMALL,
        crop_size=48,
        realism="clean",
    )
    samm = generate(
        out_dir=tmp_path / "samm",
        layout="samm",
        subjects=2,
        clips_per_subject=2,
        frames=8,
        seed=3,
        size=SMALL,
    )
    assert _tree_digest(composite.out_dir) == (
        "9bf1659b47f631ebf3811cbe7410809ce836f315a47b9b18ce64b298a56728c3"
    )
    assert _tree_digest(samm.out_dir) == (
        "fad72db0386c2c205809854cbd3e251f8623358e6edeeef8de584dbb0c5e8c19"
    )


def test_unknown_realism_and_bad_knobs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown realism 'gritty'"):
        resolve_realism("gritty")
    with pytest.raises(ValueError, match=r"label_noise 1\.5 is a probability"):
        SynthRealism(label_noise=1.5)
    with pytest.raises(ValueError, match="au_motion_px"):
        SynthRealism(au_motion_px=(1.0, 0.2))
    with pytest.raises(ValueError, match="jpeg_quality_range"):
        SynthRealism(jpeg_quality_range=(70, 120))


@pytest.fixture(scope="module")
def composite_plans() -> list:
    """Five seeds of the MEGC2019-sized realistic composite, planned but not rendered."""
    plans = []
    for seed in range(5):
        schedule = preset_schedule(
            preset="composite", datasets=["casme2", "samm", "smic"], seed=seed
        )
        plans += build_plan(
            schedule=schedule,
            fps=None,
            frames=60,
            seed=seed,
            size=(640, 480),
            distractors=True,
            realism=REALISTIC,
        )
    assert len(plans) == 5 * 442
    return plans


def _within(share: float, expected: float, n: int) -> bool:
    """Binomial share within 4 standard errors of ``expected`` (false alarm ~6e-5)."""
    return abs(share - expected) <= 4 * np.sqrt(expected * (1 - expected) / n)


def test_label_noise_changes_the_written_class_at_its_rate_per_part(composite_plans) -> None:
    for part, rate in (("smic", 0.20), ("casme2", 0.10), ("samm", 0.10)):
        plans = [p for p in composite_plans if p.dataset == part]
        noisy = [p for p in plans if p.label_noise]
        assert _within(len(noisy) / len(plans), rate, len(plans)), (part, len(noisy), len(plans))
        for plan in noisy:
            assert composite_class(plan.label_emotion) not in (plan.composite_class, EXCLUDED)
        assert all(p.label_emotion == p.emotion for p in plans if not p.label_noise)


def test_generated_files_carry_the_noisy_label_and_the_truth_keeps_the_real_one(
    tmp_path: Path,
) -> None:
    knobs = replace(REALISTIC_SMALL, label_noise=0.5, smic_label_noise=0.5)
    result = generate(
        out_dir=tmp_path / "noisy",
        layout="composite",
        datasets=["casme2", "smic"],
        subjects=4,
        clips_per_subject=3,
        frames=8,
        size=SMALL,
        crop_size=48,
        realism=knobs,
    )
    truth = {(c["dataset"], c["clip"]): c for c in load_truth(result.out_dir)["clips"]}
    flipped = 0
    for sample in read_manifest(result.out_dir):
        clip = truth[(sample.dataset, sample.clip)]
        assert clip["label"] == int(composite_label(composite_class(clip["emotion"])))
        assert sample.label == clip["written"]["label"]
        flipped += clip["written"]["label_noise"]
        assert clip["written"]["label_noise"] == (sample.label != clip["label"])
    assert 0 < flipped < len(truth)
    assert load_truth(result.out_dir)["realism"]["label_noise"] == 0.5


def test_blinks_in_half_the_clips_and_a_third_of_those_over_the_apex(composite_plans) -> None:
    blinking = [p for p in composite_plans if p.distractors.blink_start is not None]
    assert _within(len(blinking) / len(composite_plans), 0.5, len(composite_plans))
    over_apex = [p for p in blinking if p.distractors.closure(p.timing.apex) > 0]
    assert _within(len(over_apex) / len(blinking), 1 / 3, len(blinking))
    for plan in blinking:
        assert plan.nuisance.blink_over_apex == (plan.distractors.closure(plan.timing.apex) > 0)


def test_trace_clips_and_small_per_subject_au_motion(composite_plans) -> None:
    trace = [p for p in composite_plans if p.nuisance.trace]
    assert _within(len(trace) / len(composite_plans), 0.15, len(composite_plans))
    assert all(code.intensity == "A" for p in trace for code in p.aus)
    for plan in composite_plans:
        base = plan.nuisance.au_peak_px / plan.subject_style.motion_scale
        if plan.nuisance.trace:
            base /= REALISTIC.trace_gain
        assert 0.2 - 1e-9 <= base <= 1.0 + 1e-9
    peaks = [p.nuisance.au_peak_px for p in composite_plans]
    assert 0.2 <= np.median(peaks) <= 1.0
    scales = {(p.dataset, p.subject): p.subject_style.motion_scale for p in composite_plans}
    logs = np.log(list(scales.values()))
    # 340 subjects: the std of log-scales is within 0.35 +- 4 standard errors (~0.35/sqrt(2n)).
    assert abs(logs.std() - 0.35) < 4 * 0.35 / np.sqrt(2 * len(logs)), logs.std()


def test_aus_are_shared_across_classes_and_subjects_keep_preferred_patterns(
    composite_plans,
) -> None:
    pools: dict[str, set[int]] = defaultdict(set)
    for emotion, templates in EMOTION_TEMPLATES.items():
        if composite_class(emotion) != EXCLUDED:
            pools[composite_class(emotion)].update(au for t in templates for au in t)
    borrowed = [p for p in composite_plans if {c.number for c in p.aus} - pools[p.composite_class]]
    assert _within(len(borrowed) / len(composite_plans), 0.3, len(composite_plans))
    for plan in composite_plans:
        preferred = plan.subject_style.preferred[plan.emotion.lower()]
        assert 1 <= len(preferred) <= 2
        numbers = {code.number for code in plan.aus}
        assert any(set(t) <= numbers and len(numbers - set(t)) <= 1 for t in preferred)


def test_subject_style_turns_and_widens_the_au_motion() -> None:
    identity = make_identity(index=0, seed=0, size=SMALL)
    region = (0, 0, *SMALL)
    aus = parse_au_string("1")
    plain = displacement_field(identity=identity, aus=aus, amplitude=2.0, region=region)
    turned = displacement_field(
        identity=identity, aus=aus, amplitude=2.0, region=region, style={1: (20.0, 1.0)}
    )
    wide = displacement_field(
        identity=identity, aus=aus, amplitude=2.0, region=region, style={1: (0.0, 1.4)}
    )
    x, y = (round(v) for v in identity.landmarks["brow_inner_left"])
    a, b = plain[y, x], turned[y, x]
    angle = np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    assert 15 < angle < 25, angle
    moving = lambda field: (np.linalg.norm(field, axis=-1) > 0.1).sum()  # noqa: E731
    assert moving(wide) > 1.5 * moving(plain)


def _renderer(*, knobs: SynthRealism, aus: str, amplitude: float, seed: int = 0) -> ClipRenderer:
    identity = make_identity(index=1, seed=0, size=SMALL)
    timing = Timing(frames=12, onset=2, apex=6, offset=10)
    nuisance = draw_nuisance(
        rng=np.random.default_rng(seed),
        realism=knobs,
        frames=12,
        fps=200,
        motion_scale=1.0,
        trace=False,
        blink_over_apex=None,
    )
    still = Distractors(
        blink_start=None,
        blink_frames=0,
        jitter=np.zeros((12, 2), np.float32),
        gain=np.ones(12, np.float32),
        noise_sigma=0.0,
    )
    return ClipRenderer(
        identity=identity,
        aus=parse_au_string(aus),
        amplitude=amplitude,
        timing=timing,
        distractors=still,
        noise_seed=np.random.SeedSequence(seed),
        nuisance=nuisance,
    )


def test_wrinkles_change_texture_where_au4_furrows_the_brow_without_any_motion() -> None:
    off = REALISTIC_SMALL.without_nuisances()
    furrowed = _renderer(knobs=replace(off, wrinkle_depth=0.08), aus="4", amplitude=0.0)
    smooth = _renderer(knobs=off, aus="4", amplitude=0.0)
    change = np.abs(
        furrowed.render(6).astype(np.float32) - furrowed.render(0).astype(np.float32)
    ).mean(axis=-1)
    assert not np.any(smooth.render(6) != smooth.render(0))
    identity = furrowed.identity
    gx, gy = identity.landmarks["glabella"]
    radius = 0.25 * identity.face_scale  # the furrows fade out within about 3 sigma
    ys, xs = np.mgrid[0 : SMALL[1], 0 : SMALL[0]]
    near = np.hypot(xs - gx, ys - gy) < radius
    assert change[near].max() >= 3 and change[~near].max() <= 1, (
        change[near].max(),
        change[~near].max(),
    )


def test_head_motion_moves_the_whole_face_by_about_a_pixel_at_112(tmp_path: Path) -> None:
    off = REALISTIC_SMALL.without_nuisances()
    knobs = replace(off, head_translation_px=1.0, head_rotation_deg=0.7, head_yaw_pitch_deg=1.0)
    renderer = _renderer(knobs=knobs, aus="4", amplitude=0.0, seed=4)
    identity = renderer.identity
    scale = crop_pixels_per_frame_pixel(identity)
    centre = np.array([*identity.geometry.center, 1.0])
    shifts = []
    for frame in range(12):
        homography = head_homography(
            identity=identity, head=renderer.nuisance.head[frame], crop_scale=scale
        )
        source = homography @ centre
        shifts.append(np.hypot(*(source[:2] / source[2] - centre[:2])) * scale)
    assert 0.2 < max(shifts) < 2.5, shifts
    moved = np.abs(renderer.render(11).astype(np.float32) - renderer.render(0)).mean(axis=-1)
    face = moved[
        int(identity.landmarks["glabella"][1]) : int(identity.landmarks["chin"][1]),
        int(identity.landmarks["jaw_right"][0]) : int(identity.landmarks["jaw_left"][0]),
    ]
    assert (face > 1).mean() > 0.2  # edges all over the face move, not one AU region


def test_light_noise_and_compression_knobs_are_in_their_ranges(composite_plans) -> None:
    flicker = [float(np.abs(p.distractors.gain - 1).max()) for p in composite_plans]
    shading = [float(np.abs(p.nuisance.shading).max()) for p in composite_plans]
    noise = [p.distractors.noise_sigma for p in composite_plans]
    quality = [p.nuisance.jpeg_quality for p in composite_plans]
    assert min(flicker) > 0.009 and max(flicker) <= 0.03 + 1e-6
    assert min(shading) > 0.019 and max(shading) <= 0.04 + 1e-6
    assert min(noise) >= 1.5 and max(noise) <= 3.0
    assert min(quality) == 70 and max(quality) == 90


def test_sensor_noise_is_visible_at_its_sigma() -> None:
    knobs = replace(REALISTIC_SMALL.without_nuisances(), noise_sigma_range=(2.5, 2.5))
    renderer = _renderer(knobs=knobs, aus="4", amplitude=0.0)
    renderer.distractors = replace(renderer.distractors, noise_sigma=2.5)
    a, b = (renderer.render(0).astype(np.float32) for _ in range(2))
    # Two independent draws: the difference has std sqrt(2) * sigma (rounding adds ~0.3).
    assert 2.4 < (a - b).std() / np.sqrt(2) < 2.8


def _jpeg_tables(quality: int) -> dict:
    """The quantisation tables OpenCV writes at ``quality``: a file's tables tell its quality."""
    image = np.zeros((16, 16, 3), np.uint8)
    _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    with Image.open(io.BytesIO(data.tobytes())) as decoded:
        return decoded.quantization


def test_native_frames_are_jpeg_at_the_clip_quality_and_at_the_real_size(tmp_path: Path) -> None:
    knobs = replace(REALISTIC, dataset_frame_sizes=(("casme2", (640, 480)),))
    result = generate(
        out_dir=tmp_path / "casme2",
        layout="casme2",
        subjects=2,
        clips_per_subject=2,
        frames=7,
        size=SMALL,
        realism=knobs,
    )
    for clip in load_truth(result.out_dir)["clips"]:
        quality = clip["nuisance"]["jpeg_quality"]
        assert 70 <= quality <= 90
        first = result.out_dir / clip["frames_dir"] / f"img{clip['frame_indices'][0]}.jpg"
        with Image.open(first) as image:
            assert image.size == (640, 480)
            assert image.quantization == _jpeg_tables(quality)
        assert clip["fps"] == 200


def test_dataset_frame_sizes_follow_the_real_sets() -> None:
    assert REALISTIC.frame_size("samm", SMALL) == (2040, 1088)
    assert REALISTIC.frame_size("casme2", SMALL) == (640, 480)
    assert REALISTIC.frame_size("smic", SMALL) == (640, 480)
    assert REALISTIC.frame_size("synth", SMALL) == SMALL
    plans = build_plan(
        schedule={"smic": [["negative"]], "samm": [["Anger"]]},
        fps=None,
        frames=20,
        seed=0,
        size=SMALL,
        distractors=True,
        realism=REALISTIC,
    )
    assert {p.dataset: p.fps for p in plans} == {"samm": 200, "smic": 100}


def test_realistic_crops_keep_brows_eyes_nose_and_mouth_corners_in_their_au_boxes() -> None:
    """Exactly at the onset the crop is aligned on, and within the head motion's reach through
    every other frame of the clip."""
    boxes = dict(zip(AU_REGION_NAMES, au_region_boxes(), strict=True))
    schedule = preset_schedule(preset="composite", datasets=["casme2", "smic"], seed=0)
    schedule = {part: subjects[:4] for part, subjects in schedule.items()}
    plans = build_plan(
        schedule=schedule,
        fps=None,
        frames=30,
        seed=0,
        size=SMALL,
        distractors=True,
        realism=REALISTIC_SMALL,
    )
    identities = {}
    for plan in plans:
        if plan.identity_index not in identities:
            identities[plan.identity_index] = make_identity(
                index=plan.identity_index, seed=0, size=SMALL
            )
        identity = identities[plan.identity_index]
        alignment = align_identity(
            identity=identity,
            crop_size=112,
            landmark_error=plan.landmark_error,
            landmark_noise=0.02,
        )
        scale = crop_pixels_per_frame_pixel(identity)
        for frame in range(plan.timing.frames):
            backward = head_homography(
                identity=identity, head=plan.nuisance.head[frame], crop_scale=scale
            )
            forward = np.linalg.inv(backward)
            for region, names in REGION_LANDMARKS.items():
                x1, y1, x2, y2 = (112 * v for v in boxes[region])
                for name in names:
                    moved = forward @ np.array([*identity.landmarks[name], 1.0])
                    x, y = alignment.to_crop(tuple(moved[:2] / moved[2]))
                    # Up to 1 px translation, ~0.9 px from the yaw/pitch about the neck, and
                    # roll 0.7 deg / scale 0.8 % ~0.6 px 50 px from the centre.
                    slack = 0.0 if frame == plan.timing.onset else 2.5
                    assert x1 - slack <= x <= x2 + slack and y1 - slack <= y <= y2 + slack, (
                        plan.clip,
                        frame,
                        region,
                        name,
                    )


def test_cli_realistic_preset_and_realism_flag(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    code = main(
        [
            "synth",
            "--out",
            str(out),
            "--layout",
            "composite",
            "--datasets",
            "casme2",
            "--subjects",
            "2",
            "--clips-per-subject",
            "1",
            "--frames",
            "8",
            "--size",
            "320",
            "240",
            "--crop-size",
            "32",
            "--realism",
            "realistic",
        ]
    )
    assert code == 0
    truth = load_truth(out)
    assert truth["realism"]["label_noise"] == 0.1
    assert all("nuisance" in clip for clip in truth["clips"])
    assert main(["synth", "--out", str(tmp_path / "x"), "--layout", "composite", "--preset",
                 "realistic", "--realism", "clean"]) == 2  # fmt: skip


def test_realistic_output_is_seeded_and_the_same_with_parallel_workers(tmp_path: Path) -> None:
    settings = dict(
        layout="composite",
        datasets=["casme2", "smic"],
        subjects=4,
        clips_per_subject=1,
        frames=8,
        size=SMALL,
        crop_size=32,
        realism=REALISTIC_SMALL,
    )
    one = generate(out_dir=tmp_path / "one", workers=1, **settings)
    two = generate(out_dir=tmp_path / "two", workers=2, **settings)
    other = generate(out_dir=tmp_path / "seed1", workers=1, seed=1, **settings)
    assert _tree_digest(one.out_dir) == _tree_digest(two.out_dir)
    assert _tree_digest(one.out_dir) != _tree_digest(other.out_dir)
