"""The export option that reproduces MEGC2019's official composite list, on a set imported from
coding sheets written in the published layouts (faces from `mlcore.synth`, preprocessed for
real): exactly the expected ground-truth rows, and every clip added or omitted with its reason."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotator.corpus import preprocessing
from annotator.exchange import exports, imports
from annotator.models import Annotation, Clip, Dataset, JobRun
from annotator.tasks import _run_job
from mlcore.composite import read_manifest
from mlcore.datasets.megc import GT_NAME
from mlcore.synth import generate, load_truth
from tests.megc_sheets import casme2_sheet_write, samm_sheet_write

pytestmark = pytest.mark.django_db

SYNTH = {"frames": 12, "size": (160, 120)}
# Per synthetic clip, in the generator's order: (emotion, apex rule, AU column).
# sub03 has only classes MEGC2019 leaves out of CASME II, so it is no LOSO fold.
CASME2_PLAN = [
    ("disgust", "coded", "4+L10"),
    ("repression", "coded", "14"),
    ("happiness", "onset", "12"),  # apex equal to onset: MEGC2019 leaves it out
    ("surprise", "/", "1+2"),  # apex missing: MEGC2019 leaves it out
    ("happiness", "coded", "R12"),
    ("surprise", "coded", "1+2"),
    ("fear", "coded", "4+?"),
    ("sadness", "coded", "1+4"),
    ("others", "coded", "?"),
]
SAMM_PLAN = [
    ("Anger", "coded", "A12B + T18"),
    ("Contempt", "coded", "(R6 or R12)"),
    ("Disgust", "coded", "L12 or L14"),
    ("Fear", "coded", "ref(7B)"),
    ("Sadness", "coded", "R15"),
    ("Happiness", "onset", "A12"),  # SAMM: MEGC2019 keeps it (its 133 need no mark rule)
    ("Surprise", "coded", "1+2"),
    ("Other", "coded", "4"),
    ("Other", "coded", "6"),
]
LABELS = {"negative": 0, "positive": 1, "surprise": 2}
CASME2_CLASS = {"disgust": 0, "repression": 0, "happiness": 1, "surprise": 2}
SAMM_CLASS = {"anger": 0, "contempt": 0, "disgust": 0, "fear": 0, "sadness": 0}
SAMM_CLASS |= {"happiness": 1, "surprise": 2}


def _sheet_rows(folder: Path, plan: list[tuple[str, str, str]]) -> list[tuple]:
    rows = []
    for clip, (emotion, apex_rule, aus) in zip(load_truth(folder)["clips"], plan, strict=True):
        frames = clip["frame_indices"]
        onset, offset = frames[1], frames[-2]
        apex = {"coded": frames[5], "onset": onset, "/": "/"}[apex_rule]
        subject = clip["subject"].removeprefix("sub")
        rows.append((subject, clip["clip"], onset, apex, offset, aus, emotion))
    return rows


@pytest.fixture(scope="module")
def megc_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("megc")
    generate(out_dir=root / "casme2", layout="casme2", subjects=3, clips_per_subject=3, **SYNTH)
    generate(out_dir=root / "samm", layout="samm", subjects=3, clips_per_subject=3, **SYNTH)
    generate(out_dir=root / "smic", layout="smic", subjects=2, clips_per_subject=2, **SYNTH)
    casme2 = _sheet_rows(root / "casme2", CASME2_PLAN)
    samm = _sheet_rows(root / "samm", SAMM_PLAN)
    return {
        "root": root,
        "casme2": casme2,
        "samm": samm,
        "smic": [
            (c["subject"], c["clip"], c["emotion"]) for c in load_truth(root / "smic")["clips"]
        ],
        "sheets": {
            "casme2": casme2_sheet_write(path=root / "CASME2-coding-20140508.xlsx", rows=casme2),
            "samm": samm_sheet_write(path=root / "SAMM_Micro_FACS_Codes_v2.xlsx", rows=samm),
        },
    }


def _import_all(megc_sets, user) -> list[dict]:
    root, sheets = megc_sets["root"], megc_sets["sheets"]
    sources = {
        "casme2": (sheets["casme2"], root / "casme2/CASME2_RAW"),
        "samm": (sheets["samm"], root / "samm/SAMM"),
        "smic": (None, root / "smic/SMIC/HS"),
    }
    return [
        imports.dataset_import_run(
            import_format=layout, annotations=sheet, frames=frames, user=user
        )
        for layout, (sheet, frames) in sources.items()
    ]


@pytest.fixture
def imported(megc_sets, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        _import_all(megc_sets, admin_user)
    for job_run in JobRun.objects.filter(kind=JobRun.Kind.PREPROCESS).order_by("pk"):
        _run_job(job_run.pk, preprocessing.clip_preprocess_job)
    assert set(Clip.objects.values_list("ingest_status", flat=True)) == {"ready"}
    return megc_sets


def _natural(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _official_ground_truth(megc_sets) -> bytes:
    """Written from the plans above, independently of the exporter."""
    lines = []
    for (subject, clip, _on, _apex, _off, _aus, emotion), (_, rule, _) in zip(
        megc_sets["casme2"], CASME2_PLAN, strict=True
    ):
        if emotion in CASME2_CLASS and rule == "coded":
            lines.append(("casme2", f"sub{subject}", clip, CASME2_CLASS[emotion]))
    for subject, clip, _on, _apex, _off, _aus, emotion in megc_sets["samm"]:
        if emotion.lower() in SAMM_CLASS:
            lines.append(("samm", str(int(subject)), clip, SAMM_CLASS[emotion.lower()]))
    for subject, clip, emotion in megc_sets["smic"]:
        padded = f"s{int(subject[1:]):02d}"
        lines.append(("smic", padded, padded + clip[len(subject) :], LABELS[emotion]))
    lines.sort(key=lambda line: (line[0], _natural(line[1]), _natural(line[2])))
    return b"".join(f"{d},{s},{c},{label}\r\n".encode() for d, s, c, label in lines)


def _clip_of(rows, index: int) -> str:
    return rows[index][1]


def test_official_list_has_exactly_the_expected_rows_and_says_why(imported, tmp_path) -> None:
    summary = exports.composite_export_run(out_dir=tmp_path / "official", megc2019=True)
    gt = (tmp_path / "official" / GT_NAME).read_bytes()
    assert gt == _official_ground_truth(imported)
    assert len(gt.splitlines()) == 4 + 7 + 4 == summary["clips"]
    casme2 = imported["casme2"]
    assert summary["megc2019"]["omitted"] == [
        {
            "dataset": "CASME II",
            "subject": "01",
            "clip": _clip_of(casme2, 2),
            "reason": "apex equal to onset",
        },
        {
            "dataset": "CASME II",
            "subject": "02",
            "clip": _clip_of(casme2, 3),
            "reason": "apex missing",
        },
    ]
    assert summary["megc2019"]["added"] == [] and summary["megc2019"]["relabelled"] == []
    # Fear, sadness and others keep sub03 out: no fold for it.
    assert "casme2/sub03" not in {s.subject_key for s in read_manifest(tmp_path / "official")}
    published = summary["megc2019"]["published"]
    assert published["casme2"]["exported"] == {
        "clips": 4,
        "subjects": 2,
        "negative": 2,
        "positive": 1,
        "surprise": 1,
    }
    assert published["casme2"]["published"]["clips"] == 145
    assert not published["samm"]["matches"]  # a fixture is not the real dataset
    assert summary["composite_rule"] == "megc2019 official list"
    assert {key: rule["rule"] for key, rule in summary["mappings"].items()} == {
        "casme2": "megc2019",
        "samm": "megc2019",
        "smic": "megc2019",
    }

    # The default export (the mappings) already follows megc2019 by class, so it differs only
    # by the two CASME II clips the official list omits for their marks.
    default = exports.composite_export_run(out_dir=tmp_path / "default")
    assert default["clips"] == summary["clips"] + 2
    assert default["composite_rule"] == "dataset mappings"


def test_sheet_au_codes_survive_import_and_export_unchanged(
    imported, tmp_path, admin_user, django_capture_on_commit_callbacks
) -> None:
    exports.composite_export_run(out_dir=tmp_path / "out", megc2019=True)
    written = {s.clip: s.aus for s in read_manifest(tmp_path / "out")}
    samm = {row[1]: row[5] for row in imported["samm"]}
    # "A12B + T18" is two codes; the export joins codes with "+".
    assert written[next(c for c, aus in samm.items() if aus == "A12B + T18")] == "A12B+T18"
    for verbatim in ("(R6 or R12)", "L12 or L14", "ref(7B)"):
        assert written[next(c for c, aus in samm.items() if aus == verbatim)] == verbatim
    fear_clip = _clip_of(imported["casme2"], 6)
    annotation = Annotation.objects.get(clip__name=fear_clip)
    assert [str(entry) for entry in annotation.au_entries] == ["4", "?"]
    assert [str(code) for code in annotation.au_codes] == ["4"]  # agreement counts codes only
    # Importing the same sheets again finds nothing changed: the verbatim entries round-trip.
    with django_capture_on_commit_callbacks(execute=False):
        reports = _import_all(imported, admin_user)
    assert [r["counts"]["updated"] for r in reports] == [0, 0, 0]
    flagged = [i for i in reports[1]["issues"] if i["code"] == "unknown_au"]
    assert sorted(i["message"].split("'")[1] for i in flagged) == sorted(
        ["(R6 or R12)", "L12 or L14", "ref(7B)"]
    )


def test_edited_mappings_are_named_and_the_official_list_reports_the_difference(
    imported, tmp_path
) -> None:
    casme2 = Dataset.objects.get(name="CASME II")
    casme2.emotions.filter(name="fear").update(composite_class="negative")
    casme2.emotions.filter(name="happiness").update(composite_class="excluded")

    edited = exports.composite_export_run(out_dir=tmp_path / "edited")
    assert edited["mappings"]["casme2"] == {
        "rule": "megc2019 (edited)",
        "edits": {
            "fear": {"megc2019": "excluded", "used": "negative"},
            "happiness": {"megc2019": "positive", "used": "excluded"},
        },
    }
    fear_clip, happy_clip = _clip_of(imported["casme2"], 6), _clip_of(imported["casme2"], 4)
    exported = {s.clip for s in read_manifest(tmp_path / "edited")}
    assert fear_clip in exported and happy_clip not in exported

    official = exports.composite_export_run(out_dir=tmp_path / "official", megc2019=True)
    assert (tmp_path / "official" / GT_NAME).read_bytes() == _official_ground_truth(imported)
    report = official["megc2019"]
    assert [(i["clip"], i["reason"]) for i in report["added"]] == [
        (happy_clip, "megc2019 counts 'happiness' as positive; this dataset's mapping excludes it")
    ]
    assert {(i["clip"], i["reason"]) for i in report["omitted"]} == {
        (fear_clip, "excluded class: megc2019 leaves 'fear' out of casme2"),
        (_clip_of(imported["casme2"], 3), "apex missing"),
    }


def test_export_page_offers_the_official_list_and_shows_its_report(
    client, imported, admin_user, django_capture_on_commit_callbacks
) -> None:
    client.force_login(admin_user)
    assert (
        b"MEGC2019&#x27;s official composite list"
        in client.get(reverse("composite-export")).content
    )
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("composite-export"), {"min_status": "adjudicated", "megc2019": "on"})
    job_run = JobRun.objects.get(kind=JobRun.Kind.EXPORT)
    _run_job(job_run.pk, exports.composite_export_job)
    job_run.refresh_from_db()
    assert job_run.status == JobRun.Status.SUCCEEDED, job_run.error
    page = client.get(reverse("composite-export-detail", args=[job_run.pk])).content.decode()
    report = re.search(r'id="megc2019-report".*?</section>', page, re.S).group(0)
    assert f"CASME II/01/{_clip_of(imported['casme2'], 2)}: apex equal to onset" in report
    assert f"CASME II/02/{_clip_of(imported['casme2'], 3)}: apex missing" in report
    assert "differs: 145 clips / 24 subjects (88, 32, 25)" in report
    assert "Labels: megc2019 official list" in page


def test_export_command_prints_the_official_lists_report(imported, tmp_path, capsys) -> None:
    call_command("export_composite", "--out", str(tmp_path / "out"), "--megc2019", verbosity=0)
    out = capsys.readouterr().out
    assert out.startswith("15 clips, 7 subjects")  # casme2 2, samm 3, smic 2
    omitted = f"megc2019 omitted CASME II/02/{_clip_of(imported['casme2'], 3)}: apex missing"
    assert omitted in out
    assert "casme2: {'clips': 4, 'subjects': 2" in out and "differs from MEGC2019's" in out
